#include "linalg/dense.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "linalg/blas.hpp"
#include "linalg/blas_symbols.hpp"
#include "linalg/lapack.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::linalg {
namespace {

template <class T>
struct Lapack;

#define MLPRIMS_LAPACK_TYPE(T, p)                          \
  template <>                                              \
  struct Lapack<T> {                                       \
    static constexpr auto gesdd = &MLPRIMS_BLAS(p##gesdd); \
    static constexpr auto getrf = &MLPRIMS_BLAS(p##getrf); \
    static constexpr auto geqrf = &MLPRIMS_BLAS(p##geqrf); \
    static constexpr auto orgqr = &MLPRIMS_BLAS(p##orgqr); \
    static constexpr auto trsm = &MLPRIMS_BLAS(p##trsm);   \
  };
MLPRIMS_LAPACK_TYPE(float, s)
MLPRIMS_LAPACK_TYPE(double, d)
#undef MLPRIMS_LAPACK_TYPE

void check_arguments(int info, const char* routine) {
  if (info < 0) throw Error(std::string(routine) + ": invalid argument " + std::to_string(-info) + " (internal error)");
}

// LAPACK's workspace query returns the size as a floating-point number.
template <class T>
int workspace_size(T query) {
  return std::max(1, static_cast<int>(query) + 1);
}

}  // namespace

template <class T>
bool svd_thin(std::int64_t m, std::int64_t n, T* a, T* s, T* u, T* vt) {
  // The array is the column-major n x m matrix a^T = Vt^T diag(s) U^T: LAPACK's left factor
  // (n x p) is our Vt read row-major, its right factor (p x m) our U.
  const char jobz = 'S';
  const int rows = blas_int(n, "n"), cols = blas_int(m, "m"), p = std::min(rows, cols);
  if (p == 0) return true;
  std::vector<int> iwork(static_cast<std::size_t>(8) * p);
  int info = 0, query_size = -1;
  T query = 0;
  apply_blas_threads();
  Lapack<T>::gesdd(&jobz, &rows, &cols, a, &rows, s, vt, &rows, u, &p, &query, &query_size, iwork.data(), &info);
  check_arguments(info, "gesdd");
  const int lwork = workspace_size(query);
  std::vector<T> work(static_cast<std::size_t>(lwork));
  Lapack<T>::gesdd(&jobz, &rows, &cols, a, &rows, s, vt, &rows, u, &p, work.data(), &lwork, iwork.data(), &info);
  check_arguments(info, "gesdd");
  return info == 0;
}

namespace {

// The row-major m x l matrix y as a column-major copy, the layout LAPACK factors in place.
template <class T>
std::vector<T> column_major_copy(std::int64_t m, std::int64_t l, const T* y) {
  std::vector<T> a(static_cast<std::size_t>(m * l));
  transpose(m, l, y, a.data());
  return a;
}

// Q of a Householder QR: orthonormal columns even for a rank-deficient y (completed).
template <class T>
void householder_orthonormalize(std::int64_t m, std::int64_t l, T* y) {
  // Householder QR of the column-major copy (blocked geqrf/orgqr on a tall-skinny matrix; an LQ of
  // the short-wide column-major view of y ran 3x slower, in level-2 kernels).
  const int rows = blas_int(m, "m"), cols = blas_int(l, "l");
  if (rows == 0 || cols == 0) return;
  std::vector<T> a = column_major_copy(m, l, y);
  std::vector<T> tau(static_cast<std::size_t>(cols));
  int info = 0, query_size = -1;
  T query = 0;
  apply_blas_threads();
  Lapack<T>::geqrf(&rows, &cols, a.data(), &rows, tau.data(), &query, &query_size, &info);
  check_arguments(info, "geqrf");
  int lwork = workspace_size(query);
  std::vector<T> work(static_cast<std::size_t>(lwork));
  Lapack<T>::geqrf(&rows, &cols, a.data(), &rows, tau.data(), work.data(), &lwork, &info);
  check_arguments(info, "geqrf");
  Lapack<T>::orgqr(&rows, &cols, &cols, a.data(), &rows, tau.data(), &query, &query_size, &info);
  check_arguments(info, "orgqr");
  lwork = workspace_size(query);
  work.resize(static_cast<std::size_t>(lwork));
  Lapack<T>::orgqr(&rows, &cols, &cols, a.data(), &rows, tau.data(), work.data(), &lwork, &info);
  check_arguments(info, "orgqr");
  transpose(l, m, a.data(), y);
}

// Frobenius distance of the symmetric l x l matrix (lower triangle of the column-major `gram`) from
// the identity, and its largest entry-wise distance.
struct IdentityDistance {
  double frobenius = 0, largest = 0;
};

IdentityDistance distance_from_identity(std::int64_t l, const std::vector<double>& gram) {
  IdentityDistance d;
  for (std::int64_t j = 0; j < l; ++j) {
    for (std::int64_t i = j; i < l; ++i) {
      const double e = std::abs(gram[j * l + i] - (i == j ? 1.0 : 0.0));
      d.frobenius += (i == j ? 1.0 : 2.0) * e * e;
      d.largest = std::max(d.largest, e);
    }
  }
  d.frobenius = std::sqrt(d.frobenius);
  return d;
}

// Cholesky QR twice, in float64 (Yamamoto et al. 2015): y <- y R^{-1} with R^T R = y^T y, then
// again on the result. Level-3 BLAS only, where a Householder QR of a narrow panel runs in
// level-2. False (y untouched) when y is too ill-conditioned for it: a Cholesky that fails
// (rank-deficient y), or a second Gram matrix still far from I.
//
// Passes that cannot change the result are skipped (a third of the time of the Krylov basis at
// rank 512 went to these factorizations): one pass leaves x^T x - I ~ eps64 cond(y)^2, so a y with
// ||y^T y - I||_F <= 1/2 (cond^2 <= 3; the re-orthonormalized factors of a truncated SVD) needs
// no second one, and a second Gram matrix already within T's epsilon of I (float32 and cond(y)
// up to ~1e4) leaves nothing for the second pass to correct.
template <class T>
bool cholesky_qr2(std::int64_t m, std::int64_t l, T* y) {
  std::vector<double> x(y, y + m * l);  // row-major m x l = column-major l x m, i.e. y^T
  std::vector<double> gram(static_cast<std::size_t>(l * l)), solved(x.size());
  for (int pass = 0; pass < 2; ++pass) {
    syrk_lower(false, l, m, 1.0, x.data(), l, 0.0, gram.data(), l);  // y^T y
    const IdentityDistance distance = distance_from_identity(l, gram);
    if (pass == 1) {
      if (distance.largest > 0.1) return false;
      if (distance.frobenius <= std::numeric_limits<T>::epsilon()) break;
    }
    if (!cholesky(l, gram.data(), l)) return false;
    // Rows of y times L^{-T}: L^{-1} from a solve with the identity, then one GEMM. A triangular
    // solve with m right-hand sides ran at a fraction of GEMM speed (2.8 ms of an 18 ms randomized
    // SVD at 768 x 3072, rank 8); the explicit inverse adds an error ~ eps cond(y), below the
    // eps cond(y)^2 of the Cholesky QR itself.
    std::vector<double> inverse(static_cast<std::size_t>(l * l), 0.0);  // column-major L^{-1} = row-major L^{-T}
    for (std::int64_t j = 0; j < l; ++j) inverse[j * l + j] = 1.0;
    solve_lower<double>(false, l, l, gram.data(), l, inverse.data(), l);
    gemm<double>(false, false, m, l, l, 1.0, x.data(), l, inverse.data(), l, 0.0, solved.data(), l);
    x.swap(solved);
    if (pass == 0 && distance.frobenius <= 0.5) break;
  }
  std::transform(x.begin(), x.end(), y, [](double value) { return static_cast<T>(value); });
  return true;
}

}  // namespace

template <class T>
void orthonormalize_columns(std::int64_t m, std::int64_t l, T* y) {
  if (!cholesky_qr2(m, l, y)) householder_orthonormalize(m, l, y);
}

template <class T>
void orthonormalize_columns_keeping_signs(std::int64_t m, std::int64_t l, T* y) {
  const std::vector<T> before(y, y + m * l);
  orthonormalize_columns(m, l, y);
  std::vector<double> alignment(static_cast<std::size_t>(l), 0.0);
  for (std::int64_t r = 0; r < m; ++r) {
    for (std::int64_t i = 0; i < l; ++i) alignment[i] += double(y[r * l + i]) * double(before[r * l + i]);
  }
  for (std::int64_t r = 0; r < m; ++r) {
    for (std::int64_t i = 0; i < l; ++i) {
      if (alignment[i] < 0) y[r * l + i] = -y[r * l + i];
    }
  }
}

template <class T>
void well_conditioned_basis(std::int64_t m, std::int64_t l, T* y) {
  // y = P L U (partial pivoting): P L spans the same columns, and its unit lower-triangular L with
  // entries of modulus <= 1 keeps them apart; the blocked getrf runs at BLAS-3 speed where a QR of
  // a narrow panel does not (the power iterations of sklearn's randomized_svd and fbpca do the same).
  const int rows = blas_int(m, "m"), cols = blas_int(l, "l");
  if (rows == 0 || cols == 0) return;
  std::vector<T> a = column_major_copy(m, l, y);
  std::vector<int> pivots(static_cast<std::size_t>(cols));
  int info = 0;
  apply_blas_threads();
  Lapack<T>::getrf(&rows, &cols, a.data(), &rows, pivots.data(), &info);
  check_arguments(info, "getrf");  // info > 0 (an exactly zero pivot) still leaves a valid L
  for (std::int64_t j = 0; j < l; ++j) {
    for (std::int64_t i = 0; i < j; ++i) a[j * m + i] = 0;
    a[j * m + j] = 1;
  }
  for (std::int64_t j = l - 1; j >= 0; --j) {  // P L: undo the interchanges, last first
    const std::int64_t other = pivots[static_cast<std::size_t>(j)] - 1;
    if (other == j) continue;
    for (std::int64_t c = 0; c < l; ++c) std::swap(a[c * m + j], a[c * m + other]);
  }
  transpose(l, m, a.data(), y);
}

template <class T>
void solve_lower(bool transposed, std::int64_t n, std::int64_t k, const T* factor, std::int64_t ldf, T* x,
                 std::int64_t ldx) {
  const char side = 'L', uplo = 'L', trans = transposed ? 'T' : 'N', diag = 'N';
  const int N = blas_int(n, "n"), K = blas_int(k, "k"), LDF = blas_int(ldf, "ldf"), LDX = blas_int(ldx, "ldx");
  const T one = 1;
  if (N == 0 || K == 0) return;
  apply_blas_threads();
  Lapack<T>::trsm(&side, &uplo, &trans, &diag, &N, &K, &one, factor, &LDF, x, &LDX);
}

#define MLPRIMS_INSTANTIATE(T)                                                           \
  template bool svd_thin<T>(std::int64_t, std::int64_t, T*, T*, T*, T*);                 \
  template void orthonormalize_columns<T>(std::int64_t, std::int64_t, T*);               \
  template void orthonormalize_columns_keeping_signs<T>(std::int64_t, std::int64_t, T*); \
  template void well_conditioned_basis<T>(std::int64_t, std::int64_t, T*);               \
  template void solve_lower<T>(bool, std::int64_t, std::int64_t, const T*, std::int64_t, T*, std::int64_t);
MLPRIMS_INSTANTIATE(float)
MLPRIMS_INSTANTIATE(double)
#undef MLPRIMS_INSTANTIATE

}  // namespace mlprims::linalg
