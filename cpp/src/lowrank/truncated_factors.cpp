#include "lowrank/truncated_factors.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <type_traits>

#include "core/math/scaled_norm.hpp"
#include "linalg/blas.hpp"
#include "linalg/dense.hpp"
#include "linalg/lapack.hpp"
#include "lowrank/gram_pass.hpp"
#include "lowrank/range_basis.hpp"
#include "lowrank/svd_plan.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::lowrank::detail {
namespace {

// Columns [0, rank) of the row-major rows x cols matrix `from` (leading dimension cols).
template <class T>
std::vector<T> leading_columns(const std::vector<T>& from, std::int64_t rows, std::int64_t cols, std::int64_t rank) {
  std::vector<T> out(static_cast<std::size_t>(rows * rank));
  for (std::int64_t i = 0; i < rows; ++i) {
    std::copy_n(from.begin() + i * cols, rank, out.begin() + i * rank);
  }
  return out;
}

// Thin SVD of the row-major rows x cols matrix `work` (destroyed), truncated to `rank`.
template <class T>
TruncatedFactors<T> thin_svd_truncated(std::int64_t rows, std::int64_t cols, std::vector<T>& work, std::int64_t rank) {
  const std::int64_t p = std::min(rows, cols);
  std::vector<T> u(static_cast<std::size_t>(rows * p)), s(static_cast<std::size_t>(p)),
      vt(static_cast<std::size_t>(p * cols));
  if (!linalg::svd_thin(rows, cols, work.data(), s.data(), u.data(), vt.data())) {
    throw Error("lowrank: LAPACK's SVD did not converge");
  }
  TruncatedFactors<T> f;
  f.u = leading_columns(u, rows, p, rank);
  f.s.assign(s.begin(), s.begin() + rank);
  f.vt.assign(vt.begin(), vt.begin() + rank * cols);
  return f;
}

// Gram route for float32: G = (W^T Q)^T (W^T Q) in float64 and its eigendecomposition, 3-6x
// faster than LAPACK's SVD of the n x size matrix W^T Q (whose bidiagonalization runs in level-2
// BLAS). Eigenvalues of G carry absolute errors ~ size * eps64 * s_1^2, so a singular value s_i
// keeps float32 accuracy while s_i >= 1e-5 s_1; below, nullopt sends the caller to the SVD.
std::optional<TruncatedFactors<float>> factors_from_gram(std::int64_t m, std::int64_t n, const RangeBasis<float>& basis,
                                                         std::int64_t rank) {
  const std::int64_t size = basis.size;
  std::vector<double> gram(static_cast<std::size_t>(size * size));
  // Rows of W^T Q in float64 a chunk at a time (row-major rows x size = column-major size x rows).
  const std::int64_t chunk = std::max<std::int64_t>(1, (std::int64_t{4} << 20) / (size * std::int64_t(sizeof(double))));
  std::vector<double> rows(static_cast<std::size_t>(std::min(chunk, n) * size));
  for (std::int64_t i0 = 0; i0 < n; i0 += chunk) {
    const std::int64_t count = std::min(chunk, n - i0);
    std::copy_n(basis.wt_q.data() + i0 * size, count * size, rows.begin());
    linalg::syrk_lower(false, size, count, 1.0, rows.data(), size, i0 == 0 ? 0.0 : 1.0, gram.data(), size);
  }
  std::vector<double> eigenvalues(static_cast<std::size_t>(size));
  if (!linalg::symmetric_eigen(size, gram.data(), size, eigenvalues.data())) return std::nullopt;
  const double top = std::max(eigenvalues[size - 1], 0.0);
  if (!(eigenvalues[size - rank] >= 1e-10 * top) || top == 0.0) return std::nullopt;
  // Eigenvector i (descending) is column size-1-i of gram (column-major); as a size x rank matrix.
  std::vector<float> vectors(static_cast<std::size_t>(size * rank));
  TruncatedFactors<float> f;
  f.s.resize(static_cast<std::size_t>(rank));
  for (std::int64_t i = 0; i < rank; ++i) {
    const double* column = gram.data() + (size - 1 - i) * size;
    for (std::int64_t j = 0; j < size; ++j) vectors[j * rank + i] = static_cast<float>(column[j]);
    f.s[i] = static_cast<float>(std::sqrt(eigenvalues[size - 1 - i]));
  }
  // U = Q vectors is orthonormal up to float32 rounding summed over `size` terms (~1e-5 at
  // size ~1000): made orthonormal again.
  f.u.resize(static_cast<std::size_t>(m * rank));
  linalg::gemm<float>(false, false, m, rank, size, 1.0f, basis.q.data(), size, vectors.data(), rank, 0.0f, f.u.data(),
                      rank);
  linalg::orthonormalize_columns_keeping_signs(m, rank, f.u.data());
  // V S = (W^T Q) vectors; its orthonormalized columns are V (the normalization divides by s_i).
  // A QR rather than a division: column i carries an error ~ eps32 s_1 / s_i that would otherwise
  // show as a loss of orthogonality.
  std::vector<float> v(static_cast<std::size_t>(n * rank));
  linalg::gemm<float>(false, false, n, rank, size, 1.0f, basis.wt_q.data(), size, vectors.data(), rank, 0.0f, v.data(),
                      rank);
  linalg::orthonormalize_columns_keeping_signs(n, rank, v.data());
  f.vt.resize(static_cast<std::size_t>(rank * n));
  linalg::transpose(n, rank, v.data(), f.vt.data());
  return f;
}

// The rank-r SVD of Q Q^T W from the basis: W^T Q = U' S V'^T gives Q Q^T W = (Q V') S U'^T.
template <class T>
TruncatedFactors<T> factors_from_basis(std::int64_t m, std::int64_t n, RangeBasis<T>& basis, std::int64_t rank) {
  if constexpr (std::is_same_v<T, float>) {
    if (std::optional<TruncatedFactors<float>> f = factors_from_gram(m, n, basis, rank)) return std::move(*f);
  }
  TruncatedFactors<T> small = thin_svd_truncated(n, basis.size, basis.wt_q, rank);
  TruncatedFactors<T> f;
  f.u.resize(static_cast<std::size_t>(m * rank));
  linalg::gemm<T>(false, true, m, rank, basis.size, T(1), basis.q.data(), basis.size, small.vt.data(), basis.size, T(0),
                  f.u.data(), rank);
  f.s = std::move(small.s);
  f.vt.resize(static_cast<std::size_t>(rank * n));
  linalg::transpose(n, rank, small.u.data(), f.vt.data());
  return f;
}

// Rank-r factors from LAPACK's SVD of a copy of W.
template <class T>
TruncatedFactors<T> exact_factors(std::int64_t m, std::int64_t n, const T* a, std::int64_t rank) {
  std::vector<T> work(a, a + m * n);
  TruncatedFactors<T> f = thin_svd_truncated(m, n, work, rank);
  f.method = SvdMethod::kExact;
  return f;
}

// Rank-r factors from a block Krylov basis of the given shape. The row space takes the fused
// one-read Gram pass where it applies; otherwise the basis goes on the short side of W (its
// orthogonalization grows with the side's length).
template <class T>
TruncatedFactors<T> krylov_factors(std::int64_t m, std::int64_t n, const T* a, std::int64_t rank,
                                   const KrylovShape& shape, std::uint64_t seed) {
  const bool fused = gram_pass_is_fused<T>(shape.block);
  if (!fused && m < n) {
    RangeBasis<T> basis = block_krylov_basis(m, n, a, shape.block, shape.iterations, seed, KrylovSpace::kColumns);
    TruncatedFactors<T> f = factors_from_basis(m, n, basis, rank);
    f.method = SvdMethod::kKrylov;
    return f;
  }
  std::optional<linalg::SerialBlasScope> serial_blas;
  if (fused) serial_blas.emplace();
  RangeBasis<T> basis = block_krylov_basis(m, n, a, shape.block, shape.iterations, seed, KrylovSpace::kRows);
  // A basis of W's row space: the factors come out for W^T.
  TruncatedFactors<T> ft = factors_from_basis(n, m, basis, rank);
  TruncatedFactors<T> f;
  f.u.resize(ft.vt.size());
  linalg::transpose(rank, m, ft.vt.data(), f.u.data());
  f.s = std::move(ft.s);
  f.vt.resize(ft.u.size());
  linalg::transpose(n, rank, ft.u.data(), f.vt.data());
  f.method = SvdMethod::kKrylov;
  return f;
}

}  // namespace

