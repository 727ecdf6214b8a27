#include "ot/transport_gradient.hpp"

#include <algorithm>
#include <vector>

#include "core/math/elementary.hpp"
#include "core/parallel.hpp"

namespace mlprims::ot::detail {

void transport_gradient(const CostRows& cost, std::int64_t d, const double* f, const double* g, double reg,
                        double* grad, int threads) {
  const std::int64_t n = cost.rows(), m = cost.cols();
  const int used = std::min(threads, mlprims::detail::threads_for(n * m, 1 << 15));
#pragma omp parallel num_threads(used)
  {
    std::vector<double> plan_row(static_cast<std::size_t>(m)), scratch(static_cast<std::size_t>(m));
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      const double* c = cost.row(i, scratch.data());
      for (std::int64_t j = 0; j < m; ++j) plan_row[j] = mlprims::detail::exp_flush_to_zero((f[i] + g[j] - c[j]) / reg);
      point_cost_gradient_row(cost, i, plan_row.data(), scratch.data(), grad + i * d);
    }
  }
}

}  // namespace mlprims::ot::detail
