#include "ot/sparse_newton.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "linalg/lapack.hpp"

namespace mlprims::ot::detail {
namespace {

double dot(const std::vector<double>& x, const std::vector<double>& y) {
  double s = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  return s;
}

// y = H x for x = (x_f (n), x_g (m)) with x_g[m - 1] held at 0 (and y_g[m - 1] set to 0).
struct SparseHessian {
  const PlanEvaluation& plan;
  linalg::CsrMatrix kept_t;
  int threads;
  std::int64_t n, m;
  mutable std::vector<double> part;

  SparseHessian(const PlanEvaluation& p, int t)
      : plan(p), kept_t(linalg::csr_transpose(p.kept)), threads(t), n(p.kept.rows), m(p.kept.cols) {}

  void apply(const std::vector<double>& x, std::vector<double>& y) const {
    part.resize(static_cast<std::size_t>(std::max(n, m)));
    linalg::csr_multiply(plan.kept, x.data() + n, part.data(), threads);
    for (std::int64_t i = 0; i < n; ++i) y[i] = plan.row_sums[i] * x[i] + part[i];
    linalg::csr_multiply(kept_t, x.data(), part.data(), threads);
    for (std::int64_t j = 0; j < m; ++j) y[n + j] = plan.col_sums[j] * x[n + j] + part[j];
    y[n + m - 1] = 0.0;
  }
};

struct CgOutcome {
  std::int64_t iterations = 0;
  bool converged = false;
};

// Preconditioned conjugate gradient for H x = rhs (rhs[n + m - 1] = 0).
CgOutcome conjugate_gradient(const SparseHessian& H, const std::vector<double>& rhs, double relative_tol,
                             std::int64_t max_iter, std::vector<double>& x) {
  const std::size_t size = rhs.size();
  std::vector<double> inverse_diagonal(size);
  for (std::int64_t i = 0; i < H.n; ++i) inverse_diagonal[i] = 1.0 / std::max(H.plan.row_sums[i], 1e-300);
  for (std::int64_t j = 0; j < H.m; ++j) inverse_diagonal[H.n + j] = 1.0 / std::max(H.plan.col_sums[j], 1e-300);
  inverse_diagonal[size - 1] = 0.0;
  x.assign(size, 0.0);
  std::vector<double> residual = rhs, z(size), p(size), q(size);
  for (std::size_t i = 0; i < size; ++i) z[i] = inverse_diagonal[i] * residual[i];
  p = z;
  double rz = dot(residual, z);
  const double target = relative_tol * std::sqrt(dot(rhs, rhs));
  CgOutcome outcome;
  std::int64_t& iterations = outcome.iterations;
  while (true) {
    if (std::sqrt(dot(residual, residual)) <= target) {
      outcome.converged = true;
      break;
    }
    if (iterations >= max_iter) break;
    H.apply(p, q);
    const double pq = dot(p, q);
    if (!(pq > 0.0)) break;  // breakdown at rounding level
    const double alpha = rz / pq;
    for (std::size_t i = 0; i < size; ++i) x[i] += alpha * p[i], residual[i] -= alpha * q[i];
    for (std::size_t i = 0; i < size; ++i) z[i] = inverse_diagonal[i] * residual[i];
    const double rz_next = dot(residual, z);
    const double beta = rz_next / rz;
    rz = rz_next;
    for (std::size_t i = 0; i < size; ++i) p[i] = z[i] + beta * p[i];
    ++iterations;
  }
  return outcome;
}

// The same system solved directly: the side with fewer potentials is kept, the other (whose block
// is diagonal) eliminated, and the dense Schur complement
//   S = D_keep - K diag(D_elim)^-1 K^T
// factored by Cholesky. Where Jacobi PCG stalls: at small reg the plan nearly splits into blocks
// joined by tiny entries, the matrix's condition number passes 1e16 and CG needs more iterations
// than the problem has entries, while the factorization solves it to what rounding allows. The
// shift is not held fixed here: a relative shift of the diagonal (1e-10, raised while the
// factorization fails) makes S definite, and moves the solution along (1, -1) only, which leaves
// the plan unchanged. False when no shift up to 1e-4 factors.
bool schur_complement_solve(const SparseHessian& H, const std::vector<double>& rhs, std::vector<double>& x) {
  const bool keep_rows = H.n <= H.m;
  const std::int64_t kept_size = keep_rows ? H.n : H.m, eliminated_size = keep_rows ? H.m : H.n;
  const std::vector<double>& keep_diagonal = keep_rows ? H.plan.row_sums : H.plan.col_sums;
  const std::vector<double>& elim_diagonal = keep_rows ? H.plan.col_sums : H.plan.row_sums;
  // Rows of `keep_side` run over kept potentials, rows of `elim_side` over eliminated ones.
  const linalg::CsrMatrix& keep_side = keep_rows ? H.plan.kept : H.kept_t;
  const linalg::CsrMatrix& elim_side = keep_rows ? H.kept_t : H.plan.kept;
  const double* rhs_keep = rhs.data() + (keep_rows ? 0 : H.n);
  const double* rhs_elim = rhs.data() + (keep_rows ? H.n : 0);

  std::vector<double> scaled_elim(static_cast<std::size_t>(eliminated_size)), reduced_rhs(kept_size);
  std::vector<double> schur(static_cast<std::size_t>(kept_size * kept_size));
  for (double shift = 1e-10; shift <= 1e-4; shift *= 100.0) {
    std::fill(schur.begin(), schur.end(), 0.0);
    for (std::int64_t i = 0; i < kept_size; ++i) schur[i * kept_size + i] = keep_diagonal[i] * (1.0 + shift);
    for (std::int64_t e = 0; e < eliminated_size; ++e) {
      const double inverse = 1.0 / (elim_diagonal[e] * (1.0 + shift));
      scaled_elim[e] = rhs_elim[e] * inverse;
      for (std::int64_t p = elim_side.row_start[e]; p < elim_side.row_start[e + 1]; ++p) {
        const double vp = elim_side.value[p] * inverse;
        double* column = schur.data() + elim_side.column[p] * kept_size;
        for (std::int64_t q = elim_side.row_start[e]; q < elim_side.row_start[e + 1]; ++q)
          column[elim_side.column[q]] -= vp * elim_side.value[q];
      }
    }
    linalg::csr_multiply(keep_side, scaled_elim.data(), reduced_rhs.data(), H.threads);
    for (std::int64_t i = 0; i < kept_size; ++i) reduced_rhs[i] = rhs_keep[i] - reduced_rhs[i];
    if (!linalg::cholesky(kept_size, schur.data(), kept_size)) continue;
    linalg::cholesky_solve(kept_size, 1, schur.data(), kept_size, reduced_rhs.data(), kept_size);
    x.assign(rhs.size(), 0.0);
    double* x_keep = x.data() + (keep_rows ? 0 : H.n);
    double* x_elim = x.data() + (keep_rows ? H.n : 0);
    std::copy(reduced_rhs.begin(), reduced_rhs.end(), x_keep);
    linalg::csr_multiply(elim_side, x_keep, x_elim, H.threads);
    for (std::int64_t e = 0; e < eliminated_size; ++e)
      x_elim[e] = (rhs_elim[e] - x_elim[e]) / (elim_diagonal[e] * (1.0 + shift));
    return true;
  }
  return false;
}

}  // namespace

NewtonOutcome newton_step(const CostRows& cost, const Marginals& w, double reg, std::vector<double>& f,
                          std::vector<double>& g, PlanEvaluation& current, const NewtonSettings& settings,
                          bool direct_first, int threads) {
  const std::int64_t n = cost.rows(), m = cost.cols();
  NewtonOutcome outcome;
  // Ascent direction: reg * H^-1 grad F, grad F = (a - P 1, b - P^T 1).
  std::vector<double> gradient(static_cast<std::size_t>(n + m));
  for (std::int64_t i = 0; i < n; ++i) gradient[i] = w.a[i] - current.row_sums[i];
  for (std::int64_t j = 0; j < m; ++j) gradient[n + j] = w.b[j] - current.col_sums[j];
  std::vector<double> rhs = gradient;
  for (double& r : rhs) r *= reg;
  rhs[n + m - 1] = 0.0;
  const double tol =
      settings.cg_tol > 0.0 ? settings.cg_tol : std::max(1e-12, std::min(0.1, std::sqrt(current.marginal_error)));
  std::vector<double> step;
  {
    const SparseHessian H(current, threads);
    const bool direct_allowed = settings.direct_fits(n, m);
    bool solved = false;
    if (!(direct_first && direct_allowed)) {
      const CgOutcome cg = conjugate_gradient(H, rhs, tol, settings.cg_max_iter, step);
      outcome.cg_iterations = cg.iterations;
      solved = cg.converged;
    }
    if (!solved && direct_allowed) {
      std::vector<double> full_rhs = rhs;
      full_rhs[n + m - 1] = reg * gradient[n + m - 1];
      if (schur_complement_solve(H, full_rhs, step)) outcome.direct = true;
    }
  }
  const double slope = dot(gradient, step);  // dF/d(alpha) at alpha = 0, > 0 for an ascent direction
  if (!(slope > 0.0)) return outcome;

  double magnitude = reg * current.total;
  for (std::int64_t i = 0; i < n; ++i) magnitude += std::fabs(w.a[i] * f[i]);
  for (std::int64_t j = 0; j < m; ++j) magnitude += std::fabs(w.b[j] * g[j]);
  const double rounding = 64.0 * std::numeric_limits<double>::epsilon() * magnitude;

  std::vector<double> f_trial(static_cast<std::size_t>(n)), g_trial(static_cast<std::size_t>(m));
  double alpha = 1.0;
  for (std::int64_t trial = 0; trial <= settings.max_line_search; ++trial, alpha *= 0.5) {
    for (std::int64_t i = 0; i < n; ++i) f_trial[i] = f[i] + alpha * step[i];
    for (std::int64_t j = 0; j < m; ++j) g_trial[j] = g[j] + alpha * step[n + j];
    PlanEvaluation next = evaluate_plan(cost, w, reg, f_trial.data(), g_trial.data(),
                                        current.kept.nnz() > 0 ? settings.keep_per_row : 0, threads);
    const double gain = next.dual - current.dual;
    const bool armijo = gain >= settings.armijo * alpha * slope;
    const bool error_fell = gain >= -rounding && next.marginal_error < current.marginal_error;
    if (std::isfinite(next.dual) && (armijo || error_fell)) {
      f.swap(f_trial);
      g.swap(g_trial);
      current = std::move(next);
      outcome.accepted = true;
      outcome.step_size = alpha;
      return outcome;
    }
  }
  return outcome;
}

}  // namespace mlprims::ot::detail
