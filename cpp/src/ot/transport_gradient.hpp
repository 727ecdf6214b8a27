// The gradient of the transport cost <C, P> in the points of a point-cloud cost at a fixed plan
// P_ij = exp((f_i + g_j - C_ij) / reg), with P computed row by row on the fly (memory O(m) per
// thread). At optimal potentials it is the gradient of the entropic OT value in the points
// (envelope theorem): what sinkhorn_divergence's backward pass needs.
#pragma once

#include <cstdint>

#include "ot/cost_rows.hpp"

namespace mlprims::ot::detail {

// grad (cost.rows(), d), row i = sum_j P_ij grad_x c(x_i, y_j). For the gradient in y, call it on
// the transposed cloud (y, x) with (g, f): the costs here are symmetric in their two points.
void transport_gradient(const CostRows& cost, std::int64_t d, const double* f, const double* g, double reg,
                        double* grad, int threads);

}  // namespace mlprims::ot::detail
