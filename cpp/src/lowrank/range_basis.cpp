#include "lowrank/range_basis.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/gaussian_sampler.hpp"
#include "linalg/blas.hpp"
#include "linalg/dense.hpp"
#include "lowrank/gram_pass.hpp"

namespace mlprims::lowrank::detail {
namespace {

using mlprims::detail::GaussianSampler;

// y (m x cols) <- W g for a Gaussian n x cols matrix g.
template <class T>
std::vector<T> sketch(std::int64_t m, std::int64_t n, const T* a, std::int64_t cols, GaussianSampler& normal) {
  std::vector<T> g(static_cast<std::size_t>(n * cols)), y(static_cast<std::size_t>(m * cols));
  normal.fill(g.data(), n * cols);
  linalg::gemm<T>(false, false, m, cols, n, T(1), a, n, g.data(), cols, T(0), y.data(), cols);
  return y;
}

// Removes from y (m x cols) its components along the first `done` columns of q (m x ldq, orthonormal):
// twice, because one classical Gram-Schmidt pass leaves rounding-sized components that matter when
// most of y lies in that span (Giraud et al., "twice is enough").
template <class T>
void project_out(std::int64_t m, std::int64_t cols, const T* q, std::int64_t ldq, std::int64_t done, T* y,
                 std::vector<T>& overlap) {
  for (int pass = 0; pass < 2; ++pass) {
    linalg::gemm<T>(true, false, done, cols, m, T(1), q, ldq, y, cols, T(0), overlap.data(), cols);
    linalg::gemm<T>(false, false, m, cols, done, T(-1), q, ldq, overlap.data(), cols, T(1), y, cols);
  }
}

// Columns of the orthonormal y (m x cols) whose overlap with q's first `done` columns is not at
// rounding level: Householder QR completes a rank-deficient block (W of low rank, or a Krylov
// space that is already exhausted) with directions that need not be orthogonal to the basis.
template <class T>
std::vector<std::int64_t> overlapping_columns(std::int64_t m, std::int64_t cols, const T* q, std::int64_t ldq,
                                              std::int64_t done, const T* y, std::vector<T>& overlap) {
  linalg::gemm<T>(true, false, done, cols, m, T(1), q, ldq, y, cols, T(0), overlap.data(), cols);
  const T limit = T(1000) * std::numeric_limits<T>::epsilon();
  std::vector<std::int64_t> columns;
  for (std::int64_t j = 0; j < cols; ++j) {
    for (std::int64_t i = 0; i < done; ++i) {
      if (std::abs(overlap[static_cast<std::size_t>(i * cols + j)]) > limit) {
        columns.push_back(j);
        break;
      }
    }
  }
  return columns;
}

// Column norms of the row-major m x cols matrix y, in double.
template <class T>
std::vector<double> column_norms(std::int64_t m, std::int64_t cols, const T* y) {
  std::vector<double> squares(static_cast<std::size_t>(cols), 0.0);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < cols; ++j) {
      const double value = y[i * cols + j];
      squares[j] += value * value;
    }
  }
  for (double& value : squares) value = std::sqrt(value);
  return squares;
}

// The next orthonormal block from y (m x cols, destroyed into the block), orthogonal to q's first
// `done` columns. Degenerate directions are replaced by random ones: any orthonormal extension of
// the basis keeps B = Q^T W exact, it only has to be orthonormal. A column that lies in the span
// (an exhausted Krylov space: W of lower rank than the basis) keeps after the projections only
// rounding noise, mostly along the basis again (the rounding of the coefficients); normalized, it overlapped the basis
// by up to 1000 eps after the checks below and cost the factors digits that depended on the BLAS kernel (rank-5 W, rank
// 8, float64: 1e-13 to 5e-13 relative against 8e-15 from the exact SVD). Such a column (part outside the span below 10
// sqrt(m + done) eps of its norm, the rounding of its projection) is replaced before it is normalized; with none, the
// cost is as before (two norms).
template <class T>
void next_orthonormal_block(std::int64_t m, std::int64_t cols, const T* q, std::int64_t ldq, std::int64_t done, T* y,
                            GaussianSampler& normal) {
  std::vector<T> overlap(static_cast<std::size_t>(std::max<std::int64_t>(done, 1) * cols));
  const auto randomize = [&](const std::vector<std::int64_t>& columns) {
    for (std::int64_t j : columns) {
      for (std::int64_t i = 0; i < m; ++i) y[i * cols + j] = static_cast<T>(normal());
    }
  };
  for (int attempt = 0;; ++attempt) {
    if (done > 0 && attempt == 0) {
      const std::vector<double> before = column_norms(m, cols, y);
      project_out(m, cols, q, ldq, done, y, overlap);
      const std::vector<double> after = column_norms(m, cols, y);
      const double noise =
          10.0 * std::sqrt(static_cast<double>(m + done)) * static_cast<double>(std::numeric_limits<T>::epsilon());
      std::vector<std::int64_t> exhausted;
      for (std::int64_t j = 0; j < cols; ++j) {
        if (!(after[j] > noise * before[j])) exhausted.push_back(j);
      }
      randomize(exhausted);
      if (!exhausted.empty()) project_out(m, cols, q, ldq, done, y, overlap);
    } else if (done > 0) {
      project_out(m, cols, q, ldq, done, y, overlap);
    }
    linalg::orthonormalize_columns(m, cols, y);
    if (done == 0 || attempt == 3) return;
    const std::vector<std::int64_t> bad = overlapping_columns(m, cols, q, ldq, done, y, overlap);
    if (bad.empty()) return;
    // A column whose new part was small comes out of the normalization with an overlap ~ eps / (its
    // relative size): one more projection of the normalized block removes it and keeps the column's
    // Krylov direction. Replacing it by a random one at once cut the Krylov space short: float64,
    // 500 x 300 with a 20x gap after rank 12, left @ right stopped 2e-6 from the exact SVD's
    // (3e-15 with this second round).
    if (attempt == 0) continue;
    randomize(bad);
  }
}

}  // namespace

