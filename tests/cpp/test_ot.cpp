// The CPU building blocks under mlprims::ot (log-sum-exp reductions, sparse products, top entries
// of a row) against plain loops, and the C++ API of mlprims/ot.hpp against its own definitions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/instruction_set.hpp"
#include "core/top_entries.hpp"
#include "linalg/exp_sums.hpp"
#include "linalg/kernel_rows.hpp"
#include "linalg/log_sum_exp.hpp"
#include "linalg/sparse_matrix.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/ot.hpp"

namespace {

namespace linalg = mlprims::linalg;

std::vector<double> uniform(std::int64_t count, double lo, double hi, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(static_cast<std::size_t>(count));
  for (double& x : v) x = dist(rng);
  return v;
}

// log sum exp by long double with the maximum factored out: the plain reference.
double reference_lse(const std::vector<double>& z) {
  double top = -std::numeric_limits<double>::infinity();
  for (const double x : z) top = std::max(top, x);
  long double sum = 0;
  for (const double x : z) sum += std::exp(static_cast<long double>(x - top));
  return static_cast<double>(std::log(sum)) + top;
}

TEST(LogSumExp, RowsAndColumnsMatchTheReferenceAtScalesThatOverflowExp) {
  const std::int64_t n = 37, m = 300;  // m > one column block
  const std::vector<double> C = uniform(n * m, 0.0, 1.0, 1), row_bias = uniform(n, -5, 5, 2),
                            col_bias = uniform(m, -5, 5, 3);
  for (const double scale : {-1.0, -1e4, 1e4}) {  // exp(1e4) overflows: only a shifted sum works
    std::vector<double> rows(n), cols(m);
    linalg::log_sum_exp_rows(n, m, C.data(), m, scale, col_bias.data(), rows.data(), 2);
    linalg::log_sum_exp_columns(n, m, C.data(), m, scale, row_bias.data(), cols.data(), 2);
    for (std::int64_t i = 0; i < n; ++i) {
      std::vector<double> z(m);
      for (std::int64_t j = 0; j < m; ++j) z[j] = scale * C[i * m + j] + col_bias[j];
      EXPECT_NEAR(rows[i], reference_lse(z), 1e-12 * std::max(1.0, std::fabs(reference_lse(z))));
    }
    for (std::int64_t j = 0; j < m; ++j) {
      std::vector<double> z(n);
      for (std::int64_t i = 0; i < n; ++i) z[i] = scale * C[i * m + j] + row_bias[i];
      EXPECT_NEAR(cols[j], reference_lse(z), 1e-12 * std::max(1.0, std::fabs(reference_lse(z))));
    }
  }
}

TEST(LogSumExp, AllMinusInfinityIsMinusInfinityAndNaNPropagates) {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> c = {1.0, 2.0, 3.0}, bias = {-inf, -inf, -inf};
  EXPECT_EQ(linalg::log_sum_exp_row(3, c.data(), 1.0, bias.data()), -inf);
  const std::vector<double> with_nan = {1.0, std::nan(""), 3.0};
  EXPECT_TRUE(std::isnan(linalg::log_sum_exp_row(3, with_nan.data(), 1.0, nullptr)));
}

TEST(KernelRows, EveryVariantTheCpuRunsMatchesALongDoubleReference) {
  const std::int64_t m = 1003;  // not a multiple of any vector width
  const std::vector<double> k = uniform(m, 0.0, 2.0, 31), v = uniform(m, 0.1, 3.0, 32), start = uniform(m, -1, 1, 33);
  using Kernel = double (*)(std::int64_t, const double*, const double*, double, double*);
  std::vector<Kernel> variants = {linalg::dot_then_accumulate, linalg::baseline::dot_then_accumulate};
  const auto best = mlprims::detail::best_instruction_set();
  if (best != mlprims::detail::InstructionSet::kBaseline) variants.push_back(linalg::x86_64_v3::dot_then_accumulate);
  if (best == mlprims::detail::InstructionSet::kX86_64_V4) variants.push_back(linalg::x86_64_v4::dot_then_accumulate);
  long double dot = 0.0L;
  for (std::int64_t j = 0; j < m; ++j) dot += static_cast<long double>(k[j]) * v[j];
  const double eps = std::numeric_limits<double>::epsilon();
  for (Kernel kernel : variants) {
    std::vector<double> out = start;
    const double s = kernel(m, k.data(), v.data(), 0.7, out.data());
    // positive terms: any summation order (with or without FMA) is within (m + 1) eps of the sum
    EXPECT_NEAR(s, static_cast<double>(dot), (m + 1) * eps * static_cast<double>(dot));
    const double scale = 0.7 / s;
    for (std::int64_t j = 0; j < m; ++j) {
      const double expected = start[j] + scale * k[j];
      EXPECT_NEAR(out[j], expected, 2 * eps * (std::fabs(start[j]) + scale * k[j])) << j;
    }
  }
}

TEST(ExpSums, EveryVariantTheCpuRunsMatchesStdExp) {
  // Arguments across the whole range, the flushed tail (< -708) and the overflow included.
  std::vector<double> c = uniform(1001, -800.0, 760.0, 21), bias = uniform(1001, -1.0, 1.0, 22);
  c[3] = 1e300;
  using Sum = double (*)(std::int64_t, const double*, double, const double*, double);
  using Store = double (*)(std::int64_t, const double*, double, const double*, double, double*);
  std::vector<std::pair<Sum, Store>> variants = {{linalg::sum_exp_affine, linalg::exp_affine},
                                                 {linalg::baseline::sum_exp_affine, linalg::baseline::exp_affine}};
  const auto best = mlprims::detail::best_instruction_set();
  if (best != mlprims::detail::InstructionSet::kBaseline)
    variants.emplace_back(linalg::x86_64_v3::sum_exp_affine, linalg::x86_64_v3::exp_affine);
  if (best == mlprims::detail::InstructionSet::kX86_64_V4)
    variants.emplace_back(linalg::x86_64_v4::sum_exp_affine, linalg::x86_64_v4::exp_affine);
  for (const auto& [sum_exp, store_exp] : variants) {
    // Finite sums: the terms below 0 after the shift, as log-sum-exp uses it.
    const std::int64_t m = 1000;  // c[1000] left out: the sum without it stays finite
    std::vector<double> shifted(c.begin(), c.begin() + m);
    shifted[3] = -1e300;
    long double expected = 0.0L;
    for (std::int64_t j = 0; j < m; ++j) {
      const double z = 0.5 * shifted[j] + bias[j] - 400.0;
      expected += z < -708.0 ? 0.0L : std::exp(static_cast<long double>(z));
    }
    const double got = sum_exp(m, shifted.data(), 0.5, bias.data(), 400.0);
    // positive terms, each within 2 ulps: any summation order is within (m + 2) eps of the sum
    const double eps = std::numeric_limits<double>::epsilon();
    EXPECT_NEAR(got, static_cast<double>(expected), (m + 2) * eps * static_cast<double>(expected));
    std::vector<double> out(c.size());
    store_exp(static_cast<std::int64_t>(c.size()), c.data(), -1.0, nullptr, 2.0, out.data());
    for (std::size_t j = 0; j < c.size(); ++j) {
      const double z = -c[j] + 2.0;
      if (z < -708.0) {
        EXPECT_EQ(out[j], 0.0) << j;
      } else if (z > 708.0) {  // documented: inf past 708 (exp(709.78) is the largest double)
        EXPECT_TRUE(std::isinf(out[j])) << j;
      } else {
        EXPECT_NEAR(out[j], std::exp(z), 4e-16 * std::exp(z)) << j;
      }
    }
    std::vector<double> big = {710.0, std::numeric_limits<double>::quiet_NaN()};
    store_exp(2, big.data(), 1.0, nullptr, 0.0, out.data());
    EXPECT_TRUE(std::isinf(out[0]) && out[0] > 0);
    EXPECT_TRUE(std::isnan(out[1]));
  }
}

TEST(SparseMatrix, ProductsAndTransposeMatchDense) {
  linalg::CsrMatrix A;
  A.rows = 3;
  A.cols = 4;
  A.row_start = {0, 2, 2, 5};
  A.column = {3, 0, 1, 2, 0};
  A.value = {1.5, -2.0, 4.0, 0.5, 3.0};
  const std::vector<double> x = {1, 2, 3, 4}, u = {1, -1, 2};
  std::vector<double> y(3), z(4);
  linalg::csr_multiply(A, x.data(), y.data(), 2);
  EXPECT_EQ(y, (std::vector<double>{1.5 * 4 - 2.0, 0.0, 4.0 * 2 + 0.5 * 3 + 3.0}));
  const linalg::CsrMatrix T = linalg::csr_transpose(A);
  linalg::csr_multiply(T, u.data(), z.data(), 2);
  EXPECT_EQ(z, (std::vector<double>{-2.0 + 3.0 * 2, 4.0 * 2, 0.5 * 2, 1.5}));
}

TEST(TopEntries, LargestWithTiesToTheLowerPositionByScanAndBySelection) {
  const std::vector<double> v = {3, 7, 7, 1, std::nan(""), 9, 7, 2};
  mlprims::detail::LargestEntriesScratch scratch;
  for (const std::int64_t k : {1, 3, 4}) {
    std::vector<std::int64_t> got(static_cast<std::size_t>(k));
    mlprims::detail::largest_entries(8, v.data(), k, got.data(), scratch);
    std::sort(got.begin(), got.end());
    const std::vector<std::vector<std::int64_t>> expected = {{5}, {1, 2, 5}, {1, 2, 5, 6}};
    EXPECT_EQ(got, expected[k == 1 ? 0 : (k == 3 ? 1 : 2)]);
  }
  // The selection path (k above the scan's limit) agrees with sorting.
  const std::vector<double> many = uniform(1000, 0, 1, 5);
  std::vector<std::int64_t> got(40), order(1000);
  mlprims::detail::largest_entries(1000, many.data(), 40, got.data(), scratch);
  for (std::int64_t i = 0; i < 1000; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return many[a] > many[b]; });
  std::sort(got.begin(), got.end());
  std::vector<std::int64_t> top(order.begin(), order.begin() + 40);
  std::sort(top.begin(), top.end());
  EXPECT_EQ(got, top);
}

