#include "lowrank/truncated_factors.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "linalg/blas.hpp"
#include "linalg/dense.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::lowrank::detail {
namespace {

constexpr int kDefaultPowerIterations = 6;

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
TruncatedFactors<T> thin_svd_truncated(std::int64_t rows, std::int64_t cols, std::vector<T>& work,
                                       std::int64_t rank) {
  const std::int64_t p = std::min(rows, cols);
  std::vector<T> u(static_cast<std::size_t>(rows * p)), s(static_cast<std::size_t>(p)),
      vt(static_cast<std::size_t>(p * cols));
  if (!linalg::svd_thin(rows, cols, work.data(), s.data(), u.data(), vt.data())) {
    throw Error("truncated_svd: LAPACK's SVD did not converge");
  }
  TruncatedFactors<T> f;
  f.u = leading_columns(u, rows, p, rank);
  f.s.assign(s.begin(), s.begin() + rank);
  f.vt.assign(vt.begin(), vt.begin() + rank * cols);
  return f;
}

std::int64_t oversample_for(std::int64_t rank, const SvdOptions& options) {
  return options.oversample >= 0 ? options.oversample : 10 + rank / 2;
}

// The method kAuto resolves to for these sizes.
SvdMethod resolve_method(std::int64_t m, std::int64_t n, std::int64_t rank, const SvdOptions& options) {
  if (options.method != SvdMethod::kAuto) return options.method;
  // The randomized method costs ~ (2 q + 2) m n l flops against ~ 4-10 m n p for the full SVD
  // (p = min(m, n)): it pays when l is a small part of p.
  const std::int64_t p = std::min(m, n);
  return p >= 256 && 3 * (rank + oversample_for(rank, options)) <= p ? SvdMethod::kRandomized : SvdMethod::kExact;
}

template <class T>
TruncatedFactors<T> randomized(std::int64_t m, std::int64_t n, const T* a, std::int64_t rank,
                               const SvdOptions& options) {
  // Basis Q (m x l) of the range of a Omega, refined by power iterations (a a^T)^q with the basis
  // renormalized after every product, so that float32 keeps the small singular directions; then
  // the SVD of Q^T a.
  const std::int64_t l = std::min(std::min(m, n), rank + oversample_for(rank, options));
  const int iterations = options.power_iters < 0 ? kDefaultPowerIterations : options.power_iters;
  std::mt19937_64 generator(options.seed);
  std::normal_distribution<double> normal;
  std::vector<T> omega(static_cast<std::size_t>(n * l));
  for (T& value : omega) value = static_cast<T>(normal(generator));
  std::vector<T> q(static_cast<std::size_t>(m * l)), z(static_cast<std::size_t>(n * l));
  // Between products an LU-based basis suffices (it only has to keep the columns apart); the last
  // one is orthonormal.
  linalg::gemm<T>(false, false, m, l, n, T(1), a, n, omega.data(), l, T(0), q.data(), l);
  for (int i = 0; i < iterations; ++i) {
    linalg::well_conditioned_basis(m, l, q.data());
    linalg::gemm<T>(true, false, n, l, m, T(1), a, n, q.data(), l, T(0), z.data(), l);
    linalg::well_conditioned_basis(n, l, z.data());
    linalg::gemm<T>(false, false, m, l, n, T(1), a, n, z.data(), l, T(0), q.data(), l);
  }
  linalg::orthonormalize_columns(m, l, q.data());
  std::vector<T> b(static_cast<std::size_t>(l * n));  // Q^T a, l x n
  linalg::gemm<T>(true, false, l, n, m, T(1), q.data(), l, a, n, T(0), b.data(), n);
  TruncatedFactors<T> small = thin_svd_truncated(l, n, b, rank);
  TruncatedFactors<T> f;
  f.u.resize(static_cast<std::size_t>(m * rank));
  linalg::gemm<T>(false, false, m, rank, l, T(1), q.data(), l, small.u.data(), rank, T(0), f.u.data(), rank);
  f.s = std::move(small.s);
  f.vt = std::move(small.vt);
  f.method = SvdMethod::kRandomized;
  return f;
}

}  // namespace

template <class T>
TruncatedFactors<T> truncated_factors(std::int64_t m, std::int64_t n, const T* a, std::int64_t rank,
                                      const SvdOptions& options) {
  if (resolve_method(m, n, rank, options) == SvdMethod::kRandomized) return randomized(m, n, a, rank, options);
  std::vector<T> work(a, a + m * n);
  TruncatedFactors<T> f = thin_svd_truncated(m, n, work, rank);
  f.method = SvdMethod::kExact;
  return f;
}

template <class T>
double residual_norm(std::int64_t m, std::int64_t n, const T* a, const TruncatedFactors<T>& f) {
  // Row blocks of ~1 MiB: no m x n temporary (its page faults cost as much as the product).
  const auto rank = static_cast<std::int64_t>(f.s.size());
  std::vector<T> us(f.u);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < rank; ++j) us[i * rank + j] *= f.s[j];
  }
  const std::int64_t block = std::max<std::int64_t>(1, (std::int64_t{1} << 20) / (n * std::int64_t(sizeof(T))));
  std::vector<T> residual(static_cast<std::size_t>(std::min(block, m) * n));
  double sum = 0.0;
  for (std::int64_t i0 = 0; i0 < m; i0 += block) {
    const std::int64_t rows = std::min(block, m - i0);
    std::copy(a + i0 * n, a + (i0 + rows) * n, residual.begin());
    linalg::gemm<T>(false, false, rows, n, rank, T(-1), us.data() + i0 * rank, rank, f.vt.data(), n, T(1),
                    residual.data(), n);
    const T* r = residual.data();
#pragma omp simd reduction(+ : sum)
    for (std::int64_t e = 0; e < rows * n; ++e) sum += static_cast<double>(r[e]) * static_cast<double>(r[e]);
  }
  return std::sqrt(sum);
}

#define MLPRIMS_INSTANTIATE(T)                                                                                       \
  template TruncatedFactors<T> truncated_factors<T>(std::int64_t, std::int64_t, const T*, std::int64_t, \
                                                    const SvdOptions&);                                  \
  template double residual_norm<T>(std::int64_t, std::int64_t, const T*, const TruncatedFactors<T>&);
MLPRIMS_INSTANTIATE(float)
MLPRIMS_INSTANTIATE(double)
#undef MLPRIMS_INSTANTIATE

}  // namespace mlprims::lowrank::detail
