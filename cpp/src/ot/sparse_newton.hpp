// One step of Sinkhorn-Newton-Sparse (Tang et al., ICLR 2024) on the concave dual
//   F(f, g) = <a, f> + <b, g> - reg sum_ij exp((f_i + g_j - C_ij) / reg),
// whose Hessian is -(1/reg) [[diag(P 1), P], [P^T, diag(P^T 1)]]. The step solves the system with P's
// off-diagonal blocks replaced by their largest entries (the `kept` part of the plan evaluation)
// and the diagonal blocks kept whole: that matrix is positive definite, so the step is an ascent
// direction whatever was dropped. The (1, -1) shift along which F is flat is removed by holding
// the last g fixed; the system is solved by conjugate gradient preconditioned with the diagonal,
// or, where that does not converge and the shorter side has at most `direct_max_size` potentials,
// by a dense Cholesky factorization of its Schur complement.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "ot/dual_passes.hpp"

namespace mlprims::ot::detail {

struct NewtonSettings {
  std::int64_t keep_per_row = 2;
  double cg_tol = -1.0;  // relative residual; -1: min(0.1, sqrt(marginal error)), at least 1e-12
  std::int64_t cg_max_iter = 500;
  // Largest min(n, m) for the direct solve: its dense factor takes 8 min(n, m)^2 bytes and
  // min(n, m)^3 / 3 flops (72 MB and ~1 s on one core at 3000).
  std::int64_t direct_max_size = 3000;

  // Whether a problem of n x m is small enough for the direct solve.
  bool direct_fits(std::int64_t n, std::int64_t m) const { return std::min(n, m) <= direct_max_size; }
  double armijo = 1e-4;
  std::int64_t max_line_search = 30;
};

struct NewtonOutcome {
  bool accepted = false;
  std::int64_t cg_iterations = 0;
  bool direct = false;   // the step came from the direct solve
  double step_size = 0;  // the line search's accepted fraction of the Newton step
};

// From (f, g) with its evaluation `current` (kept entries included): on success f, g and current
// become the accepted point and its evaluation. A trial point is accepted when it raises F by the
// Armijo fraction of the predicted increase, or, where F's change is within its rounding, when
// it lowers the marginal error. direct_first: skip CG for the direct solve where its size allows.
NewtonOutcome newton_step(const CostRows& cost, const Marginals& w, double reg, std::vector<double>& f,
                          std::vector<double>& g, PlanEvaluation& current, const NewtonSettings& settings,
                          bool direct_first, int threads);

}  // namespace mlprims::ot::detail
