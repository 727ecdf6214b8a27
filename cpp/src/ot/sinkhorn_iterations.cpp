#include "ot/sinkhorn_iterations.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/math/elementary.hpp"
#include "core/parallel.hpp"
#include "linalg/kernel_rows.hpp"
#include "ot/plan_rows.hpp"

namespace mlprims::ot::detail {
namespace {

// The scalings u, v are folded into the potentials and the kernel rebuilt once one of them leaves
// [e^-kAbsorbAt, e^kAbsorbAt] (Schmitzer's stabilization). The kernel's entries below e^-708 are
// flushed to zero; between rebuilds they grow by at most e^(2 kAbsorbAt), so what was flushed stays
// below e^-500 of the mass, far under any tolerance; larger thresholds mean fewer rebuilds.
constexpr double kAbsorbAt = 100.0;

// The kernel K = exp((f_i + g_j - C_ij) / reg) of the dense cost, row-major n x m.
void build_kernel(const CostRows& cost, double reg, const std::vector<double>& f, const std::vector<double>& g,
                  std::vector<double>& K, int threads) {
  for_each_plan_row(cost, f.data(), g.data(), reg, threads, K.data(),
                    [](std::int64_t, const double*, const double*, double, double*) {});
}

// One read of K for half an iteration and the start of the next: u_i = a_i / (K v)_i row by row,
// and, while the row is in cache, K^T u accumulated. False when some (K v)_i is not positive and finite.
bool scale_rows(std::int64_t n, std::int64_t m, const std::vector<double>& K, const std::vector<double>& a,
                const std::vector<double>& v, std::vector<double>& u, std::vector<double>& Ktu,
                std::vector<std::vector<double>>& partial, int threads) {
  const int used = std::min(threads, mlprims::detail::threads_for(n * m, 1 << 16));
  partial.resize(static_cast<std::size_t>(used));
  bool ok = true;
#pragma omp parallel num_threads(used) reduction(&& : ok)
  {
    std::vector<double>& acc = partial[static_cast<std::size_t>(mlprims::detail::thread_index())];
    acc.assign(static_cast<std::size_t>(m), 0.0);
    double* out = acc.data();
    const double* vv = v.data();
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      const double s = linalg::dot_then_accumulate(m, K.data() + i * m, vv, a[i], out);
      const double ui = a[i] / s;
      ok = ok && s > 0.0 && std::isfinite(ui);
      u[i] = ui;
    }
  }
  std::fill(Ktu.begin(), Ktu.end(), 0.0);
  for (const auto& acc : partial) {
    if (acc.empty()) continue;
    for (std::int64_t j = 0; j < m; ++j) Ktu[j] += acc[j];
  }
  for (auto& acc : partial) acc.clear();
  return ok;
}

double largest_log_magnitude(const std::vector<double>& s) {
  double largest = 0.0;
  for (const double x : s) largest = std::max(largest, std::fabs(std::log(x)));
  return largest;
}

void fold(std::vector<double>& potential, const std::vector<double>& scaling, double reg) {
  for (std::size_t i = 0; i < potential.size(); ++i) potential[i] += reg * std::log(scaling[i]);
}

}  // namespace

