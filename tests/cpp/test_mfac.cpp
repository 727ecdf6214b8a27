// M-FAC through the C++ API: residuals of F^{-1} x checked in long double, the sliding window
// against a fresh static inverse, the Cholesky update/downdate, and argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "mfac/symmetric_factor.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/mfac.hpp"

using mlprims::DType;
using mlprims::TensorView;
namespace mfac = mlprims::mfac;

namespace {

std::vector<double> random_matrix(std::int64_t rows, std::int64_t cols, unsigned seed, double spread = 0.0) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<double> normal;
  std::vector<double> values(static_cast<std::size_t>(rows * cols));
  for (std::int64_t i = 0; i < rows; ++i) {
    const double scale = std::pow(10.0, spread * (2.0 * i / std::max<std::int64_t>(rows - 1, 1) - 1.0));
    for (std::int64_t j = 0; j < cols; ++j) values[i * cols + j] = scale * normal(engine);
  }
  return values;
}

// ||F y - x|| / (||F||_F-bound ||y|| + ||x||) with F = damp I + G^T G / m, in long double. The
// Frobenius norm bounds ||F|| from above, so this under-estimates the backward error by at most
// sqrt(rank); the tolerances below leave room for that.
double backward_error(const std::vector<double>& G, std::int64_t m, std::int64_t d, double damp,
                      const std::vector<double>& y, const std::vector<double>& x) {
  std::vector<long double> Gy(static_cast<std::size_t>(m), 0.0L);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < d; ++j) Gy[i] += static_cast<long double>(G[i * d + j]) * y[j];
  }
  long double residual = 0.0L, y_norm = 0.0L, x_norm = 0.0L, gram_trace = 0.0L;
  for (std::int64_t j = 0; j < d; ++j) {
    long double fy = static_cast<long double>(damp) * y[j];
    for (std::int64_t i = 0; i < m; ++i) fy += static_cast<long double>(G[i * d + j]) * Gy[i] / m;
    residual += (fy - x[j]) * (fy - x[j]);
    y_norm += static_cast<long double>(y[j]) * y[j];
    x_norm += static_cast<long double>(x[j]) * x[j];
  }
  for (const double g : G) gram_trace += static_cast<long double>(g) * g;
  const long double f_norm = damp + gram_trace / m;  // >= ||F||
  return static_cast<double>(std::sqrt(residual) / (f_norm * std::sqrt(y_norm) + std::sqrt(x_norm)));
}

}  // namespace

TEST(Mfac, RefinedSolvesReachRoundingLevel) {
  const std::int64_t m = 16, d = 300;
  const std::vector<double> G = random_matrix(m, d, 1, /*spread=*/2.0);
  for (double damp : {1e-8, 1e-4, 1.0}) {
    const mfac::FisherInverse finv(TensorView(G.data(), DType::kFloat64, {m, d}), damp);
    EXPECT_EQ(finv.num_grads(), m);
    EXPECT_EQ(finv.dim(), d);
    for (std::int64_t row : {0, 7, 15}) {
      const std::vector<double> x(G.begin() + row * d, G.begin() + (row + 1) * d);
      std::vector<double> y(static_cast<std::size_t>(d));
      const mfac::SolveInfo info =
          finv.ihvp(TensorView(x.data(), DType::kFloat64, {d}), TensorView(y.data(), DType::kFloat64, {d}), true);
      EXPECT_LE(backward_error(G, m, d, damp, y, x), 1e-15) << "damp " << damp << " row " << row;
      EXPECT_LE(info.backward_error, 1e-14);
      EXPECT_GE(info.refinement_steps, 0);
    }
  }
}

