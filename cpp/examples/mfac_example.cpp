// Inverse-Fisher products with M-FAC from the installed mlprims library: F = damp I + G^T G / m
// for m gradients of length d, then y = F^{-1} g for a stored gradient, checked by applying F.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "mlprims/core/tensor.hpp"
#include "mlprims/mfac.hpp"

int main() {
  using mlprims::DType;
  using mlprims::TensorView;
  constexpr std::int64_t m = 32, d = 10000;
  constexpr double damp = 1e-4;

  std::mt19937_64 engine(7);
  std::normal_distribution<float> normal;
  std::vector<float> grads(m * d);  // row i is gradient i
  for (float& value : grads) value = normal(engine);

  const mlprims::mfac::FisherInverse finv(TensorView(grads.data(), DType::kFloat32, {m, d}), damp);
  std::vector<double> g(grads.begin(), grads.begin() + d), y(d);
  const mlprims::mfac::SolveInfo info =
      finv.ihvp(TensorView(g.data(), DType::kFloat64, {d}), TensorView(y.data(), DType::kFloat64, {d}), true);

  // F y = damp y + G^T (G y) / m, in double.
  std::vector<double> projection(m, 0.0), fy(d);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < d; ++j) projection[i] += grads[i * d + j] * y[j];
  }
  double residual = 0, norm = 0;
  for (std::int64_t j = 0; j < d; ++j) {
    fy[j] = damp * y[j];
    for (std::int64_t i = 0; i < m; ++i) fy[j] += grads[i * d + j] * projection[i] / m;
    residual += (fy[j] - g[j]) * (fy[j] - g[j]);
    norm += g[j] * g[j];
  }
  const double relative_residual = std::sqrt(residual / norm);
  std::printf("M-FAC: m = %lld, d = %lld, ||F y - g|| / ||g|| = %.2e (backward error estimate %.2e, %d corrections)\n",
              static_cast<long long>(m), static_cast<long long>(d), relative_residual, info.backward_error,
              info.refinement_steps);
  const bool ok = relative_residual < 1e-10;
  std::printf("%s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