template <class T>
TruncatedFactors<T> truncated_factors(std::int64_t m, std::int64_t n, const T* a, std::int64_t rank,
                                      const SvdOptions& options) {
  const SvdMethod method = resolve_method(m, n, rank, options, precision_of<T>());
  if (method == SvdMethod::kKrylov) {
    const std::int64_t p = std::min(m, n);
    const KrylovShape shape = krylov_shape(rank, p, m < n, options, true);
    TruncatedFactors<T> f = krylov_factors(m, n, a, rank, shape, options.seed);
    if (shape.block < rank && shows_unresolved_cluster(f.s, shape.block)) {
      const KrylovShape full = krylov_shape(rank, p, m < n, options, false);
      return full.size() <= p ? krylov_factors(m, n, a, rank, full, options.seed) : exact_factors(m, n, a, rank);
    }
    return f;
  }
  if (method == SvdMethod::kRandomized) {
    // Renormalized after every product, so that float32 keeps the small singular directions.
    const std::int64_t p = std::min(m, n);
    const std::int64_t block = std::min(p, rank + std::min(oversample_for(method, rank, options), p));
    RangeBasis<T> basis = subspace_iteration_basis(m, n, a, block, subspace_iterations_for(options), options.seed);
    TruncatedFactors<T> f = factors_from_basis(m, n, basis, rank);
    f.method = method;
    return f;
  }
  return exact_factors(m, n, a, rank);
}

template <class T>
BackendFactors<T> cpu_truncated_factors(const DenseOps<T>& ops, std::int64_t rows, std::int64_t cols, const T* a,
                                        std::int64_t rank, const SvdOptions& options) {
  // Column-major A (rows x cols) is row-major W = A^T (cols x rows) = U S V^T, so A = V S U^T.
  const std::int64_t m = cols, n = rows;
  TruncatedFactors<T> f = truncated_factors(m, n, a, rank, options);
  BackendFactors<T> out;
  out.u = ops.upload_vector(f.vt);  // row-major rank x n V^T is column-major n x rank V
  out.v = ops.template allocate<T>(m * rank);
  linalg::transpose(m, rank, f.u.data(), out.v.data());  // row-major U to column-major
  out.s = std::move(f.s);
  out.method = f.method;
  return out;
}

#define MLPRIMS_INSTANTIATE(T)                                                                                  \
  template TruncatedFactors<T> truncated_factors<T>(std::int64_t, std::int64_t, const T*, std::int64_t,         \
                                                    const SvdOptions&);                                         \
  template BackendFactors<T> cpu_truncated_factors<T>(const DenseOps<T>&, std::int64_t, std::int64_t, const T*, \
                                                      std::int64_t, const SvdOptions&);
MLPRIMS_INSTANTIATE(float)
MLPRIMS_INSTANTIATE(double)
#undef MLPRIMS_INSTANTIATE

}  // namespace mlprims::lowrank::detail
