// The C++ API of mlprims/lowrank.hpp on small problems with known answers (the Python tests compare
// against numpy's SVD at scale).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "mlprims/core/error.hpp"
#include "mlprims/lowrank.hpp"

namespace {

using mlprims::DType;
using mlprims::TensorView;
namespace lowrank = mlprims::lowrank;

// W = Q1 diag(5, 3, 2, 1) Q2^T with Householder reflections as the orthogonal factors.
std::vector<double> known_matrix(std::vector<double>& singular) {
  singular = {5, 3, 2, 1};
  const double u[4] = {0.5, 0.5, 0.5, 0.5}, v[4] = {0.8, 0.0, 0.6, 0.0};  // unit vectors
  std::vector<double> w(16, 0.0);
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) {
      double sum = 0.0;
      for (int k = 0; k < 4; ++k) {
        const double q1 = (i == k ? 1.0 : 0.0) - 2 * u[i] * u[k];
        const double q2 = (j == k ? 1.0 : 0.0) - 2 * v[j] * v[k];
        sum += q1 * singular[k] * q2;
      }
      w[i * 4 + j] = sum;
    }
  }
  return w;
}

TEST(Lowrank, TruncatedSvdOfAKnownMatrix) {
  std::vector<double> singular;
  const std::vector<double> w = known_matrix(singular);
  std::vector<double> left(8), right(8), s(2);
  const lowrank::LowRankResult result = lowrank::truncated_svd(
      TensorView(w.data(), DType::kFloat64, {4, 4}), 2, {}, TensorView(left.data(), DType::kFloat64, {4, 2}),
      TensorView(right.data(), DType::kFloat64, {2, 4}), TensorView(s.data(), DType::kFloat64, {2}));
  EXPECT_EQ(result.method, lowrank::SvdMethod::kExact);
  EXPECT_NEAR(s[0], 5.0, 1e-14);
  EXPECT_NEAR(s[1], 3.0, 1e-14);
  // ||W - left right||_F = sqrt(2^2 + 1^2).
  double residual = 0.0;
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) {
      const double e = w[i * 4 + j] - (left[i * 2] * right[j] + left[i * 2 + 1] * right[4 + j]);
      residual += e * e;
    }
  }
  EXPECT_NEAR(std::sqrt(residual), std::sqrt(5.0), 1e-14);
}

TEST(Lowrank, RowWeightsReportTheWeightedError) {
  std::vector<double> singular;
  const std::vector<double> w = known_matrix(singular);
  const std::vector<double> rows = {1.0, 2.0, 0.5, 3.0};
  std::vector<double> left(4), right(4), s(1);
  lowrank::Weights weights;
  weights.row_weights = TensorView(rows.data(), DType::kFloat64, {4});
  const lowrank::LowRankResult result = lowrank::weighted_svd(
      TensorView(w.data(), DType::kFloat64, {4, 4}), 1, weights, {}, TensorView(left.data(), DType::kFloat64, {4, 1}),
      TensorView(right.data(), DType::kFloat64, {1, 4}), TensorView(s.data(), DType::kFloat64, {1}));
  double residual = 0.0;
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) {
      const double e = rows[i] * (w[i * 4 + j] - left[i] * right[j]);
      residual += e * e;
    }
  }
  EXPECT_NEAR(result.error, std::sqrt(residual), 1e-13);
}

TEST(Lowrank, FwsvdWeightsTheInputAxis) {
  std::vector<double> singular;
  const std::vector<double> w = known_matrix(singular);
  std::vector<double> fisher(16);
  for (int i = 0; i < 16; ++i) fisher[i] = 0.1 + (i % 4) * (i % 4) + 0.01 * i;
  std::vector<double> col_weights(4, 0.0);
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) col_weights[j] += fisher[i * 4 + j];
  }
  for (double& value : col_weights) value = std::sqrt(value);
  std::vector<double> left(8), right(8), s(2), left_ref(8), right_ref(8), s_ref(2);
  const TensorView W(w.data(), DType::kFloat64, {4, 4});
  const lowrank::LowRankResult fw = lowrank::fwsvd(
      W, TensorView(fisher.data(), DType::kFloat64, {4, 4}), 2, 1, {}, TensorView(left.data(), DType::kFloat64, {4, 2}),
      TensorView(right.data(), DType::kFloat64, {2, 4}), TensorView(s.data(), DType::kFloat64, {2}));
  lowrank::Weights weights;
  weights.col_weights = TensorView(col_weights.data(), DType::kFloat64, {4});
  const lowrank::LowRankResult reference = lowrank::weighted_svd(
      W, 2, weights, {}, TensorView(left_ref.data(), DType::kFloat64, {4, 2}),
      TensorView(right_ref.data(), DType::kFloat64, {2, 4}), TensorView(s_ref.data(), DType::kFloat64, {2}));
  EXPECT_NEAR(fw.error, reference.error, 1e-14 * reference.error);
  for (int i = 0; i < 2; ++i) EXPECT_NEAR(s[i], s_ref[i], 1e-14 * s_ref[0]);
}

