#include "lowrank/elementwise.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "linalg/blas.hpp"
#include "linalg/dense.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::lowrank::detail {
namespace {

// Relative size of the proximal term of each row's system (to its mean diagonal entry), and how
// far it may grow when Cholesky still fails (the row is then left as it is).
constexpr double kProximal = 1e-10;
constexpr double kProximalLimit = 1e-2;
// Doubles per work block of the batched Gram products (32 MiB).
constexpr std::int64_t kBlockDoubles = std::int64_t{1} << 22;
// Growth of the extrapolation step after a successful extrapolation, and its cap.
constexpr double kStepGrowth = 1.5;
constexpr double kMaxStep = 8.0;
// Largest convergence ratio assumed when estimating the remaining decrease.
constexpr double kMaxRatio = 0.99;

// Solves (g + mu I) x = rhs + mu x for one row: g is r x r row-major (overwritten by its Cholesky
// factor), x holds the old row on entry and the new one on success. False: not positive definite.
bool proximal_solve(int r, double mu, double* g, const double* rhs, double* x, double* y) {
  for (int k = 0; k < r; ++k) {
    g[k * r + k] += mu;
    y[k] = rhs[k] + mu * x[k];
  }
  for (int j = 0; j < r; ++j) {  // lower Cholesky factor in place
    double diagonal = g[j * r + j];
    for (int k = 0; k < j; ++k) diagonal -= g[j * r + k] * g[j * r + k];
    if (!(diagonal > 0.0)) return false;
    const double root = std::sqrt(diagonal);
    g[j * r + j] = root;
    for (int i = j + 1; i < r; ++i) {
      double sum = g[i * r + j];
      for (int k = 0; k < j; ++k) sum -= g[i * r + k] * g[j * r + k];
      g[i * r + j] = sum / root;
    }
  }
  for (int i = 0; i < r; ++i) {  // L z = y
    double sum = y[i];
    for (int k = 0; k < i; ++k) sum -= g[i * r + k] * y[k];
    y[i] = sum / g[i * r + i];
  }
  for (int i = r - 1; i >= 0; --i) {  // L^T x = z
    double sum = y[i];
    for (int k = i + 1; k < r; ++k) sum -= g[k * r + i] * y[k];
    y[i] = sum / g[i * r + i];
  }
  std::copy(y, y + r, x);
  return true;
}

// The weighted least-squares updates of one factor given the other.
class AlsUpdates {
 public:
  explicit AlsUpdates(const ElementwiseProblem& problem) : p_(problem) {
    const std::int64_t size = p_.m * p_.n;
    weighted_target_.resize(static_cast<std::size_t>(size));
    for (std::int64_t e = 0; e < size; ++e) weighted_target_[e] = p_.weights[e] * p_.target[e];
    for (int l = 0; l < p_.rank; ++l) {
      for (int k = 0; k <= l; ++k) pairs_.emplace_back(k, l);
    }
  }

  // Replaces each row of `factor` (rows of A when !columns, m x r; rows of B when columns, n x r)
  // by its weighted least-squares fit given `other` (the other factor).
  void update(bool columns, const double* other, double* factor) {
    const int r = static_cast<int>(p_.rank);
    const std::int64_t count = columns ? p_.n : p_.m, items = columns ? p_.m : p_.n;
    const auto packed = static_cast<std::int64_t>(pairs_.size());
    rhs_.resize(static_cast<std::size_t>(count * r));
    // Right-hand sides sum_j w_ij W_ij b_j: (w . W) B, or (w . W)^T A for the columns.
    linalg::gemm<double>(columns, false, count, r, items, 1.0, weighted_target_.data(), p_.n, other, r, 0.0,
                         rhs_.data(), r);
    // The systems' packed upper triangles: w (or w^T) times products_[j, (k, l)] = o_jk o_jl.
    const std::int64_t chunk = std::clamp<std::int64_t>(kBlockDoubles / items, 1, packed);
    const std::int64_t block_rows = std::clamp<std::int64_t>(kBlockDoubles / packed, 1, count);
    products_.resize(static_cast<std::size_t>(items * chunk));
    gram_.resize(static_cast<std::size_t>(block_rows * packed));
    bool products_ready = false;
    for (std::int64_t row0 = 0; row0 < count; row0 += block_rows) {
      const std::int64_t rows = std::min(block_rows, count - row0);
      for (std::int64_t c0 = 0; c0 < packed; c0 += chunk) {
        const std::int64_t width = std::min(chunk, packed - c0);
        if (!products_ready) fill_products(other, items, c0, width);
        products_ready = chunk == packed;  // one chunk: built once for all row blocks
        const double* w_block = columns ? p_.weights + row0 : p_.weights + row0 * p_.n;
        linalg::gemm<double>(columns, false, rows, width, items, 1.0, w_block, p_.n, products_.data(), width, 0.0,
                             gram_.data() + c0, packed);
      }
      solve_rows(row0, rows, factor);
    }
  }

