#include "ot/solver.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ot/sinkhorn_iterations.hpp"

namespace mlprims::ot::detail {
namespace {

// 'auto' starts Newton steps only when Sinkhorn's observed linear rate predicts more further
// iterations than this. A Newton phase is 5-20 steps of about three plan evaluations (n m
// exponentials and a top-k selection each); on a dense cost a Sinkhorn iteration is one
// multiply-add pass over the kept kernel, on the fly two c-transforms, as dear as an evaluation.
// On dense costs 500 was tried: on the benchmark grid (bench/results/vm-2026-12-02-ot-grid.json)
// auto then stayed with Sinkhorn for 225-337 iterations on random costs at reg 1e-3 (3-4x slower
// than sns), while on 2-D clouds at 1e-3, where Newton does not pay, sns was within 10% of
// Sinkhorn anyway: 100 costs little there and wins where Newton pays.
double auto_newton_after(const CostRows& cost) { return cost.is_dense() ? 100.0 : 50.0; }

// 'auto' asks Sinkhorn's predicted iterations to exceed auto_newton_after times this factor: the
// conjugate-gradient products of a Newton phase grow with the kept entries per row, and with a
// quarter of each row kept (smooth costs at moderate reg) they cost about twice as much as the
// plan evaluations (squared-Euclidean clouds at n = 500, reg 1e-2: 184 Sinkhorn iterations took
// 30 ms, Newton with m/5 per row 104 ms).
double newton_cost_factor(std::int64_t keep_per_row, std::int64_t m) {
  return 1.0 + 5.0 * static_cast<double>(keep_per_row) / static_cast<double>(std::max<std::int64_t>(m, 1));
}

// Doubles the kept entries per row, re-evaluating the plan at (f, g), while they hold less than
// `newton_mass` of it: on smooth costs the rows of the plan spread over tens of entries, and a
// Newton step on a Hessian missing 4% of the plan's mass barely beats a Sinkhorn iteration
// (2-D clouds, n = 1000, reg 1e-3: 20 per row miss 4e-2 of the mass and Newton stalled; 50 miss
// 3.5e-4 and it converged in 9 steps). One evaluation choosing among all doublings at once (a
// selection of the widest, ordered in tiers) was tried: it was no faster, as the selection of the
// widest costs about what the narrower evaluations it replaces do.
void widen_kept_entries(const CostRows& cost, const Marginals& w, double reg, const std::vector<double>& f,
                        const std::vector<double>& g, double newton_mass, std::int64_t widest, NewtonSettings& newton,
                        PlanEvaluation& current, int threads) {
  while (current.kept_mass < newton_mass && newton.keep_per_row < widest) {
    newton.keep_per_row = std::min(2 * newton.keep_per_row, widest);
    current = evaluate_plan(cost, w, reg, f.data(), g.data(), newton.keep_per_row, threads);
  }
}

// EpsScaling::kAuto's threshold on reg / cost range (see mlprims/ot.hpp).
constexpr double kAutoEpsScalingBelow = 5e-4;

// Kept entries holding this fraction of the plan make a sparse Hessian whose slow steps are not
// its fault: they are widened no further.
constexpr double kWellKeptMass = 1.0 - 1e-6;
// What kept entries at their widest must hold for sns to start Newton on them: on 2-D clouds and
// digits at reg 1e-1 a quarter of each row holds 0.59-0.80 of the converged plan, and sns took
// 5-13x Sinkhorn's time when Newton started there regardless.
constexpr double kWidestStartMass = 0.9;
// A full Newton step that leaves more than this fraction of the marginal error widens them.
constexpr double kWidenRatio = 0.25;

// A Newton step that leaves more than this fraction of the marginal error hands back to Sinkhorn.
constexpr double kSlowNewtonRatio = 0.5;

// Iterations Sinkhorn still needs from its recent linear rate (inf when it is not contracting).
double predicted_iterations(const std::vector<double>& errors, double tol) {
  if (errors.size() < 4) return std::numeric_limits<double>::infinity();
  const std::size_t window = std::min<std::size_t>(10, errors.size() / 2);
  const double last = errors.back(), earlier = errors[errors.size() - 1 - window];
  if (!(last > 0.0) || !(earlier > last)) return std::numeric_limits<double>::infinity();
  const double log_rate = std::log(last / earlier) / static_cast<double>(window);
  return std::max(0.0, std::log(tol / last) / log_rate);
}

double weighted_sum(const std::vector<double>& weight, const std::vector<double>& value) {
  double s = 0.0;
  for (std::size_t i = 0; i < weight.size(); ++i) s += weight[i] * value[i];
  return s;
}

// The shift (f + t, g - t) with <a, f> = <b, g>.
void normalize_shift(const Marginals& w, std::vector<double>& f, std::vector<double>& g) {
  const double shift = (weighted_sum(w.b, g) - weighted_sum(w.a, f)) / (2.0 * w.mass);
  if (!std::isfinite(shift)) return;
  for (double& x : f) x += shift;
  for (double& x : g) x -= shift;
}

}  // namespace

SolveSettings resolve_settings(const IterativeOptions& iteration, const SinkhornOptions& options, std::int64_t n,
                               std::int64_t m) {
  SolveSettings s;
  s.method = options.method;
  if (iteration.tol >= 0.0) s.tol = iteration.tol;
  if (iteration.max_iter >= 0) s.max_iter = iteration.max_iter;
  s.callback = iteration.callback;
  s.eps_scaling = options.eps_scaling;
  if (options.warmup >= 0) s.warmup = std::max<std::int64_t>(options.warmup, 1);
  if (options.newton_mass >= 0.0) s.newton_mass = options.newton_mass;
  s.max_warmup = options.max_warmup;
  const double density =
      options.density > 0.0 ? options.density : 10.0 / static_cast<double>(std::max<std::int64_t>(n, 1));
  s.newton.keep_per_row =
      std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(density * static_cast<double>(m))),
                               options.density > 0.0 ? 1 : 2, std::max<std::int64_t>(m, 1));
  s.newton.keep_per_row = std::min(s.newton.keep_per_row, m);
  s.adaptive_density = !(options.density > 0.0);
  if (options.cg_tol > 0.0) s.newton.cg_tol = options.cg_tol;
  if (options.cg_max_iter > 0) s.newton.cg_max_iter = options.cg_max_iter;
  if (options.armijo > 0.0) s.newton.armijo = options.armijo;
  if (options.max_line_search >= 0) s.newton.max_line_search = options.max_line_search;
  return s;
}

