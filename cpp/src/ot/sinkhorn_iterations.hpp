// Sinkhorn's alternating projections on the dual potentials, in two forms that give the same
// iterates: on a kernel kept in memory next to a dense cost (scaling_sinkhorn: each iteration one
// read of the kernel, exponentials only when it is rebuilt), or fully in the log domain, each
// half-step a c-transform computed from the costs (log_sinkhorn: no n x m memory; point clouds).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "ot/dual_passes.hpp"

namespace mlprims::ot::detail {

// Called after each iteration with the running iteration count and the marginal error of the
// current potentials; returning true stops the run (with f and g at that iterate).
using IterationHook = std::function<bool(std::int64_t iteration, double error)>;

struct SinkhornRun {
  std::int64_t iterations = 0;  // done in this run
  double error = 0.0;           // marginal error of the potentials left in f, g (as iterated)
  bool converged = false;       // error <= tol
};

// What scaling_sinkhorn leaves for the next run on the same problem: its kernel, the potentials
// it was built at and the column scaling of the iteration that comes next. A run that starts from the g the previous
// one returned (a solve that stopped to check whether Newton should start, and went on) resumes
// from these instead of paying a c-transform and a kernel build: n m exponentials each.
struct KernelState {
  std::vector<double> K, f_kernel, g_kernel, v, g_returned;
  double reg = 0.0;
};

// Runs at most max_iter iterations from g (f is overwritten first), leaving in f, g the last
// iterate whose error was measured. `first_iteration` numbers the iterations passed to the hook.
// `state` (may be null; log_sinkhorn ignores it) carries the kernel from run to run.
SinkhornRun scaling_sinkhorn(const CostRows& cost, const Marginals& w, double reg, std::vector<double>& f,
                             std::vector<double>& g, std::int64_t max_iter, double tol, std::int64_t first_iteration,
                             const IterationHook& hook, KernelState* state, int threads);
SinkhornRun log_sinkhorn(const CostRows& cost, const Marginals& w, double reg, std::vector<double>& f,
                         std::vector<double>& g, std::int64_t max_iter, double tol, std::int64_t first_iteration,
                         const IterationHook& hook, KernelState* state, int threads);

}  // namespace mlprims::ot::detail
