// M-FAC through the C++ API: residuals of F^{-1} x checked in long double, the sliding window
// against a fresh static inverse, the Cholesky update/downdate, and argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
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

// Refinement stops when its estimate is <= 4 eps; the estimate and the long double check round in
// sums of m and d terms: (sqrt(m) + sqrt(d)) u each (u = eps / 2).
double refined_bound(std::int64_t m, std::int64_t d) {
  const double eps = std::numeric_limits<double>::epsilon();
  return 4.0 * eps + 4.0 * (std::sqrt(static_cast<double>(m)) + std::sqrt(static_cast<double>(d))) * 0.5 * eps;
}

double norm_of_difference(const std::vector<double>& a, const std::vector<double>& b) {
  long double sum = 0.0L;
  for (std::size_t i = 0; i < a.size(); ++i) sum += (static_cast<long double>(a[i]) - b[i]) * (a[i] - b[i]);
  return static_cast<double>(std::sqrt(sum));
}

double norm_of(const std::vector<double>& a) { return norm_of_difference(a, std::vector<double>(a.size(), 0.0)); }

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
      EXPECT_LE(backward_error(G, m, d, damp, y, x), refined_bound(m, d)) << "damp " << damp << " row " << row;
      EXPECT_LE(info.backward_error, refined_bound(m, d));
      EXPECT_GE(info.refinement_steps, 0);
    }
  }
}

TEST(Mfac, SlidingWindowMatchesAFreshStaticInverse) {
  const std::int64_t window = 5, d = 80;
  const std::vector<double> stream = random_matrix(23, d, 2, 1.0);
  const double damp = 1e-3;
  mfac::SlidingFisherInverse sliding(d, window, damp, DType::kFloat64);
  std::vector<double> y(static_cast<std::size_t>(d)), expected(static_cast<std::size_t>(d));
  for (std::int64_t t = 0; t < 23; ++t) {
    const TensorView g(stream.data() + t * d, DType::kFloat64, {d});
    sliding.update_ihvp(g, TensorView(y.data(), DType::kFloat64, {d}), true);
    const std::int64_t count = std::min<std::int64_t>(t + 1, window);
    const std::int64_t first = t + 1 - count;
    const mfac::FisherInverse fresh(TensorView(stream.data() + first * d, DType::kFloat64, {count, d}), damp);
    fresh.ihvp(g, TensorView(expected.data(), DType::kFloat64, {d}), true);
    // Both solve F y = g to the refined backward error: norm-wise they differ by at most
    // 2 cond(F) times it, cond(F) <= 1 + trace(G^T G / count) / damp.
    double trace = 0.0;
    for (std::int64_t i = first * d; i < (t + 1) * d; ++i) trace += stream[i] * stream[i];
    const double cond_bound = 1.0 + trace / static_cast<double>(count) / damp;
    EXPECT_LE(norm_of_difference(y, expected), 2.0 * cond_bound * refined_bound(count, d) * norm_of(expected)) << t;
  }
  EXPECT_EQ(sliding.size(), window);
}

TEST(Mfac, CholeskyUpdateAndDowndate) {
  // L L^T of A = [[4, 2], [2, 3]], updated by x x^T and downdated back.
  std::vector<double> factor = {2.0, 1.0, 0.0, std::sqrt(2.0)};  // column-major lower
  std::vector<double> x = {1.0, 2.0};
  ASSERT_TRUE(mfac::detail::rank_one_update(2, factor.data(), x.data(), 1.0));
  // A + x x^T = [[5, 4], [4, 7]]: L = [[sqrt 5, 0], [4/sqrt 5, sqrt(7 - 16/5)]]. The update is
  // backward stable: ||L - L_exact|| <= c n u ||L_exact|| (c = 8 covers its few roundings per entry).
  const double u = 0.5 * std::numeric_limits<double>::epsilon();
  std::vector<double> updated = {std::sqrt(5.0), 4.0 / std::sqrt(5.0), 0.0, std::sqrt(7.0 - 16.0 / 5.0)};
  EXPECT_LE(norm_of_difference(factor, updated), 8.0 * 2.0 * u * norm_of(updated));
  x = {1.0, 2.0};
  ASSERT_TRUE(mfac::detail::rank_one_update(2, factor.data(), x.data(), -1.0));
  const std::vector<double> original = {2.0, 1.0, 0.0, std::sqrt(2.0)};
  // The downdate's error is amplified by cond(L) (~4 here).
  EXPECT_LE(norm_of_difference(factor, original), 4.0 * 8.0 * 2.0 * u * norm_of(original));
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
  // A gradient finite in float64 but not in the window's float32 is refused, the window unchanged.
  mfac::SlidingFisherInverse narrow(10, 1, 1e-3, DType::kFloat32);
  std::vector<double> ones(10, 1.0), huge(10, 1e39);
  narrow.update(TensorView(ones.data(), DType::kFloat64, {10}));
  EXPECT_THROW(narrow.update(TensorView(huge.data(), DType::kFloat64, {10})), mlprims::ValueError);
  std::vector<double> solved(10);
  narrow.ihvp(TensorView(ones.data(), DType::kFloat64, {10}), TensorView(solved.data(), DType::kFloat64, {10}));
  // Still F = damp I + 1 1^T, so F^{-1} 1 = 1 / (damp + 10), to the plain product's bound
  // 2 (sqrt(m) + sqrt(d)) u cond(F) with cond(F) = 1 + 10 / damp.
  const std::vector<double> exact(10, 1.0 / (1e-3 + 10.0));
  const double plain = 2.0 * (1.0 + std::sqrt(10.0)) * 0.5 * std::numeric_limits<double>::epsilon() * (1.0 + 1e4);
  EXPECT_LE(norm_of_difference(solved, exact), plain * norm_of(exact));
  // Squares beyond float64 in the static Gram matrix are refused too.
  std::vector<double> large(30, 1e200);
  EXPECT_THROW(mfac::FisherInverse(TensorView(large.data(), DType::kFloat64, {3, 10}), 1.0), mlprims::ValueError);
  EXPECT_THROW(
      mfac::obs_prune(TensorView(w.data(), DType::kFloat64, {10}), finv, 1.0,
                      TensorView(pruned.data(), DType::kFloat64, {10}), TensorView(mask.data(), DType::kBool, {10})),
      mlprims::ValueError);
}
