// Entropic optimal transport: min over P >= 0 with P 1 = a, P^T 1 = b of
//   <C, P> + reg * sum_ij P_ij log P_ij
// (POT's `reg` and objective). The dual potentials f (n) and g (m) returned define the plan
//   P_ij = exp((f_i + g_j - C_ij) / reg)
// exactly; every figure reported (marginal error, objective, transport cost) is computed from them.
// The potentials are unique up to the shift (f + t, g - t); the one returned has
// sum_i a_i f_i = sum_j b_j g_j (sums over the entries with positive weight). A zero weight a_i
// gives f_i = -inf (its row of the plan is zero), likewise for b.
//
// Marginal error: ||P 1 - a||_1 + ||P^T 1 - b||_1, the `error` of the result and what `tol` bounds.
// Nothing under- or overflows at any reg > 0: the solvers work on potentials (log space) and on
// kernels rebuilt from them whenever their scalings grow.
#pragma once

#include <cstdint>
#include <vector>

#include "mlprims/core/iteration.hpp"
#include "mlprims/core/tensor.hpp"

namespace mlprims::ot {

enum class Method : std::uint8_t {
  kAuto,      // Sinkhorn while it converges fast enough, then sparse Newton (see SinkhornOptions)
  kSinkhorn,  // log-stable Sinkhorn only
  kSns,       // Sinkhorn-Newton-Sparse (Tang et al., ICLR 2024): Sinkhorn warm-up, then sparse Newton
};

enum class PointCost : std::uint8_t {
  kSqEuclidean,  // C_ij = ||x_i - y_j||^2
  kEuclidean,    // C_ij = ||x_i - y_j||
};

// Epsilon scaling: solve a sequence of problems with reg decreasing by 4x from the cost range to
// `reg`, each to a loose tolerance and warm-starting the next. It pays at small reg, where plain
// Sinkhorn's first iterations move the potentials by reg at a time; kAuto turns it on below
// reg = 5e-4 x the cost range (max C - min C), where it was measured to pay on random costs and
// point clouds alike.
enum class EpsScaling : std::uint8_t { kAuto, kOff, kOn };

struct SinkhornOptions {
  Method method = Method::kAuto;
  EpsScaling eps_scaling = EpsScaling::kAuto;
  // The potentials f and g passed in are the starting point (else f = g = 0).
  bool warm_start = false;
  // sns/auto: Sinkhorn iterations at least before the first Newton step (-1: 10).
  std::int64_t warmup = -1;
  // sns/auto: Newton starts once the kept entries carry this fraction of the plan's mass or more
  // (-1: 0.99); below it Sinkhorn goes on (up to `max_warmup`, -1: unbounded within max_iter).
  double newton_mass = -1.0;
  std::int64_t max_warmup = -1;
  // sns/auto: entries of the plan kept in the sparse Hessian, as a fraction of n*m (-1: 10/n, at
  // least 2 per row, doubled, up to m/4 per row, while they hold less than newton_mass of the
  // plan or a full Newton step cuts the marginal error by less than 4x); the largest of each row
  // and of each column are always kept.
  double density = -1.0;
  // sns/auto: conjugate-gradient relative residual for the Newton system (-1: adaptive,
  // min(0.1, sqrt(marginal error)), at least 1e-12) and its iteration cap (-1: 500).
  double cg_tol = -1.0;
  std::int64_t cg_max_iter = -1;
  // sns/auto: backtracking line search, Armijo constant and the most halvings (-1: 1e-4, 30).
  double armijo = -1.0;
  std::int64_t max_line_search = -1;
};

struct SinkhornResult : IterationReport {
  // `iterations` is sinkhorn_iterations + newton_iterations; `error` is the marginal error.
  std::int64_t sinkhorn_iterations = 0;
  std::int64_t newton_iterations = 0;
  std::int64_t cg_iterations = 0;
  double objective = 0.0;             // <C, P> + reg sum P log P
  double transport_cost = 0.0;        // <C, P>
  Method method = Method::kSinkhorn;  // the method that ran (auto: kSns once a Newton step was taken)
};

// One problem: a (n), b (m), C (n, m); or a batch: a (B, n), b (B, m), C (B, n, m), f (B, n),
// g (B, m), one result per problem. a, b, C: C-contiguous float32 or float64 CPU arrays;
// f, g: outputs (inputs too with warm_start) of C's dtype. Computation is in float64. An empty a
// or b means uniform weights 1/n (1/m). options.tol (-1: 1e-9) is on the marginal error.
std::vector<SinkhornResult> sinkhorn(const TensorView& a, const TensorView& b, const TensorView& C, double reg,
                                     const TensorView& f, const TensorView& g, const IterativeOptions& iteration = {},
                                     const SinkhornOptions& options = {});

// The same problem with costs computed on the fly from point clouds x (n, d) and y (m, d): memory
// O((n + m) d), never an n x m matrix.
SinkhornResult sinkhorn_points(const TensorView& x, const TensorView& y, const TensorView& a, const TensorView& b,
                               double reg, PointCost cost, const TensorView& f, const TensorView& g,
                               const IterativeOptions& iteration = {}, const SinkhornOptions& options = {});

// The gradient of <C, P> in the points at the plan P_ij = exp((f_i + g_j - C_ij) / reg) of point
// clouds x (n, d) and y (m, d), P computed on the fly (memory O((n + m) d)): grad_x (n, d) row i
// = sum_j P_ij grad_x c(x_i, y_j), grad_y (m, d) row j = sum_i P_ij grad_y c(x_i, y_j). With the
// potentials of sinkhorn_points it is the gradient of the OT value in x and y (envelope theorem).
// For the Euclidean cost, coinciding points contribute 0 (the subgradient of least norm).
void transport_gradient_points(const TensorView& x, const TensorView& y, const TensorView& f, const TensorView& g,
                               double reg, PointCost cost, const TensorView& grad_x, const TensorView& grad_y);

// The plan exp((f_i + g_j - C_ij) / reg) into P (n, m) (or batched (B, n, m)).
void transport_plan(const TensorView& f, const TensorView& g, const TensorView& C, double reg, const TensorView& P);

}  // namespace mlprims::ot