SinkhornRun scaling_sinkhorn(const CostRows& cost, const Marginals& w, double reg, std::vector<double>& f,
                             std::vector<double>& g, std::int64_t max_iter, double tol, std::int64_t first_iteration,
                             const IterationHook& hook, KernelState* state, int threads) {
  const std::int64_t n = cost.rows(), m = cost.cols();
  SinkhornRun run;
  std::vector<double> K, u(n, 1.0), v(m, 1.0), Ktu(m);
  if (state != nullptr && state->reg == reg && !state->K.empty() && state->g_returned == g) {
    // The first row pass computes u = a / (K v): the c-transform of g, as a fresh start would.
    K.swap(state->K);
    f = state->f_kernel;
    g = state->g_kernel;
    v = state->v;
  } else {
    update_f(cost, w, reg, g.data(), f.data(), threads);  // rows exact: the kernel's rows sum to a
    if (state != nullptr) K.swap(state->K);               // its memory, not a second n x m buffer
    K.resize(static_cast<std::size_t>(n * m));
    build_kernel(cost, reg, f, g, K, threads);
  }
  std::vector<std::vector<double>> partial;
  // (u_good, v_good): the last scalings whose error was measured, what f and g are made of.
  std::vector<double> u_good = u, v_good = v;
  while (run.iterations < max_iter) {
    const bool rows_ok = scale_rows(n, m, K, w.a, v, u, Ktu, partial, threads);
    bool ok = rows_ok;
    double error = 0.0;
    for (std::int64_t j = 0; j < m && ok; ++j) {
      const double ratio = Ktu[j];
      ok = ratio > 0.0 && std::isfinite(ratio);
      error += std::fabs(v[j] * ratio - w.b[j]);
    }
    if (!ok) {
      // A row or column of the kernel vanished at these potentials (costs far above the current
      // potentials at small reg): a log-domain iteration from the last good iterate instead.
      fold(f, u_good, reg);
      fold(g, v_good, reg);
      update_g(cost, w, reg, f.data(), g.data(), threads);
      update_f(cost, w, reg, g.data(), f.data(), threads);
      build_kernel(cost, reg, f, g, K, threads);
      std::fill(u.begin(), u.end(), 1.0);
      std::fill(v.begin(), v.end(), 1.0);
      u_good = u, v_good = v;
      ++run.iterations;
      continue;
    }
    ++run.iterations;
    u_good = u;
    v_good = v;
    run.error = error;
    run.converged = error <= tol;
    const bool stop = hook && hook(first_iteration + run.iterations, error);
    // The next column scaling: the next iteration's, or, when the run stops, the state it leaves.
    for (std::int64_t j = 0; j < m; ++j) v[j] = w.b[j] / Ktu[j];
    if (run.converged || stop) break;
    if (largest_log_magnitude(u) > kAbsorbAt || largest_log_magnitude(v) > kAbsorbAt) {
      fold(f, u, reg);
      fold(g, v, reg);
      build_kernel(cost, reg, f, g, K, threads);
      std::fill(u.begin(), u.end(), 1.0);
      std::fill(v.begin(), v.end(), 1.0);
      u_good = u, v_good = v;
    }
  }
  if (state != nullptr) {
    state->f_kernel = f;
    state->g_kernel = g;
    state->v = v;  // the iteration that comes next
    state->reg = reg;
  }
  fold(f, u_good, reg);
  fold(g, v_good, reg);
  if (state != nullptr) {
    state->K.swap(K);
    state->g_returned = g;
  }
  return run;
}

SinkhornRun log_sinkhorn(const CostRows& cost, const Marginals& w, double reg, std::vector<double>& f,
                         std::vector<double>& g, std::int64_t max_iter, double tol, std::int64_t first_iteration,
                         const IterationHook& hook, KernelState* /*state*/, int threads) {
  const std::int64_t n = cost.rows();
  SinkhornRun run;
  update_f(cost, w, reg, g.data(), f.data(), threads);
  update_g(cost, w, reg, f.data(), g.data(), threads);  // columns exact
  std::vector<double> f_next(static_cast<std::size_t>(n));
  while (run.iterations < max_iter) {
    update_f(cost, w, reg, g.data(), f_next.data(), threads);
    // Rows of the current plan sum to a_i exp((f_i - f_next_i) / reg).
    double error = 0.0;
    for (std::int64_t i = 0; i < n; ++i) error += w.a[i] * std::fabs(std::expm1((f[i] - f_next[i]) / reg));
    if (!std::isfinite(error)) error = std::numeric_limits<double>::infinity();
    ++run.iterations;
    run.error = error;
    run.converged = error <= tol;
    const bool stop = hook && hook(first_iteration + run.iterations, error);
    if (run.converged || stop) break;
    f.swap(f_next);
    update_g(cost, w, reg, f.data(), g.data(), threads);
  }
  return run;
}

}  // namespace mlprims::ot::detail
