// Element-wise weighted low-rank approximation, minimize f(A, B) = sum_ij w_ij (W - A B^T)_ij^2
// over A (m x r) and B (n x r), in float64. (B is kept as n x r here so that both factors are
// updated by the same code: the columns of W are the rows of W^T.)
//
// Alternating least squares (ALS): with B fixed, row i of A solves the r x r system
//   (sum_j w_ij b_j b_j^T) a_i = sum_j w_ij W_ij b_j,
// all rows at once: the m systems' matrices come out of one GEMM, w (m x n) times the n x r(r+1)/2
// matrix of the products b_jk b_jl, and are solved by Cholesky one by one. Each solve carries a
// proximal term mu ||a_i - a_i_old||^2 (mu ~ 1e-10 of the system's scale) so that rows with too few
// weights stay well posed while the objective still cannot increase. After each sweep the step is
// extrapolated along the sweep's direction when that lowers f further (the line search of ALS for
// PARAFAC, Bro 1998); ALS converges linearly and this often halves the sweeps. If a sweep fails to
// lower f (rounding near a minimum), one EM step (Srebro & Jaakkola 2003) is tried instead before
// stopping.
#pragma once

#include <cstdint>
#include <vector>

#include "lowrank/truncated_factors.hpp"
#include "mlprims/lowrank.hpp"

namespace mlprims::lowrank::detail {

struct ElementwiseProblem {
  std::int64_t m = 0, n = 0, rank = 0;
  const double* target = nullptr;   // W, m x n row-major
  const double* weights = nullptr;  // w, m x n row-major, finite, >= 0
};

struct AlsOutcome {
  double objective = 0.0;  // f at the returned factors
  std::int64_t iterations = 0;
  bool converged = false;
};

// f(a, b) for a (m x r) and b (n x r), row-major; `work` is resized to m x n.
double elementwise_objective(const ElementwiseProblem& problem, const double* a, const double* b,
                             std::vector<double>& work);

// Improves a (m x r) and b (n x r) in place; f never increases. Uses iteration's max_iter, tol
// and callback (with sqrt(f)) as given (defaults resolved), and options for the EM fallback's SVD.
AlsOutcome alternating_least_squares(const ElementwiseProblem& problem, std::vector<double>& a, std::vector<double>& b,
                                     const SvdOptions& options, const IterativeOptions& iteration);

// (rows, cols) >= 0 with rows cols^T the best rank-one approximation of sqrt(w) (power iteration;
// the Perron vectors of a nonnegative matrix are nonnegative).
std::pair<std::vector<double>, std::vector<double>> rank_one_root(const ElementwiseProblem& problem);

// a b^T (a m x r, b n x r) as U diag(s) V^T: QR of both factors, SVD of the r x r core.
TruncatedFactors<double> canonical_factors(const ElementwiseProblem& problem, const std::vector<double>& a,
                                           const std::vector<double>& b);

}  // namespace mlprims::lowrank::detail
