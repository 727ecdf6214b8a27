#include "ot/transport_gradient.hpp"

#include <algorithm>
#include <vector>

#include "core/parallel.hpp"
#include "linalg/exp_sums.hpp"

namespace mlprims::ot::detail {

void transport_gradient(const CostRows& cost, std::int64_t d, const double* f, const double* g, double reg,
                        double* grad, int threads) {
  const std::int64_t n = cost.rows(), m = cost.cols();
  const double inv_reg = 1.0 / reg;
  std::vector<double> g_scaled(static_cast<std::size_t>(m));
  for (std::int64_t j = 0; j < m; ++j) g_scaled[j] = g[j] * inv_reg;
  const int used = std::min(threads, mlprims::detail::threads_for(n * m, 1 << 15));
#pragma omp parallel num_threads(used)
  {
    std::vector<double> plan_row(static_cast<std::size_t>(m)), scratch(static_cast<std::size_t>(m));
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      const double* c = cost.row(i, scratch.data());
      linalg::exp_affine(m, c, -inv_reg, g_scaled.data(), f[i] * inv_reg, plan_row.data());
      point_cost_gradient_row(cost, i, plan_row.data(), scratch.data(), grad + i * d);
    }
  }
}

}  // namespace mlprims::ot::detail