SinkhornResult solve_problem(const CostRows& cost, const Marginals& w, double reg, std::vector<double>& f,
                             std::vector<double>& g, const SolveSettings& settings, bool round_potentials,
                             int threads) {
  const auto sinkhorn = cost.is_dense() ? scaling_sinkhorn : log_sinkhorn;
  SinkhornResult result;
  KernelState kernel;  // carried between the Sinkhorn runs below
  std::int64_t done = 0;
  bool user_stopped = false;
  std::vector<double> errors;
  const IterationHook hook = [&](std::int64_t iteration, double error) {
    errors.push_back(error);
    if (settings.callback && settings.callback(iteration, error)) user_stopped = true;
    return user_stopped;
  };

  const bool eps_scaling =
      settings.eps_scaling == EpsScaling::kOn ||
      (settings.eps_scaling == EpsScaling::kAuto && reg < kAutoEpsScalingBelow * settings.cost_range);
  if (eps_scaling) {
    // Stages at reg 4^s times the target, from about the cost range down, each to a loose tolerance.
    std::vector<double> stages;
    for (double r = reg * 4.0; r < settings.cost_range; r *= 4.0) stages.push_back(r);
    std::reverse(stages.begin(), stages.end());
    for (const double stage_reg : stages) {
      if (done >= settings.max_iter || user_stopped) break;
      const SinkhornRun run = sinkhorn(cost, w, stage_reg, f, g, settings.max_iter - done,
                                       std::max(settings.tol, 1e-3 * w.mass), done, hook, &kernel, threads);
      done += run.iterations;
      result.sinkhorn_iterations += run.iterations;
    }
    errors.clear();
  }

  PlanEvaluation current;
  bool direct = false;           // Newton systems solved directly from now on (set when CG's steps disappoint)
  std::int64_t short_width = 0;  // the widest kept entries found to hold less than a Newton start needs
  NewtonSettings newton = settings.newton;
  // The widest sparse Hessian tried: a quarter of each row (the CG products then cost about as
  // much as the dense plan evaluation a Newton step needs anyway).
  const std::int64_t widest = std::max(settings.newton.keep_per_row, cost.cols() / 4);
  // A few passes at a tighter internal tolerance when the returned potentials miss `tol` by rounding.
  for (int attempt = 0; attempt < 3 && !user_stopped && done < settings.max_iter; ++attempt) {
    const double tol = settings.tol * std::pow(0.25, attempt);
    if (settings.method == Method::kSinkhorn) {
      const SinkhornRun run = sinkhorn(cost, w, reg, f, g, settings.max_iter - done, tol, done, hook, &kernel, threads);
      done += run.iterations;
      result.sinkhorn_iterations += run.iterations;
    } else {
      std::int64_t next_check = done + settings.warmup;
      bool finished = false;
      while (!finished && !user_stopped && done < settings.max_iter) {
        const SinkhornRun run = sinkhorn(cost, w, reg, f, g, std::min(next_check, settings.max_iter) - done, tol, done,
                                         hook, &kernel, threads);
        done += run.iterations;
        result.sinkhorn_iterations += run.iterations;
        if (run.converged || user_stopped || done >= settings.max_iter) break;
        const bool warmup_over = settings.max_warmup >= 0 && result.sinkhorn_iterations >= settings.max_warmup;
        const bool is_auto = settings.method == Method::kAuto;
        // Whether Newton pays for auto, for a given number of kept entries per row; asked first at
        // the present number, a lower bound of what widening leaves, so that a plan evaluation (n m
        // exponentials and a top-k selection, each costing several Sinkhorn iterations) is spent
        // only where Newton may start (digits at reg 1e-2: six evaluations, to stay with Sinkhorn,
        // made auto 1.7x slower than Sinkhorn).
        const auto newton_pays = [&](std::int64_t keep_per_row) {
          return !is_auto || predicted_iterations(errors, tol) >
                                 auto_newton_after(cost) * newton_cost_factor(keep_per_row, cost.cols());
        };
        // The widest kept entries Newton may start on: for auto, the widest at which it still pays.
        std::int64_t limit = newton.keep_per_row;
        if (settings.adaptive_density) {
          limit = is_auto ? newton.keep_per_row : widest;
          while (limit < widest && newton_pays(std::min(2 * limit, widest))) limit = std::min(2 * limit, widest);
        }
        // The plan is evaluated only where Newton may start: where it pays (auto) at the present
        // width, and not where the widths it may start on were all found short of the mass a start
        // needs at an earlier check (the fraction a width holds barely moves as Sinkhorn
        // converges: 0.8136, 0.8121, 0.8117 at three checks on 2-D clouds at reg 1e-2).
        if (!warmup_over && (!newton_pays(newton.keep_per_row) || limit <= short_width)) {
          next_check = done + std::max(settings.warmup, done / 2);
          continue;
        }
        current = evaluate_plan(cost, w, reg, f.data(), g.data(), newton.keep_per_row, threads);
        if (current.marginal_error <= tol) break;
        if (!warmup_over) {
          if (settings.adaptive_density)
            widen_kept_entries(cost, w, reg, f, g, settings.newton_mass, limit, newton, current, threads);
          // At their widest the kept entries are what sns's Newton gets (waiting would not widen
          // them), and it starts there if they hold most of the plan; auto stays with Sinkhorn
          // there, where such steps were measured not to pay.
          const bool at_widest = settings.adaptive_density && newton.keep_per_row >= widest;
          const double needed =
              !is_auto && at_widest ? std::min(settings.newton_mass, kWidestStartMass) : settings.newton_mass;
          if (current.kept_mass < needed) {
            short_width = std::max(short_width, newton.keep_per_row);
            next_check = done + std::max(settings.warmup, done / 2);
            continue;
          }
          if (!newton_pays(newton.keep_per_row)) {
            next_check = done + std::max(settings.warmup, done / 2);
            continue;
          }
        }
        // Newton steps until converged or one fails to improve; then Sinkhorn again for a while.
        while (done < settings.max_iter && !user_stopped) {
          const NewtonOutcome step = newton_step(cost, w, reg, f, g, current, newton, direct, threads);
          result.cg_iterations += step.cg_iterations;
          if (!step.accepted) break;
          const double previous_error = errors.empty() ? std::numeric_limits<double>::infinity() : errors.back();
          ++done;
          ++result.newton_iterations;
          hook(done, current.marginal_error);
          if (current.marginal_error <= tol) {
            finished = true;
            break;
          }
          // Only full steps judge the Hessian: a damped step is the line search's way to the
          // region where full steps converge fast (at small reg, where Sinkhorn barely moves,
          // that region is reached only this way).
          const bool full_step = step.step_size == 1.0;
          // A full step that converges only linearly says the kept entries miss too much of the
          // plan: they are widened (digits at reg 1e-3 miss 7e-3 of it at 20 per row and stall, at
          // 40 they miss 2e-5 and converge; random costs, n = 2000, reg 3e-4: 10 per row miss
          // 5e-5 and each step cuts the error by 0.37 only).
          if (full_step && current.marginal_error > kWidenRatio * previous_error && settings.adaptive_density &&
              current.kept_mass < kWellKeptMass && newton.keep_per_row < widest) {
            widen_kept_entries(cost, w, reg, f, g, current.kept_mass + (1.0 - current.kept_mass) * 0.5, widest, newton,
                               current, threads);
            continue;
          }
          // A step costs a few Sinkhorn iterations; a full one that does not halve the error,
          // with nothing left to widen, hands back to Sinkhorn for a while.
          if (full_step && current.marginal_error > kSlowNewtonRatio * previous_error) {
            // A conjugate-gradient solve accurate to its residual can still point poorly where the
            // system is ill-conditioned: the direct solve gets a chance before Sinkhorn does.
            if (!step.direct && newton.direct_fits(cost.rows(), cost.cols())) {
              direct = true;
              continue;
            }
            break;
          }
        }
        next_check = done + std::max(settings.warmup, done / 2);
      }
    }
    normalize_shift(w, f, g);
    if (round_potentials) {
      for (double& x : f) x = static_cast<double>(static_cast<float>(x));
      for (double& x : g) x = static_cast<double>(static_cast<float>(x));
    }
    current = evaluate_plan(cost, w, reg, f.data(), g.data(), 0, threads);
    if (current.marginal_error <= settings.tol) break;
    if (round_potentials) break;  // rounding to float32, not iterating, sets the floor
  }
  if (current.row_sums.size() != f.size()) {  // stopped before any iteration
    normalize_shift(w, f, g);
    current = evaluate_plan(cost, w, reg, f.data(), g.data(), 0, threads);
  }

  result.iterations = result.sinkhorn_iterations + result.newton_iterations;
  result.error = current.marginal_error;
  result.converged = current.marginal_error <= settings.tol;
  result.transport_cost = current.transport_cost;
  result.objective = weighted_sum(current.row_sums, f) + weighted_sum(current.col_sums, g);
  result.method = result.newton_iterations > 0 ? Method::kSns : Method::kSinkhorn;
  return result;
}

}  // namespace mlprims::ot::detail
