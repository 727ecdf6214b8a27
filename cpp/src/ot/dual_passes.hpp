// The passes over the cost matrix that every OT solver here is made of, on explicit potentials:
// the c-transforms (the log-domain Sinkhorn half-steps) and one evaluation of the plan
// P_ij = exp((f_i + g_j - C_ij) / reg) that yields its marginals, its cost, the dual value and,
// when asked, the sparse part of P that the Newton steps use.
#pragma once

#include <cstdint>
#include <vector>

#include "linalg/sparse_matrix.hpp"
#include "ot/cost_rows.hpp"

namespace mlprims::ot::detail {

// The weights of one problem, all positive (zero weights are removed before a solve).
struct Marginals {
  std::vector<double> a, b, log_a, log_b;
  double mass = 0.0;  // sum of a (and of b)
};
Marginals make_marginals(std::vector<double> a, std::vector<double> b);

// f_i = reg (log a_i - LSE_j((g_j - C_ij) / reg)): rows of the plan sum to a exactly.
void update_f(const CostRows& cost, const Marginals& w, double reg, const double* g, double* f, int threads);
// g_j = reg (log b_j - LSE_i((f_i - C_ij) / reg)): columns sum to b.
void update_g(const CostRows& cost, const Marginals& w, double reg, const double* f, double* g, int threads);

struct PlanEvaluation {
  std::vector<double> row_sums, col_sums;
  double total = 0.0;           // sum P
  double transport_cost = 0.0;  // <C, P>
  double marginal_error = 0.0;  // ||P 1 - a||_1 + ||P^T 1 - b||_1 (inf when P is not finite)
  double dual = 0.0;            // <a, f> + <b, g> - reg sum P, the concave dual the Newton steps raise
  // With keep_per_row > 0: the keep_per_row largest entries of each row and the largest of each
  // column, and the fraction of sum P they hold.
  linalg::CsrMatrix kept;
  double kept_mass = 0.0;
};

PlanEvaluation evaluate_plan(const CostRows& cost, const Marginals& w, double reg, const double* f, const double* g,
                             std::int64_t keep_per_row, int threads);

}  // namespace mlprims::ot::detail