TEST(Mfac, SlidingWindowMatchesAFreshStaticInverse) {
  const std::int64_t window = 5, d = 80;
  const std::vector<double> stream = random_matrix(23, d, 2, 1.0);
  mfac::SlidingFisherInverse sliding(d, window, 1e-3, DType::kFloat64);
  std::vector<double> y(static_cast<std::size_t>(d)), expected(static_cast<std::size_t>(d));
  for (std::int64_t t = 0; t < 23; ++t) {
    const TensorView g(stream.data() + t * d, DType::kFloat64, {d});
    sliding.update_ihvp(g, TensorView(y.data(), DType::kFloat64, {d}), true);
    const std::int64_t count = std::min<std::int64_t>(t + 1, window);
    const std::int64_t first = t + 1 - count;
    const mfac::FisherInverse fresh(TensorView(stream.data() + first * d, DType::kFloat64, {count, d}), 1e-3);
    fresh.ihvp(g, TensorView(expected.data(), DType::kFloat64, {d}), true);
    for (std::int64_t j = 0; j < d; ++j) EXPECT_NEAR(y[j], expected[j], 1e-9 * std::fabs(expected[j]) + 1e-12) << t;
  }
  EXPECT_EQ(sliding.size(), window);
}

TEST(Mfac, CholeskyUpdateAndDowndate) {
  // L L^T of A = [[4, 2], [2, 3]], updated by x x^T and downdated back.
  std::vector<double> factor = {2.0, 1.0, 0.0, std::sqrt(2.0)};  // column-major lower
  std::vector<double> x = {1.0, 2.0};
  ASSERT_TRUE(mfac::detail::rank_one_update(2, factor.data(), x.data(), 1.0));
  // A + x x^T = [[5, 4], [4, 7]]: L = [[sqrt 5, 0], [4/sqrt 5, sqrt(7 - 16/5)]].
  EXPECT_NEAR(factor[0], std::sqrt(5.0), 1e-15);
  EXPECT_NEAR(factor[1], 4.0 / std::sqrt(5.0), 1e-15);
  EXPECT_NEAR(factor[3], std::sqrt(7.0 - 16.0 / 5.0), 1e-15);
  x = {1.0, 2.0};
  ASSERT_TRUE(mfac::detail::rank_one_update(2, factor.data(), x.data(), -1.0));
  EXPECT_NEAR(factor[0], 2.0, 1e-15);
  EXPECT_NEAR(factor[1], 1.0, 1e-15);
  EXPECT_NEAR(factor[3], std::sqrt(2.0), 1e-15);
  // A downdate that would make the matrix indefinite is refused.
  x = {3.0, 0.0};
  EXPECT_FALSE(mfac::detail::rank_one_update(2, factor.data(), x.data(), -1.0));
}

TEST(Mfac, ArgumentErrors) {
  std::vector<double> G = random_matrix(3, 10, 3);
  const TensorView grads(G.data(), DType::kFloat64, {3, 10});
  EXPECT_THROW(mfac::FisherInverse(grads, 0.0), mlprims::ValueError);
  mfac::FisherOptions options;
  options.block_size = -1;
  EXPECT_THROW(mfac::FisherInverse(grads, 1.0, options), mlprims::ValueError);
  G[4] = std::nan("");
  EXPECT_THROW(mfac::FisherInverse(grads, 1.0), mlprims::ValueError);
  G[4] = 0.0;
  const mfac::FisherInverse finv(grads, 1.0);
  std::vector<double> x(11), y(11);
  EXPECT_THROW(finv.ihvp(TensorView(x.data(), DType::kFloat64, {11}), TensorView(y.data(), DType::kFloat64, {11})),
               mlprims::ValueError);
  std::vector<double> same(10);
  const TensorView view(same.data(), DType::kFloat64, {10});
  EXPECT_THROW(finv.ihvp(view, view), mlprims::ValueError);  // out may not be x
  EXPECT_THROW(mfac::SlidingFisherInverse(10, 0, 1.0), mlprims::ValueError);
  EXPECT_THROW(mfac::SlidingFisherInverse(10, 2, 1.0, DType::kInt32), mlprims::TypeError);
  mfac::SlidingFisherInverse sliding(10, 2, 1.0);
  EXPECT_THROW(sliding.ihvp(view, TensorView(y.data(), DType::kFloat64, {10})), mlprims::ValueError);  // empty
  std::vector<double> w(10, 1.0), pruned(10);
  std::vector<unsigned char> mask(10);
  EXPECT_THROW(mfac::obs_prune(TensorView(w.data(), DType::kFloat64, {10}), finv, 1.0,
                               TensorView(pruned.data(), DType::kFloat64, {10}),
                               TensorView(mask.data(), DType::kBool, {10})),
               mlprims::ValueError);
}
