#include "lowrank/dense_ops_svd.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>

#include "core/gaussian_sampler.hpp"
#include "core/math/scaled_norm.hpp"
#include "linalg/lapack.hpp"
#include "lowrank/svd_plan.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::lowrank::detail {
namespace {

// A seen as X = A (rows <= cols) or X = A^T, so that X is short x long: bases live on the short
// side, where orthogonalizing them costs least.
template <class T>
struct ShortSide {
  const DenseOps<T>& ops;
  const T* a;
  std::int64_t rows, cols;

  bool transposed() const { return rows > cols; }
  std::int64_t short_length() const { return std::min(rows, cols); }
  std::int64_t long_length() const { return std::max(rows, cols); }
  // y (short x k) = X z, z long x k.
  void apply(std::int64_t k, const T* z, T* y) const {
    ops.gemm(transposed(), false, short_length(), k, long_length(), T(1), a, rows, z, long_length(), T(0), y,
             short_length());
  }
  // z (long x k) = X^T q, q short x k.
  void apply_transposed(std::int64_t k, const T* q, T* z) const {
    ops.gemm(!transposed(), false, long_length(), k, short_length(), T(1), a, rows, q, short_length(), T(0), z,
             long_length());
  }
};

template <class T>
BackendArray<T> gaussian_matrix(const DenseOps<T>& ops, std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  std::vector<T> host(static_cast<std::size_t>(rows * cols));
  mlprims::detail::GaussianSampler(seed).fill(host.data(), rows * cols);
  return ops.upload_vector(host);
}

// One block classical Gram-Schmidt pass against `basis` (s x done, orthonormal), then a QR.
template <class T>
void project_and_orthonormalize(const DenseOps<T>& ops, std::int64_t s, std::int64_t done, const T* basis,
                                std::int64_t k, T* y, T* coefficients) {
  ops.gemm(true, false, done, k, s, T(1), basis, s, y, s, T(0), coefficients, done);
  ops.gemm(false, false, s, k, done, T(-1), basis, s, coefficients, done, T(1), y, s);
  ops.orthonormalize(s, k, y, s);
}

// Columns of the orthonormal y (s x k) whose overlap with `basis` is above rounding level: 10 sqrt(s)
// eps, a few times what the rounding of the s-term products that measure it can leave.
template <class T>
std::vector<std::int64_t> overlapping_columns(const DenseOps<T>& ops, std::int64_t s, std::int64_t done, const T* basis,
                                              std::int64_t k, const T* y, T* coefficients) {
  ops.gemm(true, false, done, k, s, T(1), basis, s, y, s, T(0), coefficients, done);
  const std::vector<T> overlap = ops.download_vector(coefficients, done * k);
  const T limit = T(10) * std::sqrt(static_cast<T>(s)) * std::numeric_limits<T>::epsilon();
  std::vector<std::int64_t> columns;
  for (std::int64_t j = 0; j < k; ++j) {
    for (std::int64_t i = 0; i < done; ++i) {
      if (std::abs(overlap[static_cast<std::size_t>(i + j * done)]) > limit) {
        columns.push_back(j);
        break;
      }
    }
  }
  return columns;
}

// Euclidean norms of the columns of y (s x k), from its Gram matrix in double (one transfer).
template <class T>
std::vector<double> column_norms(const DenseOps<T>& ops, std::int64_t s, std::int64_t k, const T* y) {
  BackendArray<double> gram = ops.template allocate<double>(k * k);
  ops.gram(s, k, y, s, gram.data());
  const std::vector<double> host = ops.download_vector(gram.data(), k * k);
  std::vector<double> norms(static_cast<std::size_t>(k));
  for (std::int64_t j = 0; j < k; ++j) norms[j] = std::sqrt(host[static_cast<std::size_t>(j * k + j)]);
  return norms;
}

template <class T>
void fill_with_noise(const DenseOps<T>& ops, std::int64_t s, const std::vector<std::int64_t>& columns, T* y,
                     mlprims::detail::GaussianSampler& normal) {
  std::vector<T> column(static_cast<std::size_t>(s));
  for (std::int64_t j : columns) {
    normal.fill(column.data(), s);
    ops.upload(column.data(), y + j * s, column.size() * sizeof(T));
  }
}

// y (s x k) <- an orthonormal basis of the part of y orthogonal to `basis` (s x done, orthonormal).
// Block classical Gram-Schmidt twice ("twice is enough"), each pass followed by a QR, holds only
// while y has a part of its own to keep. Once the Krylov space is exhausted (W of rank below the
// basis size), a column of y lies in the basis' span: what the first projection leaves of it is
// rounding noise, mostly along the basis again (the rounding of the coefficients), and normalizing
// it gives a column whose overlap with the basis no further pass reliably removes. A basis that is
// not orthonormal makes Q Q^T X no projection, and the factors lost digits that depended on the
// BLAS kernel (rank-5 W at rank 8, float64: 2e-9 relative under OpenBLAS's Haswell kernels, 9e-11
// under SkylakeX). So a column whose part outside the span is below the rounding of its projection
// (sqrt(s + done) eps of its norm, times 10) is replaced by a random one before it is normalized:
// any orthonormal extension of the basis keeps the projection of W exact. The overlap that is
// left is then checked (10 sqrt(s) eps, a few times what the s-term products that measure it round
// to), and a column above it gets one more projection, then a random replacement.
template <class T>
void orthogonalize_against(const DenseOps<T>& ops, std::int64_t s, std::int64_t done, const T* basis, std::int64_t k,
                           T* y, T* coefficients, mlprims::detail::GaussianSampler& normal) {
  const T eps = std::numeric_limits<T>::epsilon();
  const std::vector<double> before = column_norms(ops, s, k, y);
  ops.gemm(true, false, done, k, s, T(1), basis, s, y, s, T(0), coefficients, done);
  ops.gemm(false, false, s, k, done, T(-1), basis, s, coefficients, done, T(1), y, s);
  const std::vector<double> after = column_norms(ops, s, k, y);
  const double noise = 10.0 * std::sqrt(static_cast<double>(s + done)) * static_cast<double>(eps);
  std::vector<std::int64_t> exhausted;
  for (std::int64_t j = 0; j < k; ++j) {
    if (!(after[j] > noise * before[j])) exhausted.push_back(j);
  }
  fill_with_noise(ops, s, exhausted, y, normal);
  if (!exhausted.empty())
    project_and_orthonormalize(ops, s, done, basis, k, y, coefficients);
  else
    ops.orthonormalize(s, k, y, s);
  project_and_orthonormalize(ops, s, done, basis, k, y, coefficients);
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::vector<std::int64_t> bad = overlapping_columns(ops, s, done, basis, k, y, coefficients);
    if (bad.empty()) return;
    if (attempt > 0) fill_with_noise(ops, s, bad, y, normal);
    for (int pass = 0; pass < 2; ++pass) project_and_orthonormalize(ops, s, done, basis, k, y, coefficients);
  }
}

