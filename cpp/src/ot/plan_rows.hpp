// The plan P_ij = exp((f_i + g_j - C_ij) / reg) one row at a time, rows split over threads: the
// walk that builds Sinkhorn's kernel, evaluates a plan and takes transport gradients.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/parallel.hpp"
#include "linalg/exp_sums.hpp"
#include "ot/cost_rows.hpp"

namespace mlprims::ot::detail {

// Threads for_each_plan_row uses: sizes per-thread state indexed by mlprims::detail::thread_index().
inline int plan_row_threads(const CostRows& cost, int threads) {
  return std::min(threads, mlprims::detail::threads_for(cost.rows() * cost.cols(), 1 << 15));
}

// visit(i, plan_row, cost_row, row_sum, scratch) for each row i, on the thread that computed it.
// plan_row is row i of `into` (n x m, row-major) when given, else a buffer of the thread's;
// scratch (m doubles) is the thread's and free once the visit starts (cost_row may live in it).
template <class Visit>
void for_each_plan_row(const CostRows& cost, const double* f, const double* g, double reg, int threads, double* into,
                       Visit&& visit) {
  const std::int64_t n = cost.rows(), m = cost.cols();
  const double inv_reg = 1.0 / reg;
  std::vector<double> g_scaled(static_cast<std::size_t>(m));
  for (std::int64_t j = 0; j < m; ++j) g_scaled[j] = g[j] * inv_reg;
#pragma omp parallel num_threads(plan_row_threads(cost, threads))
  {
    std::vector<double> scratch(static_cast<std::size_t>(m)), buffer(into == nullptr ? m : 0);
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      const double* c = cost.row(i, scratch.data());
      double* row = into != nullptr ? into + i * m : buffer.data();
      const double row_sum = linalg::exp_affine(m, c, -inv_reg, g_scaled.data(), f[i] * inv_reg, row);
      visit(i, static_cast<const double*>(row), c, row_sum, scratch.data());
    }
  }
}

}  // namespace mlprims::ot::detail