// The threshold path (k above the scan's limit) on rows like a plan's and on the rows it must
// hand back: ties at the k-th value, zeros, negatives, NaN, subnormals, a flat row, and rows
// whose k-th value lies much further below the largest than the previous row's did.
TEST(TopEntries, ThresholdSelectionEqualsSortingOnAwkwardRows) {
  const auto by_sorting = [](const std::vector<double>& v, std::int64_t k) {
    std::vector<std::int64_t> order(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) order[i] = static_cast<std::int64_t>(i);
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
      const bool nan_a = std::isnan(v[a]), nan_b = std::isnan(v[b]);
      if (nan_a || nan_b) return !nan_a && nan_b;
      return v[a] > v[b];
    });
    order.resize(static_cast<std::size_t>(k));
    std::sort(order.begin(), order.end());
    return order;
  };
  std::vector<std::vector<double>> rows;
  std::vector<double> plan_like = uniform(500, -700, 0, 11);
  for (double& x : plan_like) x = std::exp(x / 10.0);
  rows.push_back(plan_like);
  std::vector<double> steeper = plan_like;  // the k-th value 2^-300 below the largest
  for (double& x : steeper) x = std::pow(x, 30.0);
  rows.push_back(steeper);
  std::vector<double> ties = plan_like;
  for (std::size_t i = 0; i < ties.size(); i += 3) ties[i] = 0.5;
  rows.push_back(ties);
  std::vector<double> awkward = plan_like;
  for (std::size_t i = 0; i < awkward.size(); i += 4) awkward[i] = 0.0;
  for (std::size_t i = 1; i < awkward.size(); i += 7) awkward[i] = -1.0;
  for (std::size_t i = 2; i < awkward.size(); i += 9) awkward[i] = std::nan("");
  for (std::size_t i = 3; i < awkward.size(); i += 11) awkward[i] = 4.9e-324 * static_cast<double>(i);
  rows.push_back(awkward);
  rows.push_back(std::vector<double>(500, 0.25));  // flat
  std::vector<double> few_positive(500, -2.0);     // fewer positives than k: the full selection
  for (std::size_t i = 0; i < 20; ++i) few_positive[i * 13] = 1.0 + static_cast<double>(i);
  few_positive[7] = std::nan("");
  rows.push_back(few_positive);
  mlprims::detail::LargestEntriesScratch scratch;  // carried from row to row, as in a plan
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t r = 0; r < rows.size(); ++r) {
      for (const std::int64_t k : {17, 40, 499}) {
        std::vector<std::int64_t> got(static_cast<std::size_t>(k));
        mlprims::detail::largest_entries(500, rows[r].data(), k, got.data(), scratch);
        std::sort(got.begin(), got.end());
        EXPECT_EQ(got, by_sorting(rows[r], k)) << "row " << r << ", k = " << k;
      }
    }
  }
}

