// The von Mises-Fisher API in C++: closed forms at p = 3, the kappa solve, fit and log_prob.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "mlprims/core/error.hpp"
#include "mlprims/vmf.hpp"

using mlprims::DType;
using mlprims::TensorView;
namespace vmf = mlprims::vmf;

TEST(Vmf, NormalizerClosedFormOnTheTwoSphere) {
  const double pi = 3.141592653589793;
  EXPECT_NEAR(vmf::log_normalizer(0.0, 3), -std::log(4 * pi), 1e-15);
  for (double kappa : {1e-3, 0.5, 2.0, 30.0, 300.0}) {
    // C_3(kappa) = kappa / (4 pi sinh kappa), written stably as log(kappa/(2 pi (1 - e^{-2k}))) - kappa
    const double expected = std::log(kappa / (2 * pi * -std::expm1(-2 * kappa))) - kappa;
    EXPECT_NEAR(vmf::log_normalizer(kappa, 3), expected, 1e-14 * std::max(1.0, std::fabs(expected))) << kappa;
    // A_3(kappa) = coth(kappa) - 1/kappa
    EXPECT_NEAR(vmf::mean_resultant_length(kappa, 3), 1.0 / std::tanh(kappa) - 1.0 / kappa, 1e-14) << kappa;
  }
  EXPECT_THROW(vmf::log_normalizer(1.0, 1), mlprims::ValueError);
  EXPECT_THROW(vmf::log_normalizer(1.0, vmf::kMaxDim + 1), mlprims::ValueError);
  EXPECT_NO_THROW(vmf::log_normalizer(1.0, vmf::kMaxDim));
}

TEST(Vmf, KappaRoundTrip) {
  for (std::int64_t p : {2, 3, 10, 1000, 100000}) {
    for (double kappa : {1e-3, 1.0, 57.0, 4e3, 1e6}) {
      const double rbar = vmf::mean_resultant_length(kappa, p);
      const vmf::KappaEstimate e = vmf::kappa_mle(rbar, p);
      EXPECT_TRUE(e.converged);
      EXPECT_NEAR(e.kappa / kappa, 1.0, 1e-9) << "p=" << p << " kappa=" << kappa;
      // The reported residual is that of the kappa returned: a few ulps of min(rbar, 1 - rbar).
      EXPECT_LE(e.error, 16 * 2.220446049250313e-16 * std::min(rbar, 1.0 - rbar)) << "p=" << p << " kappa=" << kappa;
    }
  }
  EXPECT_THROW(vmf::kappa_mle(-0.1, 3), mlprims::ValueError);
}

TEST(Vmf, FitAndLogProb) {
  // Three unit vectors in R^3 around the z axis.
  const double s = std::sqrt(0.5);
  std::vector<double> X = {s, 0, s, 0, s, s, 0, 0, 1};
  std::vector<double> mu(3);
  const TensorView points(X.data(), DType::kFloat64, {3, 3});
  const vmf::FitResult fit = vmf::fit(points, nullptr, TensorView(mu.data(), DType::kFloat64, {3}));
  const double sx = s, sy = s, sz = 2 * s + 1;
  const double norm = std::sqrt(sx * sx + sy * sy + sz * sz);
  EXPECT_NEAR(mu[0], sx / norm, 1e-15);
  EXPECT_NEAR(mu[2], sz / norm, 1e-15);
  EXPECT_NEAR(fit.mean_resultant_length, norm / 3, 1e-15);
  EXPECT_NEAR(vmf::mean_resultant_length(fit.kappa, 3), fit.mean_resultant_length, 1e-14);

  std::vector<double> out(3);
  vmf::log_prob(points, TensorView(mu.data(), DType::kFloat64, {3}), fit.kappa,
                TensorView(out.data(), DType::kFloat64, {3}));
  for (int i = 0; i < 3; ++i) {
    const double dot = X[3 * i] * mu[0] + X[3 * i + 1] * mu[1] + X[3 * i + 2] * mu[2];
    EXPECT_NEAR(out[i], vmf::log_normalizer(fit.kappa, 3) + fit.kappa * dot, 1e-13);
  }

  std::vector<double> not_unit = {1, 1, 0};
  EXPECT_THROW(vmf::fit(TensorView(not_unit.data(), DType::kFloat64, {1, 3}), nullptr,
                        TensorView(mu.data(), DType::kFloat64, {3})),
               mlprims::ValueError);
  std::vector<double> weights = {1, -1, 1};
  const TensorView w(weights.data(), DType::kFloat64, {3});
  EXPECT_THROW(vmf::fit(points, &w, TensorView(mu.data(), DType::kFloat64, {3})), mlprims::ValueError);
}

TEST(Vmf, UnitNormToleranceFollowsTheStoredDtype) {
  // max(floor, 4u) with unit roundoff u = 2^-11 (float16), 2^-8 (bfloat16), 2^-24, 2^-53.
  EXPECT_EQ(vmf::unit_norm_tolerance(DType::kFloat16), std::ldexp(1.0, -9));
  EXPECT_EQ(vmf::unit_norm_tolerance(DType::kBFloat16), std::ldexp(1.0, -6));
  EXPECT_EQ(vmf::unit_norm_tolerance(DType::kFloat32), 1e-4);
  EXPECT_EQ(vmf::unit_norm_tolerance(DType::kFloat64), 1e-5);
  EXPECT_THROW(vmf::unit_norm_tolerance(DType::kInt32), mlprims::TypeError);

  // A row of norm 1 + 1e-3 read as float32: rejected as float32 data, accepted as widened float16.
  std::vector<float> row = {1.001f, 0.0f};
  std::vector<float> mu(2);
  const TensorView X(row.data(), DType::kFloat32, {1, 2});
  const TensorView mu_out(mu.data(), DType::kFloat32, {2});
  EXPECT_THROW(vmf::fit(X, nullptr, mu_out), mlprims::ValueError);
  EXPECT_THROW(vmf::fit(X, nullptr, mu_out, DType::kFloat32), mlprims::ValueError);
  EXPECT_NO_THROW(vmf::fit(X, nullptr, mu_out, DType::kFloat16));
  EXPECT_EQ(mu[0], 1.0f);
  std::vector<float> out(1);
  const TensorView direction(mu.data(), DType::kFloat32, {2});
  EXPECT_THROW(vmf::log_prob(X, direction, 1.0, TensorView(out.data(), DType::kFloat32, {1})), mlprims::ValueError);
  EXPECT_NO_THROW(
      vmf::log_prob(X, direction, 1.0, TensorView(out.data(), DType::kFloat32, {1}), DType::kFloat16, DType::kFloat32));
  EXPECT_THROW(vmf::fit(X, nullptr, mu_out, DType::kInt8), mlprims::TypeError);
}
