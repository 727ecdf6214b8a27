// One entropic OT problem solved on a CostRows: the method choice (Sinkhorn, sparse Newton, or
// Sinkhorn until Newton pays), epsilon scaling, the final evaluation of what is returned and
// the normalization of the potentials' shift.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "mlprims/ot.hpp"
#include "ot/dual_passes.hpp"
#include "ot/sparse_newton.hpp"

namespace mlprims::ot::detail {

struct SolveSettings {
  Method method = Method::kAuto;
  double tol = 1e-9;
  std::int64_t max_iter = 100000;
  std::function<bool(std::int64_t, double)> callback;
  EpsScaling eps_scaling = EpsScaling::kAuto;
  double cost_range = 1.0;  // max C - min C, where epsilon scaling starts
  std::int64_t warmup = 10;
  double newton_mass = 0.99;
  std::int64_t max_warmup = -1;
  NewtonSettings newton;
  // The kept entries per row double (up to a quarter of the row) while they hold too little of the
  // plan for Newton to start; off when the caller set a density.
  bool adaptive_density = true;
};

// SolveSettings from the public options (defaults resolved) for a problem of n x m.
SolveSettings resolve_settings(const IterativeOptions& iteration, const SinkhornOptions& options, std::int64_t n,
                               std::int64_t m);

// f, g: the starting point (g alone matters) on entry, the normalized potentials on return.
// `round_potentials` rounds them to float32 before the final evaluation (float32 outputs).
SinkhornResult solve_problem(const CostRows& cost, const Marginals& w, double reg, std::vector<double>& f,
                             std::vector<double>& g, const SolveSettings& settings, bool round_potentials, int threads);

}  // namespace mlprims::ot::detail