// One dense solve with uniform weights: f and g receive the potentials.
mlprims::ot::SinkhornResult solve_uniform(const std::vector<double>& C, std::int64_t n, std::int64_t m, double reg,
                                          mlprims::ot::Method method, std::vector<double>& f, std::vector<double>& g,
                                          const mlprims::IterativeOptions& iteration = {}) {
  f.assign(static_cast<std::size_t>(n), 0.0);
  g.assign(static_cast<std::size_t>(m), 0.0);
  mlprims::ot::SinkhornOptions options;
  options.method = method;
  const auto results =
      mlprims::ot::sinkhorn({}, {}, mlprims::TensorView(C.data(), mlprims::DType::kFloat64, {n, m}), reg,
                            mlprims::TensorView(f.data(), mlprims::DType::kFloat64, {n}),
                            mlprims::TensorView(g.data(), mlprims::DType::kFloat64, {m}), iteration, options);
  EXPECT_EQ(results.size(), 1u);
  return results.at(0);
}

TEST(Sinkhorn, ThePlanOfThePotentialsHasTheReportedMarginalErrorForBothMethods) {
  const std::int64_t n = 60, m = 50;
  const std::vector<double> C = uniform(n * m, 0, 1, 7);
  for (const auto method : {mlprims::ot::Method::kSinkhorn, mlprims::ot::Method::kSns}) {
    std::vector<double> f, g;
    const mlprims::ot::SinkhornResult result = solve_uniform(C, n, m, 2e-3, method, f, g);
    EXPECT_TRUE(result.converged);
    double error = 0.0;
    std::vector<double> cols(m, 0.0);
    for (std::int64_t i = 0; i < n; ++i) {
      double row = 0.0;
      for (std::int64_t j = 0; j < m; ++j) {
        const double p = std::exp((f[i] + g[j] - C[i * m + j]) / 2e-3);
        row += p;
        cols[j] += p;
      }
      error += std::fabs(row - 1.0 / n);
    }
    for (std::int64_t j = 0; j < m; ++j) error += std::fabs(cols[j] - 1.0 / m);
    EXPECT_LE(error, 1e-9);
    EXPECT_NEAR(result.error, error, 1e-13);
  }
}