TEST(Lowrank, BadInputThrowsValueError) {
  std::vector<double> w(12, 1.0), left(12), right(12), s(4);
  const TensorView W(w.data(), DType::kFloat64, {3, 4});
  EXPECT_THROW(lowrank::truncated_svd(W, 4, {}, TensorView(left.data(), DType::kFloat64, {3, 4}),
                                      TensorView(right.data(), DType::kFloat64, {4, 4}),
                                      TensorView(s.data(), DType::kFloat64, {4})),
               mlprims::ValueError);  // rank > min(m, n)
  EXPECT_THROW(lowrank::truncated_svd(W, 2, {}, TensorView(left.data(), DType::kFloat64, {3, 3}),
                                      TensorView(right.data(), DType::kFloat64, {2, 4}),
                                      TensorView(s.data(), DType::kFloat64, {2})),
               mlprims::ValueError);  // left has the wrong shape
  std::vector<double> negative = {1.0, -1.0, 1.0};
  lowrank::Weights weights;
  weights.row_weights = TensorView(negative.data(), DType::kFloat64, {3});
  EXPECT_THROW(lowrank::weighted_svd(W, 1, weights, {}, TensorView(left.data(), DType::kFloat64, {3, 1}),
                                     TensorView(right.data(), DType::kFloat64, {1, 4}),
                                     TensorView(s.data(), DType::kFloat64, {1})),
               mlprims::ValueError);
}

// Element-wise weights that are 0/1: a rank-1 matrix seen everywhere but on its diagonal is
// completed exactly (the 0-weight entries do not enter the objective); the objective reaches 0.
TEST(Lowrank, ElementwiseWeightsCompleteARankOneMatrix) {
  const int m = 6, n = 5;
  std::vector<double> w(m * n), weights(m * n, 1.0);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) w[i * n + j] = (i + 1.0) * (j % 2 == 0 ? 1.0 : -0.5);
  }
  for (int i = 0; i < n; ++i) weights[i * n + i] = 0.0;
  lowrank::Weights given;
  given.elementwise = TensorView(weights.data(), DType::kFloat64, {m, n});
  mlprims::IterativeOptions iteration;
  iteration.max_iter = 500;
  iteration.tol = 0.0;
  int calls = 0;
  iteration.callback = [&calls](std::int64_t, double) { return ++calls < 0; };
  std::vector<double> left(m), right(n), s(1);
  const lowrank::LowRankResult result = lowrank::weighted_svd(
      TensorView(w.data(), DType::kFloat64, {m, n}), 1, given, {}, TensorView(left.data(), DType::kFloat64, {m, 1}),
      TensorView(right.data(), DType::kFloat64, {1, n}), TensorView(s.data(), DType::kFloat64, {1}), iteration);
  EXPECT_EQ(calls, result.iterations);
  EXPECT_LT(result.error, 1e-10);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) EXPECT_NEAR(left[i] * right[j], w[i * n + j], 1e-9) << i << "," << j;
  }
}

TEST(Lowrank, ElementwiseWeightsAloneOnly) {
  std::vector<double> singular;
  const std::vector<double> w = known_matrix(singular);
  std::vector<double> weights(16, 1.0), rows(4, 1.0), left(4), right(4), s(1);
  lowrank::Weights given;
  given.elementwise = TensorView(weights.data(), DType::kFloat64, {4, 4});
  given.row_weights = TensorView(rows.data(), DType::kFloat64, {4});
  EXPECT_THROW(lowrank::weighted_svd(TensorView(w.data(), DType::kFloat64, {4, 4}), 1, given, {},
                                     TensorView(left.data(), DType::kFloat64, {4, 1}),
                                     TensorView(right.data(), DType::kFloat64, {1, 4}),
                                     TensorView(s.data(), DType::kFloat64, {1})),
               mlprims::ValueError);
}

}  // namespace