 private:
  void fill_products(const double* other, std::int64_t items, std::int64_t c0, std::int64_t width) {
    const int r = static_cast<int>(p_.rank);
    for (std::int64_t j = 0; j < items; ++j) {
      const double* o = other + j * r;
      double* out = products_.data() + j * width;
      for (std::int64_t c = 0; c < width; ++c) {
        const auto [k, l] = pairs_[static_cast<std::size_t>(c0 + c)];
        out[c] = o[k] * o[l];
      }
    }
  }

  // Serial on purpose: these O(rows r^3) solves sit between threaded BLAS calls, and OpenMP threads
  // spinning after a parallel region slowed the BLAS calls around them by 3-4x (2 cores).
  void solve_rows(std::int64_t row0, std::int64_t rows, double* factor) {
    const int r = static_cast<int>(p_.rank);
    const auto packed = static_cast<std::int64_t>(pairs_.size());
    std::vector<double> g(static_cast<std::size_t>(r) * r), y(static_cast<std::size_t>(r));
    for (std::int64_t t = 0; t < rows; ++t) {
      const double* upper = gram_.data() + t * packed;
      double trace = 0.0;
      for (int k = 0; k < r; ++k) trace += upper[static_cast<std::int64_t>(k) * (k + 3) / 2];
      if (!(trace > 0.0)) continue;  // no weight on this row: nothing to fit, keep it
      double* x = factor + (row0 + t) * r;
      const double* rhs = rhs_.data() + (row0 + t) * r;
      for (double mu = kProximal * trace / r; mu <= kProximalLimit * trace / r; mu *= 1e3) {
        for (std::size_t c = 0; c < pairs_.size(); ++c) {
          const auto [k, l] = pairs_[c];
          g[k * r + l] = g[l * r + k] = upper[c];
        }
        if (proximal_solve(r, mu, g.data(), rhs, x, y.data())) break;
      }
    }
  }

  const ElementwiseProblem& p_;
  std::vector<double> weighted_target_;     // w . W
  std::vector<std::pair<int, int>> pairs_;  // (k, l), k <= l, in packed order (column by column)
  std::vector<double> rhs_, products_, gram_;
};

// One EM step (Srebro & Jaakkola 2003): the truncated SVD of w~ . W + (1 - w~) . (a b^T) with
// w~ = w / max w. Never increases f in exact arithmetic.
void em_step(const ElementwiseProblem& p, double largest_weight, const SvdOptions& options, std::vector<double>& a,
             std::vector<double>& b, std::vector<double>& work) {
  const std::int64_t size = p.m * p.n, r = p.rank;
  work.resize(static_cast<std::size_t>(size));
  linalg::gemm<double>(false, true, p.m, p.n, r, 1.0, a.data(), r, b.data(), r, 0.0, work.data(), p.n);
  for (std::int64_t e = 0; e < size; ++e) {
    const double share = p.weights[e] / largest_weight;
    work[e] = share * p.target[e] + (1.0 - share) * work[e];
  }
  const TruncatedFactors<double> f = truncated_factors(p.m, p.n, work.data(), r, options);
  for (std::int64_t i = 0; i < p.m; ++i) {
    for (std::int64_t k = 0; k < r; ++k) a[i * r + k] = f.u[i * r + k] * f.s[k];
  }
  linalg::transpose(r, p.n, f.vt.data(), b.data());
}

// from + step (to - from), element by element.
void extrapolate(const std::vector<double>& from, const std::vector<double>& to, double step,
                 std::vector<double>& out) {
  out.resize(from.size());
  for (std::size_t e = 0; e < from.size(); ++e) out[e] = from[e] + step * (to[e] - from[e]);
}

}  // namespace

double elementwise_objective(const ElementwiseProblem& p, const double* a, const double* b, std::vector<double>& work) {
  const std::int64_t size = p.m * p.n;
  work.assign(p.target, p.target + size);
  linalg::gemm<double>(false, true, p.m, p.n, p.rank, -1.0, a, p.rank, b, p.rank, 1.0, work.data(), p.n);
  double sum = 0.0;
  const double* residual = work.data();
#pragma omp simd reduction(+ : sum)
  for (std::int64_t e = 0; e < size; ++e) sum += p.weights[e] * residual[e] * residual[e];
  return sum;
}