// Block Krylov basis (short x (iterations + 1) block) of X's range: [X G, (X X^T) X G, ...].
template <class T>
BackendArray<T> krylov_basis(const ShortSide<T>& x, std::int64_t block, int iterations, std::uint64_t seed) {
  const DenseOps<T>& ops = x.ops;
  const std::int64_t s = x.short_length(), size = (iterations + 1) * block;
  BackendArray<T> q = ops.template allocate<T>(s * size);
  BackendArray<T> z = gaussian_matrix(ops, x.long_length(), block, seed);
  x.apply(block, z.data(), q.data());
  ops.orthonormalize(s, block, q.data(), s);
  BackendArray<T> coefficients = ops.template allocate<T>(size * block);
  mlprims::detail::GaussianSampler normal(seed ^ 0x9e3779b97f4a7c15ULL);  // replacements for exhausted directions
  for (int i = 1; i <= iterations; ++i) {
    T* previous = q.data() + (i - 1) * block * s;
    T* next = q.data() + i * block * s;
    x.apply_transposed(block, previous, z.data());
    x.apply(block, z.data(), next);
    orthogonalize_against(ops, s, i * block, q.data(), block, next, coefficients.data(), normal);
  }
  return q;
}

// Subspace iteration (short x block): X G, then (X X^T) `iterations` times, orthonormalized after
// every product so that float32 keeps the small singular directions.
template <class T>
BackendArray<T> subspace_basis(const ShortSide<T>& x, std::int64_t block, int iterations, std::uint64_t seed) {
  const DenseOps<T>& ops = x.ops;
  const std::int64_t s = x.short_length(), l = x.long_length();
  BackendArray<T> q = ops.template allocate<T>(s * block);
  BackendArray<T> z = gaussian_matrix(ops, l, block, seed);
  x.apply(block, z.data(), q.data());
  ops.orthonormalize(s, block, q.data(), s);
  for (int i = 0; i < iterations; ++i) {
    x.apply_transposed(block, q.data(), z.data());
    ops.orthonormalize(l, block, z.data(), l);
    x.apply(block, z.data(), q.data());
    ops.orthonormalize(s, block, q.data(), s);
  }
  return q;
}