template <class T>
RangeBasis<T> subspace_iteration_basis(std::int64_t m, std::int64_t n, const T* a, std::int64_t block, int iterations,
                                       std::uint64_t seed) {
  // Between products an LU-based basis suffices (it only has to keep the columns apart in float32);
  // the last one is orthonormal.
  GaussianSampler normal(seed);
  RangeBasis<T> basis;
  basis.size = block;
  basis.q = sketch(m, n, a, block, normal);
  std::vector<T> z(static_cast<std::size_t>(n * block));
  for (int i = 0; i < iterations; ++i) {
    linalg::well_conditioned_basis(m, block, basis.q.data());
    linalg::gemm<T>(true, false, n, block, m, T(1), a, n, basis.q.data(), block, T(0), z.data(), block);
    linalg::well_conditioned_basis(n, block, z.data());
    linalg::gemm<T>(false, false, m, block, n, T(1), a, n, z.data(), block, T(0), basis.q.data(), block);
  }
  linalg::orthonormalize_columns(m, block, basis.q.data());
  basis.wt_q.resize(static_cast<std::size_t>(n * block));
  linalg::gemm<T>(true, false, n, block, m, T(1), a, n, basis.q.data(), block, T(0), basis.wt_q.data(), block);
  return basis;
}

namespace {

// The matrix X whose row space a Krylov basis spans: W, or Wᵀ for W's column space. `a` is W
// (row-major m x n) either way; Wᵀ's products are GEMMs with W transposed.
template <class T>
struct KrylovOperator {
  std::int64_t m, n;
  const T* a;
  bool transposed;

  std::int64_t rows() const { return transposed ? n : m; }
  std::int64_t cols() const { return transposed ? m : n; }

  // y = X z, z_next = Xᵀ y
  void gram_pass(const T* z, std::int64_t b, T* y, T* z_next) const {
    if (!transposed) return detail::gram_pass(m, n, a, z, b, y, z_next);
    gemm_product(true, m, n, a, z, b, y);
    gemm_product(false, m, n, a, y, b, z_next);
  }

  // y = X z
  void product(const T* z, std::int64_t b, T* y) const {
    if (!transposed) return range_product(m, n, a, z, b, y);
    gemm_product(true, m, n, a, z, b, y);
  }
};

}  // namespace

template <class T>
RangeBasis<T> block_krylov_basis(std::int64_t m, std::int64_t n, const T* a, std::int64_t block, int iterations,
                                 std::uint64_t seed, KrylovSpace space) {
  // Block i is (XᵀX)^i G made orthogonal to blocks 0..i-1 (the row-space Krylov space of X). The
  // Gram pass that makes block i + 1 computes X Z_i on its way, and those products are the
  // columns of X V: each pass reads W once (fused kernel) or twice (GEMMs), and only the last
  // block needs a product of its own.
  const KrylovOperator<T> op{m, n, a, space == KrylovSpace::kColumns};
  const std::int64_t rows = op.rows(), cols = op.cols();
  GaussianSampler normal(seed);
  const std::int64_t blocks = iterations + 1, size = blocks * block;
  RangeBasis<T> basis;
  basis.size = size;
  basis.q.resize(static_cast<std::size_t>(cols * size));
  basis.wt_q.resize(static_cast<std::size_t>(rows * size));
  std::vector<T> z(static_cast<std::size_t>(cols * block)), next(z.size()), y(static_cast<std::size_t>(rows * block));
  normal.fill(z.data(), cols * block);
  for (std::int64_t i = 0; i < blocks; ++i) {
    const std::int64_t done = i * block;
    next_orthonormal_block(cols, block, basis.q.data(), size, done, z.data(), normal);
    for (std::int64_t r = 0; r < cols; ++r) std::copy_n(z.data() + r * block, block, basis.q.data() + r * size + done);
    if (i + 1 < blocks) {
      op.gram_pass(z.data(), block, y.data(), next.data());
      z.swap(next);
    } else {
      op.product(z.data(), block, y.data());
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      std::copy_n(y.data() + r * block, block, basis.wt_q.data() + r * size + done);
    }
  }
  return basis;
}

#define MLPRIMS_INSTANTIATE(T)                                                                                         \
  template RangeBasis<T> subspace_iteration_basis<T>(std::int64_t, std::int64_t, const T*, std::int64_t, int,          \
                                                     std::uint64_t);                                                   \
  template RangeBasis<T> block_krylov_basis<T>(std::int64_t, std::int64_t, const T*, std::int64_t, int, std::uint64_t, \
                                               KrylovSpace);
MLPRIMS_INSTANTIATE(float)
MLPRIMS_INSTANTIATE(double)
#undef MLPRIMS_INSTANTIATE

}  // namespace mlprims::lowrank::detail
