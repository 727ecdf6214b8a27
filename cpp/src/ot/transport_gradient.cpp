#include "ot/transport_gradient.hpp"

#include "ot/plan_rows.hpp"

namespace mlprims::ot::detail {

void transport_gradient(const CostRows& cost, std::int64_t d, const double* f, const double* g, double reg,
                        double* grad, int threads) {
  for_each_plan_row(cost, f, g, reg, threads, nullptr,
                    [&](std::int64_t i, const double* plan_row, const double*, double, double* scratch) {
                      point_cost_gradient_row(cost, i, plan_row, scratch, grad + i * d);
                    });
}

}  // namespace mlprims::ot::detail