// Factors of X ~ Q Q^T X as ux (short x rank) and vx (long x rank).
template <class T>
struct SideFactors {
  BackendArray<T> ux, vx;
  std::vector<T> s;
};

// Gram route (float32): the eigendecomposition of (X^T Q)^T (X^T Q) in double. Eigenvalues carry
// absolute errors ~ size eps64 s_1^2, so s_i keeps float32 accuracy while s_i >= 1e-5 s_1; below,
// nullopt sends the caller to the SVD.
template <class T>
std::optional<SideFactors<T>> factors_from_gram(const ShortSide<T>& x, const T* q, const T* bt, std::int64_t size,
                                                std::int64_t rank) {
  const DenseOps<T>& ops = x.ops;
  const std::int64_t s = x.short_length(), l = x.long_length();
  BackendArray<double> gram = ops.template allocate<double>(size * size);
  ops.gram(l, size, bt, l, gram.data());
  std::vector<double> eigenvalues;
  if (!ops.symmetric_eigen(size, gram.data(), eigenvalues)) return std::nullopt;
  const double top = std::max(eigenvalues[size - 1], 0.0);
  if (top == 0.0 || !(eigenvalues[size - rank] >= 1e-10 * top)) return std::nullopt;
  // Eigenvector i (descending) is column size-1-i.
  BackendArray<double> descending = ops.template allocate<double>(size * rank);
  for (std::int64_t i = 0; i < rank; ++i) {
    ops.copy(gram.data() + (size - 1 - i) * size, descending.data() + i * size,
             static_cast<std::size_t>(size) * sizeof(double));
  }
  BackendArray<T> vectors = ops.template allocate<T>(size * rank);
  ops.narrow(size * rank, descending.data(), vectors.data());
  SideFactors<T> f;
  // U = Q E and V S = (X^T Q) E; their columns are orthonormalized (rounding summed over `size`
  // terms; for V this is also the division by s_i, without its error ~ eps s_1 / s_i).
  f.ux = ops.template allocate<T>(s * rank);
  ops.gemm(false, false, s, rank, size, T(1), q, s, vectors.data(), size, T(0), f.ux.data(), s);
  ops.orthonormalize(s, rank, f.ux.data(), s);
  f.vx = ops.template allocate<T>(l * rank);
  ops.gemm(false, false, l, rank, size, T(1), bt, l, vectors.data(), size, T(0), f.vx.data(), l);
  ops.orthonormalize(l, rank, f.vx.data(), l);
  for (std::int64_t i = 0; i < rank; ++i) f.s.push_back(static_cast<T>(std::sqrt(eigenvalues[size - 1 - i])));
  return f;
}

// SVD route: X^T Q = U' S V'^T gives Q Q^T X = (Q V') S U'^T.
template <class T>
SideFactors<T> factors_from_svd(const ShortSide<T>& x, const T* q, T* bt, std::int64_t size, std::int64_t rank) {
  const DenseOps<T>& ops = x.ops;
  const std::int64_t s = x.short_length(), l = x.long_length();
  BackendArray<T> u = ops.template allocate<T>(l * size), vt = ops.template allocate<T>(size * size);
  std::vector<T> values;
  if (!ops.svd(l, size, bt, l, values, u.data(), vt.data())) {
    throw Error("lowrank: the SVD of the projected matrix did not converge");
  }
  SideFactors<T> f;
  f.ux = ops.template allocate<T>(s * rank);
  ops.gemm(false, true, s, rank, size, T(1), q, s, vt.data(), size, T(0), f.ux.data(), s);
  f.vx = ops.duplicate(u.data(), l * rank);
  f.s.assign(values.begin(), values.begin() + rank);
  return f;
}

// Rayleigh-Ritz: the rank-r SVD of Q Q^T X, as factors of A.
template <class T>
BackendFactors<T> factors_from_basis(const ShortSide<T>& x, const T* q, std::int64_t size, std::int64_t rank) {
  const DenseOps<T>& ops = x.ops;
  BackendArray<T> bt = ops.template allocate<T>(x.long_length() * size);
  x.apply_transposed(size, q, bt.data());
  std::optional<SideFactors<T>> side;
  if constexpr (std::is_same_v<T, float>) side = factors_from_gram(x, q, bt.data(), size, rank);
  if (!side) side = factors_from_svd(x, q, bt.data(), size, rank);
  BackendFactors<T> f;
  f.u = std::move(x.transposed() ? side->vx : side->ux);
  f.v = std::move(x.transposed() ? side->ux : side->vx);
  f.s = std::move(side->s);
  return f;
}