TEST(TransportGradient, MatchesTheDenseSumsForBothCosts) {
  const std::int64_t n = 7, m = 5, d = 3;
  const double reg = 0.3;
  const std::vector<double> x = uniform(n * d, 0, 1, 11), y = uniform(m * d, 0, 1, 12);
  const std::vector<double> f = uniform(n, -0.5, 0.5, 13), g = uniform(m, -0.5, 0.5, 14);
  using mlprims::DType;
  using mlprims::TensorView;
  for (const auto cost : {mlprims::ot::PointCost::kSqEuclidean, mlprims::ot::PointCost::kEuclidean}) {
    std::vector<double> gx(n * d), gy(m * d), ex(n * d, 0.0), ey(m * d, 0.0);
    mlprims::ot::transport_gradient_points(
        TensorView(x.data(), DType::kFloat64, {n, d}), TensorView(y.data(), DType::kFloat64, {m, d}),
        TensorView(f.data(), DType::kFloat64, {n}), TensorView(g.data(), DType::kFloat64, {m}), reg, cost,
        TensorView(gx.data(), DType::kFloat64, {n, d}), TensorView(gy.data(), DType::kFloat64, {m, d}));
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < m; ++j) {
        double squared = 0.0;
        for (std::int64_t k = 0; k < d; ++k) squared += (x[i * d + k] - y[j * d + k]) * (x[i * d + k] - y[j * d + k]);
        const bool sq = cost == mlprims::ot::PointCost::kSqEuclidean;
        const double c = sq ? squared : std::sqrt(squared);
        const double p = std::exp((f[i] + g[j] - c) / reg);
        // d c / d x = 2 (x - y), or (x - y) / |x - y|; d c / d y is its negative
        const double scale = sq ? 2.0 : 1.0 / std::sqrt(squared);
        for (std::int64_t k = 0; k < d; ++k) {
          ex[i * d + k] += p * scale * (x[i * d + k] - y[j * d + k]);
          ey[j * d + k] -= p * scale * (x[i * d + k] - y[j * d + k]);
        }
      }
    }
    for (std::int64_t k = 0; k < n * d; ++k) EXPECT_NEAR(gx[k], ex[k], 1e-13 * (1.0 + std::fabs(ex[k])));
    for (std::int64_t k = 0; k < m * d; ++k) EXPECT_NEAR(gy[k], ey[k], 1e-13 * (1.0 + std::fabs(ey[k])));
  }
}

