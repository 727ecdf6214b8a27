#include "ot/sparse_newton.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

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

// Preconditioned conjugate gradient for H x = rhs (rhs[n + m - 1] = 0); returns the iterations.
std::int64_t conjugate_gradient(const SparseHessian& H, const std::vector<double>& rhs, double relative_tol,
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
  std::int64_t iterations = 0;
  while (iterations < max_iter && std::sqrt(dot(residual, residual)) > target) {
    H.apply(p, q);
    const double pq = dot(p, q);
    if (!(pq > 0.0)) break;  // breakdown at rounding level: x is as good as it gets
    const double alpha = rz / pq;
    for (std::size_t i = 0; i < size; ++i) x[i] += alpha * p[i], residual[i] -= alpha * q[i];
    for (std::size_t i = 0; i < size; ++i) z[i] = inverse_diagonal[i] * residual[i];
    const double rz_next = dot(residual, z);
    const double beta = rz_next / rz;
    rz = rz_next;
    for (std::size_t i = 0; i < size; ++i) p[i] = z[i] + beta * p[i];
    ++iterations;
  }
  return iterations;
}

}  // namespace

NewtonOutcome newton_step(const CostRows& cost, const Marginals& w, double reg, std::vector<double>& f,
                          std::vector<double>& g, PlanEvaluation& current, const NewtonSettings& settings,
                          int threads) {
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
    outcome.cg_iterations = conjugate_gradient(H, rhs, tol, settings.cg_max_iter, step);
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
      return outcome;
    }
  }
  return outcome;
}

}  // namespace mlprims::ot::detail
