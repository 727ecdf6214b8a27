// Entropic optimal transport between two 2-D point clouds with the installed mlprims library: the
// same problem solved by log-stable Sinkhorn and by Sinkhorn-Newton-Sparse, which must agree.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "mlprims/core/tensor.hpp"
#include "mlprims/ot.hpp"

int main() {
  using mlprims::DType;
  using mlprims::TensorView;
  namespace ot = mlprims::ot;
  constexpr std::int64_t n = 200, d = 2;
  constexpr double reg = 1e-2;

  // x uniform on the unit square, y on the square shifted by (0.5, 0.5).
  std::mt19937_64 engine(7);
  std::uniform_real_distribution<double> uniform;
  std::vector<double> x(n * d), y(n * d);
  for (double& value : x) value = uniform(engine);
  for (double& value : y) value = 0.5 + uniform(engine);

  // Squared Euclidean costs scaled to max 1, so that reg is relative to the cost range.
  std::vector<double> C(n * n);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      double squared = 0.0;
      for (std::int64_t k = 0; k < d; ++k) squared += (x[i * d + k] - y[j * d + k]) * (x[i * d + k] - y[j * d + k]);
      C[i * n + j] = squared;
    }
  }
  const double largest = *std::max_element(C.begin(), C.end());
  for (double& value : C) value /= largest;

  // A tolerance well below 1e-9: the objective's error is about marginal error * max|potential|.
  mlprims::IterativeOptions iteration;
  iteration.tol = 1e-12;
  std::vector<double> f(n), g(n);
  const TensorView costs(C.data(), DType::kFloat64, {n, n});
  const auto solve = [&](ot::Method method) {
    ot::SinkhornOptions options;
    options.method = method;
    // Empty a and b: uniform weights 1/n.
    return ot::sinkhorn({}, {}, costs, reg, TensorView(f.data(), DType::kFloat64, {n}),
                        TensorView(g.data(), DType::kFloat64, {n}), iteration, options)[0];
  };
  const ot::SinkhornResult sinkhorn = solve(ot::Method::kSinkhorn);
  // At this reg each row of the plan spreads over tens of points: SNS widens its sparse Hessian
  // (10 entries a row at first) until it holds 0.9 of the plan, then takes Newton steps.
  const ot::SinkhornResult sns = solve(ot::Method::kSns);

  std::printf("entropic OT, n = m = %lld points in 2-D, squared Euclidean costs / max, reg = %g\n",
              static_cast<long long>(n), reg);
  std::printf("%-9s %9s %7s %5s %14s %24s\n", "method", "sinkhorn", "newton", "cg", "marginal error", "objective");
  const auto report = [](const char* name, const ot::SinkhornResult& r) {
    std::printf("%-9s %9lld %7lld %5lld %14.2e %24.17g\n", name, static_cast<long long>(r.sinkhorn_iterations),
                static_cast<long long>(r.newton_iterations), static_cast<long long>(r.cg_iterations), r.error,
                r.objective);
  };
  report("sinkhorn", sinkhorn);
  report("sns", sns);
  const double relative = std::fabs(sinkhorn.objective - sns.objective) / std::fabs(sinkhorn.objective);
  std::printf("relative objective difference %.2e\n", relative);

  const bool ok = sinkhorn.converged && sns.converged && relative < 1e-9;
  std::printf("%s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
