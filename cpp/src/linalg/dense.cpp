#include "linalg/dense.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "linalg/blas.hpp"
#include "linalg/blas_symbols.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::linalg {
namespace {

template <class T>
struct Lapack;

#define MLPRIMS_LAPACK_TYPE(T, p)                         \
  template <>                                             \
  struct Lapack<T> {                                      \
    static constexpr auto gesdd = &MLPRIMS_BLAS(p##gesdd); \
    static constexpr auto gelqf = &MLPRIMS_BLAS(p##gelqf); \
    static constexpr auto orglq = &MLPRIMS_BLAS(p##orglq); \
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

template <class T>
void orthonormalize_columns(std::int64_t m, std::int64_t l, T* y) {
  // Column-major, the array is y^T (l x m); its LQ factorization y^T = L Q gives y = Q^T L^T, and
  // Q (l x m, orthonormal rows) read row-major is the m x l basis.
  const int rows = blas_int(l, "l"), cols = blas_int(m, "m");
  if (rows == 0 || cols == 0) return;
  std::vector<T> tau(static_cast<std::size_t>(rows));
  int info = 0, query_size = -1;
  T query = 0;
  apply_blas_threads();
  Lapack<T>::gelqf(&rows, &cols, y, &rows, tau.data(), &query, &query_size, &info);
  check_arguments(info, "gelqf");
  int lwork = workspace_size(query);
  std::vector<T> work(static_cast<std::size_t>(lwork));
  Lapack<T>::gelqf(&rows, &cols, y, &rows, tau.data(), work.data(), &lwork, &info);
  check_arguments(info, "gelqf");
  Lapack<T>::orglq(&rows, &cols, &rows, y, &rows, tau.data(), &query, &query_size, &info);
  check_arguments(info, "orglq");
  lwork = workspace_size(query);
  work.resize(static_cast<std::size_t>(lwork));
  Lapack<T>::orglq(&rows, &cols, &rows, y, &rows, tau.data(), work.data(), &lwork, &info);
  check_arguments(info, "orglq");
}

namespace {

// trsm with the lower-triangular column-major factor (order n) on the column-major rows x cols B.
template <class T>
void lower_trsm(char side, char trans, std::int64_t n, std::int64_t rows, std::int64_t cols, const T* factor, T* b) {
  const char uplo = 'L', diag = 'N';
  const int M = blas_int(rows, "rows"), N = blas_int(cols, "cols"), LDA = blas_int(n, "n");
  const T one = 1;
  if (M == 0 || N == 0) return;
  apply_blas_threads();
  Lapack<T>::trsm(&side, &uplo, &trans, &diag, &M, &N, &one, factor, &LDA, b, &M);
}

}  // namespace

template <class T>
void solve_lower_transposed_left(std::int64_t n, std::int64_t k, const T* factor, T* x) {
  // Column-major the array is x^T (k x n): L^T z = x  <=>  z^T L = x^T.
  lower_trsm('R', 'N', n, k, n, factor, x);
}

template <class T>
void solve_lower_right(std::int64_t n, std::int64_t k, const T* factor, T* x) {
  // Column-major the array is x^T (n x k): z L = x  <=>  L^T z^T = x^T.
  lower_trsm('L', 'T', n, n, k, factor, x);
}

#define MLPRIMS_INSTANTIATE(T)                                                                  \
  template bool svd_thin<T>(std::int64_t, std::int64_t, T*, T*, T*, T*);                        \
  template void orthonormalize_columns<T>(std::int64_t, std::int64_t, T*);                      \
  template void solve_lower_transposed_left<T>(std::int64_t, std::int64_t, const T*, T*);       \
  template void solve_lower_right<T>(std::int64_t, std::int64_t, const T*, T*);
MLPRIMS_INSTANTIATE(float)
MLPRIMS_INSTANTIATE(double)
#undef MLPRIMS_INSTANTIATE

}  // namespace mlprims::linalg