// The full SVD of A, truncated.
template <class T>
BackendFactors<T> exact_factors(const DenseOps<T>& ops, std::int64_t rows, std::int64_t cols, const T* a,
                                std::int64_t rank) {
  // The SVD wants a tall matrix: A itself or A^T.
  const bool transposed = rows < cols;
  const std::int64_t tall = std::max(rows, cols), p = std::min(rows, cols);
  BackendArray<T> work = ops.template allocate<T>(rows * cols);
  if (transposed) {
    ops.transpose(rows, cols, a, rows, work.data(), cols);
  } else {
    ops.copy(a, work.data(), static_cast<std::size_t>(rows * cols) * sizeof(T));
  }
  BackendArray<T> u = ops.template allocate<T>(tall * p), vt = ops.template allocate<T>(p * p);
  std::vector<T> values;
  if (!ops.svd(tall, p, work.data(), tall, values, u.data(), vt.data())) {
    throw Error("lowrank: the SVD of the (weighted) matrix did not converge");
  }
  // The tall matrix is U S V^T: its U's leading columns, and its V's from the leading rows of V^T.
  BackendArray<T> leading_u = ops.duplicate(u.data(), tall * rank);
  BackendArray<T> leading_v = ops.template allocate<T>(p * rank);
  ops.transpose(rank, p, vt.data(), p, leading_v.data(), p);
  BackendFactors<T> f;
  f.u = std::move(transposed ? leading_v : leading_u);
  f.v = std::move(transposed ? leading_u : leading_v);
  f.s.assign(values.begin(), values.begin() + rank);
  f.method = SvdMethod::kExact;
  return f;
}

template <class T>
BackendFactors<T> krylov_factors(const ShortSide<T>& x, std::int64_t rank, const KrylovShape& shape,
                                 std::uint64_t seed) {
  BackendArray<T> q = krylov_basis(x, shape.block, shape.iterations, seed);
  BackendFactors<T> f = factors_from_basis(x, q.data(), shape.size(), rank);
  f.method = SvdMethod::kKrylov;
  return f;
}

}  // namespace

template <class T>
BackendFactors<T> dense_ops_truncated_factors(const DenseOps<T>& ops, std::int64_t rows, std::int64_t cols, const T* a,
                                              std::int64_t rank, const SvdOptions& options) {
  // The plan is made in W's terms: W = A^T is cols x rows.
  const std::int64_t m = cols, n = rows, p = std::min(m, n);
  const SvdMethod method = resolve_method(m, n, rank, options, precision_of<T>());
  const ShortSide<T> x{ops, a, rows, cols};
  if (method == SvdMethod::kKrylov) {
    const KrylovShape shape = krylov_shape(rank, p, m < n, options, true);
    BackendFactors<T> f = krylov_factors(x, rank, shape, options.seed);
    if (shape.block < rank && shows_unresolved_cluster(f.s, shape.block)) {
      const KrylovShape full = krylov_shape(rank, p, m < n, options, false);
      return full.size() <= p ? krylov_factors(x, rank, full, options.seed) : exact_factors(ops, rows, cols, a, rank);
    }
    return f;
  }
  if (method == SvdMethod::kRandomized) {
    const std::int64_t block = std::min(p, rank + std::min(oversample_for(method, rank, options), p));
    BackendArray<T> q = subspace_basis(x, block, subspace_iterations_for(options), options.seed);
    BackendFactors<T> f = factors_from_basis(x, q.data(), block, rank);
    f.method = method;
    return f;
  }
  return exact_factors(ops, rows, cols, a, rank);
}

#define MLPRIMS_INSTANTIATE(T)                                                                                        \
  template BackendFactors<T> dense_ops_truncated_factors<T>(const DenseOps<T>&, std::int64_t, std::int64_t, const T*, \
                                                            std::int64_t, const SvdOptions&);

MLPRIMS_INSTANTIATE(float)
MLPRIMS_INSTANTIATE(double)
#undef MLPRIMS_INSTANTIATE

}  // namespace mlprims::lowrank::detail
