// log I_v(x) and log K_v(x) where I_v and K_v themselves overflow double precision, on arrays
// through TensorView, and a von Mises-Fisher fit, using the installed mlprims library.
#include <cmath>
#include <cstdio>
#include <vector>

#include "mlprims/core/tensor.hpp"
#include "mlprims/special.hpp"
#include "mlprims/vmf.hpp"

int main() {
  using mlprims::DType;
  using mlprims::TensorView;

  // Orders 0, 10, 1000 against arguments 1, 1e3, 1e5 (broadcast: 3 x 1 against 3).
  std::vector<double> v = {0.0, 10.0, 1000.0};
  std::vector<double> x = {1.0, 1e3, 1e5};
  std::vector<double> log_i(9), log_k(9);
  mlprims::special::log_iv(TensorView(v.data(), DType::kFloat64, {3, 1}), TensorView(x.data(), DType::kFloat64, {3}),
                           TensorView(log_i.data(), DType::kFloat64, {3, 3}));
  mlprims::special::log_kv(TensorView(v.data(), DType::kFloat64, {3, 1}), TensorView(x.data(), DType::kFloat64, {3}),
                           TensorView(log_k.data(), DType::kFloat64, {3, 3}));
  std::printf("%8s %10s %24s %24s\n", "v", "x", "log I_v(x)", "log K_v(x)");
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      std::printf("%8g %10g %24.17g %24.17g\n", v[i], x[j], log_i[i * 3 + j], log_k[i * 3 + j]);
    }
  }

  // A von Mises-Fisher fit to four directions in R^3.
  std::vector<double> points = {1, 0, 0, 0, 1, 0, 0.6, 0.8, 0, 0.8, 0.6, 0};
  std::vector<double> mu(3);
  const mlprims::vmf::FitResult fit = mlprims::vmf::fit(TensorView(points.data(), DType::kFloat64, {4, 3}), nullptr,
                                                        TensorView(mu.data(), DType::kFloat64, {3}));
  std::printf("vMF fit: mu = (%.6f, %.6f, %.6f), kappa = %.6f after %d iterations\n", mu[0], mu[1], mu[2], fit.kappa,
              fit.iterations);

  // Sanity checks so that a broken install fails loudly: I_0(1) = 1.2660658777520082...
  const bool ok = std::fabs(log_i[0] - std::log(1.2660658777520082)) < 1e-15 && std::isfinite(log_i[8]) &&
                  std::isfinite(log_k[2]) && fit.converged;
  std::printf("%s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
