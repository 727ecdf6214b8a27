// The conventions of mlprims' iterative solvers: the options they take and the report they return.
// A primitive's own options and results extend these (lowrank::LowRankResult, vmf::KappaEstimate),
// so that every solver reads and reports the same four things under the same names.
#pragma once

#include <cstdint>
#include <functional>

namespace mlprims {

struct IterativeOptions {
  std::int64_t max_iter = -1;  // iterations at most; -1: the solver's documented default; 0: the start
  double tol = -1.0;           // the solver's stopping tolerance (each says on what); -1: its default
  // Called after each iteration with (iteration, error); returning true stops the solver.
  std::function<bool(std::int64_t, double)> callback;
  // NaN/inf in the inputs is a ValueError; false skips the check where it costs a pass of its own
  // (solvers whose check is part of a pass they make anyway always check).
  bool check_finite = true;
};

struct IterationReport {
  std::int64_t iterations = 0;  // iterations done (0 for a closed form)
  bool converged = true;        // the tolerance was met (closed forms: true)
  double error = 0.0;           // the solver's error measure at the answer returned (each documents its own)
};

}  // namespace mlprims