TEST(Sinkhorn, SmallRegConvergesThroughTheDirectNewtonSolve) {
  // reg 1e-5 of the cost range: epsilon scaling, kernel resumes and the dense Schur-complement
  // solve all run here (the Python tests check the solution against a dense reference).
  const std::int64_t n = 80, m = 70;
  const std::vector<double> C = uniform(n * m, 0, 1, 31);
  for (const auto method : {mlprims::ot::Method::kSns, mlprims::ot::Method::kAuto}) {
    std::vector<double> f, g;
    mlprims::IterativeOptions iteration;
    iteration.tol = 1e-9;
    const mlprims::ot::SinkhornResult result = solve_uniform(C, n, m, 1e-5, method, f, g, iteration);
    EXPECT_TRUE(result.converged);
    EXPECT_LE(result.error, 1e-9);
    EXPECT_GT(result.newton_iterations, 0);
  }
}

TEST(Sinkhorn, BadRegularizationNamesTheArgument) {
  std::vector<double> C(6, 0.5), f(2), g(3);
  try {
    mlprims::ot::sinkhorn({}, {}, mlprims::TensorView(C.data(), mlprims::DType::kFloat64, {2, 3}), -1.0,
                          mlprims::TensorView(f.data(), mlprims::DType::kFloat64, {2}),
                          mlprims::TensorView(g.data(), mlprims::DType::kFloat64, {3}));
    FAIL() << "no error";
  } catch (const mlprims::ValueError& error) {
    EXPECT_NE(std::string(error.what()).find("sinkhorn: 'reg' must be positive and finite, got -1"), std::string::npos);
  }
}

}  // namespace