AlsOutcome alternating_least_squares(const ElementwiseProblem& p, std::vector<double>& a, std::vector<double>& b,
                                     const SvdOptions& options, const IterativeOptions& iteration) {
  AlsUpdates updates(p);
  std::vector<double> work, a_next, b_next, a_far, b_far;
  const double largest_weight = *std::max_element(p.weights, p.weights + p.m * p.n);
  AlsOutcome out;
  out.objective = elementwise_objective(p, a.data(), b.data(), work);
  double step = 1.0, previous_decrease = -1.0;
  for (std::int64_t sweep = 1; sweep <= iteration.max_iter; ++sweep) {
    a_next = a;
    b_next = b;
    updates.update(false, b_next.data(), a_next.data());
    updates.update(true, a_next.data(), b_next.data());
    double next = elementwise_objective(p, a_next.data(), b_next.data(), work);
    if (!(next < out.objective)) {
      // No progress (rounding near a minimum, or rows left unsolved): one EM step, else stop.
      a_next = a;
      b_next = b;
      em_step(p, largest_weight, options, a_next, b_next, work);
      next = elementwise_objective(p, a_next.data(), b_next.data(), work);
      if (!(next < out.objective)) {
        out.converged = true;
        break;
      }
    } else {
      extrapolate(a, a_next, 1.0 + step, a_far);
      extrapolate(b, b_next, 1.0 + step, b_far);
      const double far = elementwise_objective(p, a_far.data(), b_far.data(), work);
      if (far < next) {
        a_next.swap(a_far);
        b_next.swap(b_far);
        next = far;
        step = std::min(kStepGrowth * step, kMaxStep);
      } else {
        step = 1.0;
      }
    }
    const double decrease = out.objective - next;
    a.swap(a_next);
    b.swap(b_next);
    out.objective = next;
    out.iterations = sweep;
    // Linear convergence: with ratio q between successive decreases, ~ decrease q / (1 - q) remains.
    if (previous_decrease > 0.0) {
      const double ratio = std::min(decrease / previous_decrease, kMaxRatio);
      out.converged = decrease * ratio / (1.0 - ratio) <= iteration.tol * out.objective;
    }
    previous_decrease = decrease;
    if (iteration.callback && iteration.callback(sweep, std::sqrt(out.objective))) break;
    if (out.converged) break;
  }
  return out;
}

std::pair<std::vector<double>, std::vector<double>> rank_one_root(const ElementwiseProblem& p) {
  const std::int64_t size = p.m * p.n;
  std::vector<double> root(static_cast<std::size_t>(size));
  for (std::int64_t e = 0; e < size; ++e) root[e] = std::sqrt(p.weights[e]);
  std::vector<double> u(static_cast<std::size_t>(p.m)), v(static_cast<std::size_t>(p.n), 1.0 / std::sqrt(double(p.n)));
  const auto normalize = [](std::vector<double>& x) {
    double sum = 0.0;
    for (double value : x) sum += value * value;
    const double norm = std::sqrt(sum);
    if (norm > 0.0) {
      for (double& value : x) value /= norm;
    }
    return norm;
  };
  double sigma = 0.0;
  for (int iteration = 0; iteration < 200; ++iteration) {
    linalg::gemm<double>(false, false, p.m, 1, p.n, 1.0, root.data(), p.n, v.data(), 1, 0.0, u.data(), 1);
    normalize(u);
    linalg::gemm<double>(true, false, p.n, 1, p.m, 1.0, root.data(), p.n, u.data(), 1, 0.0, v.data(), 1);
    const double next = normalize(v);
    const bool settled = std::fabs(next - sigma) <= 1e-12 * next;
    sigma = next;
    if (settled) break;
  }
  const double scale = std::sqrt(sigma);
  for (double& value : u) value *= scale;
  for (double& value : v) value *= scale;
  return {std::move(u), std::move(v)};
}

TruncatedFactors<double> canonical_factors(const ElementwiseProblem& p, const std::vector<double>& a,
                                           const std::vector<double>& b) {
  const std::int64_t r = p.rank;
  std::vector<double> qa(a), qb(b), ra(static_cast<std::size_t>(r * r)), rb(ra.size()), core(ra.size());
  linalg::orthonormalize_columns(p.m, r, qa.data());
  linalg::orthonormalize_columns(p.n, r, qb.data());
  linalg::gemm<double>(true, false, r, r, p.m, 1.0, qa.data(), r, a.data(), r, 0.0, ra.data(), r);  // Qa^T a
  linalg::gemm<double>(true, false, r, r, p.n, 1.0, qb.data(), r, b.data(), r, 0.0, rb.data(), r);  // Qb^T b
  linalg::gemm<double>(false, true, r, r, r, 1.0, ra.data(), r, rb.data(), r, 0.0, core.data(), r);
  std::vector<double> u(ra.size()), vt(ra.size());
  TruncatedFactors<double> f;
  f.s.resize(static_cast<std::size_t>(r));
  if (!linalg::svd_thin(r, r, core.data(), f.s.data(), u.data(), vt.data())) {
    throw Error("lowrank: LAPACK's SVD of the start did not converge");
  }
  f.u.resize(static_cast<std::size_t>(p.m * r));
  f.vt.resize(static_cast<std::size_t>(r * p.n));
  linalg::gemm<double>(false, false, p.m, r, r, 1.0, qa.data(), r, u.data(), r, 0.0, f.u.data(), r);
  linalg::gemm<double>(false, true, r, p.n, r, 1.0, vt.data(), r, qb.data(), r, 0.0, f.vt.data(), p.n);
  return f;
}

}  // namespace mlprims::lowrank::detail
