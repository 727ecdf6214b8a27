// Entry points of mlprims/ot.hpp: argument checks, zero weights, batches, dtypes.
#include "mlprims/ot.hpp"

#include <cmath>
#include <exception>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/checks.hpp"
#include "core/math/elementary.hpp"
#include "core/parallel.hpp"
#include "core/typed_access.hpp"
#include "linalg/blas.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/core/threading.hpp"
#include "ot/cost_rows.hpp"
#include "ot/solver.hpp"
#include "ot/transport_gradient.hpp"

namespace mlprims::ot {
namespace {

using mlprims::detail::ArgRef;
using mlprims::detail::format_double;

std::vector<double> read_doubles(const TensorView& t, std::int64_t offset, std::int64_t count) {
  std::vector<double> out(static_cast<std::size_t>(count));
  const char* base = static_cast<const char*>(t.data());
  for (std::int64_t i = 0; i < count; ++i) out[i] = mlprims::detail::load_as_double(base, t.dtype(), offset + i);
  return out;
}

void write_doubles(const TensorView& t, std::int64_t offset, const std::vector<double>& values) {
  char* base = static_cast<char*>(t.data());
  for (std::size_t i = 0; i < values.size(); ++i)
    mlprims::detail::store_from_double(base, t.dtype(), offset + static_cast<std::int64_t>(i), values[i]);
}

void require_cpu_contiguous(const TensorView& t, ArgRef arg) {
  if (!t.device().is_cpu()) {
    throw TypeError(arg.prefix() + " must be a CPU array: the CUDA back end of ot is not built yet, got one on " +
                    t.device().str());
  }
  mlprims::detail::require_floating(t, arg);
  mlprims::detail::require_contiguous(t, arg);
}

// (n, m, d) of two point clouds x (n, d) and y (m, d), checked: CPU, contiguous, not empty.
std::tuple<std::int64_t, std::int64_t, std::int64_t> point_cloud_sizes(const TensorView& x, const TensorView& y,
                                                                       const char* function) {
  require_cpu_contiguous(x, {function, "x"});
  require_cpu_contiguous(y, {function, "y"});
  mlprims::detail::require_ndim(x, 2, {function, "x"});
  mlprims::detail::require_ndim(y, 2, {function, "y"});
  const std::int64_t n = x.shape(0), m = y.shape(0), d = x.shape(1);
  if (y.shape(1) != d) {
    throw ValueError(std::string(function) + ": 'y' must have as many columns as 'x' (" + std::to_string(d) +
                     "), got shape " + shape_str(y.shape()));
  }
  if (n == 0 || m == 0 || d == 0) {
    throw ValueError(std::string(function) + ": the point clouds must not be empty, got shapes " +
                     shape_str(x.shape()) + " and " + shape_str(y.shape()));
  }
  return {n, m, d};
}

void require_regularization(double reg, const char* function) {
  if (!(reg > 0.0) || !std::isfinite(reg)) {
    throw ValueError(std::string(function) + ": 'reg' must be positive and finite, got " + format_double(reg));
  }
}

// Weights of one problem (uniform when the view is empty), checked: finite, >= 0, positive sum.
std::vector<double> weights_of(const TensorView& t, std::int64_t problem, std::int64_t count, ArgRef arg) {
  if (t.data() == nullptr)
    return std::vector<double>(static_cast<std::size_t>(count), 1.0 / static_cast<double>(count));
  std::vector<double> w = read_doubles(t, problem * count, count);
  double sum = 0.0;
  for (std::int64_t i = 0; i < count; ++i) {
    if (!(w[i] >= 0.0) || !std::isfinite(w[i])) {
      throw ValueError(arg.prefix() + " must hold finite non-negative weights, got " + format_double(w[i]) +
                       " at index " + std::to_string(i) +
                       (problem > 0 ? " of problem " + std::to_string(problem) : ""));
    }
    sum += w[i];
  }
  if (!(sum > 0.0)) throw ValueError(arg.prefix() + " must have a positive sum, got 0");
  return w;
}

// The positions with positive weight, and the weights there.
struct Support {
  std::vector<std::int64_t> index;
  std::vector<double> weight;
  bool full = true;
};

Support support_of(const std::vector<double>& w) {
  Support s;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (w[i] > 0.0) s.index.push_back(static_cast<std::int64_t>(i)), s.weight.push_back(w[i]);
  }
  s.full = s.index.size() == w.size();
  return s;
}

void require_equal_mass(const Support& a, const Support& b, double tol, const char* function) {
  double sa = 0.0, sb = 0.0;
  for (const double x : a.weight) sa += x;
  for (const double x : b.weight) sb += x;
  if (std::fabs(sa - sb) > std::max(tol, 4.0 * std::numeric_limits<double>::epsilon() * sa)) {
    throw ValueError(std::string(function) + ": 'a' and 'b' must have the same total mass (within tol = " +
                     format_double(tol) + "), got sums " + format_double(sa) + " and " + format_double(sb) +
                     "; normalize them (nothing is rescaled silently)");
  }
}

// Potentials of the full problem from those of the support: -inf where the weight is zero.
std::vector<double> expand(const Support& s, const std::vector<double>& values, std::size_t size) {
  std::vector<double> out(size, -std::numeric_limits<double>::infinity());
  for (std::size_t k = 0; k < s.index.size(); ++k) out[static_cast<std::size_t>(s.index[k])] = values[k];
  return out;
}

std::vector<double> restrict_to(const Support& s, const std::vector<double>& values) {
  std::vector<double> out(s.index.size());
  for (std::size_t k = 0; k < s.index.size(); ++k) out[k] = values[static_cast<std::size_t>(s.index[k])];
  return out;
}

// The starting g on the support: the caller's (warm start, finite entries only) or zeros.
std::vector<double> starting_g(const TensorView& g, std::int64_t offset, std::int64_t m, const Support& sb,
                               bool warm_start, const char* function) {
  if (!warm_start) return std::vector<double>(sb.index.size(), 0.0);
  std::vector<double> start = restrict_to(sb, read_doubles(g, offset, m));
  for (const double x : start) {
    if (!std::isfinite(x)) {
      throw ValueError(std::string(function) + ": 'g' (warm start) must be finite where b > 0, got " +
                       format_double(x));
    }
  }
  return start;
}

struct CostSummary {
  double lowest = std::numeric_limits<double>::infinity(), highest = -std::numeric_limits<double>::infinity();
};

template <class T>
CostSummary summarize(const T* C, std::int64_t count, bool check_finite, const char* function) {
  CostSummary s;
  for (std::int64_t k = 0; k < count; ++k) {
    const double c = static_cast<double>(C[k]);
    if (check_finite && !std::isfinite(c)) {
      throw ValueError(std::string(function) + ": 'C' must be finite, got " + format_double(c) + " at flat index " +
                       std::to_string(k) + " (pass check_finite=False to skip this check)");
    }
    s.lowest = std::min(s.lowest, c);
    s.highest = std::max(s.highest, c);
  }
  return s;
}

template <class T>
SinkhornResult solve_dense(const T* C, std::int64_t n, std::int64_t m, const Support& sa, const Support& sb, double reg,
                           std::vector<double>& f, std::vector<double>& g, detail::SolveSettings settings,
                           bool round_potentials, int threads) {
  const CostSummary summary = summarize(C, n * m, true, "sinkhorn");
  settings.cost_range = std::max(summary.highest - summary.lowest, reg);
  const detail::Marginals w = detail::make_marginals(sa.weight, sb.weight);
  if (sa.full && sb.full) {
    const auto cost = detail::dense_cost(n, m, C, m);
    return detail::solve_problem(*cost, w, reg, f, g, settings, round_potentials, threads);
  }
  // Zero weights: the problem on the support, copied (their rows and columns of P are zero).
  const std::int64_t rows = static_cast<std::int64_t>(sa.index.size()),
                     cols = static_cast<std::int64_t>(sb.index.size());
  std::vector<double> compact(static_cast<std::size_t>(rows * cols));
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j)
      compact[i * cols + j] = static_cast<double>(C[sa.index[i] * m + sb.index[j]]);
  const auto cost = detail::dense_cost(rows, cols, compact.data(), cols);
  return detail::solve_problem(*cost, w, reg, f, g, settings, round_potentials, threads);
}

}  // namespace

std::vector<SinkhornResult> sinkhorn(const TensorView& a, const TensorView& b, const TensorView& C, double reg,
                                     const TensorView& f, const TensorView& g, const IterativeOptions& iteration,
                                     const SinkhornOptions& options) {
  constexpr const char* kFunction = "sinkhorn";
  if (C.ndim() != 2 && C.ndim() != 3) {
    throw ValueError(std::string(kFunction) + ": 'C' must be 2-D (n, m) or 3-D (batch, n, m), got shape " +
                     shape_str(C.shape()));
  }
  if (C.numel() == 0)
    throw ValueError(std::string(kFunction) + ": 'C' must not be empty, got shape " + shape_str(C.shape()));
  require_cpu_contiguous(C, {kFunction, "C"});
  const bool batched = C.ndim() == 3;
  const std::int64_t B = batched ? C.shape(0) : 1, n = C.shape(batched ? 1 : 0), m = C.shape(batched ? 2 : 1);
  const Shape a_shape = batched ? Shape{B, n} : Shape{n}, b_shape = batched ? Shape{B, m} : Shape{m};
  if (a.data() != nullptr)
    require_cpu_contiguous(a, {kFunction, "a"}), mlprims::detail::require_shape(a, a_shape, {kFunction, "a"});
  if (b.data() != nullptr)
    require_cpu_contiguous(b, {kFunction, "b"}), mlprims::detail::require_shape(b, b_shape, {kFunction, "b"});
  for (const auto& [view, name, shape] : {std::tuple{&f, "f", a_shape}, std::tuple{&g, "g", b_shape}}) {
    require_cpu_contiguous(*view, {kFunction, name});
    mlprims::detail::require_writable(*view, {kFunction, name});
    mlprims::detail::require_shape(*view, shape, {kFunction, name});
  }
  require_regularization(reg, kFunction);
  detail::SolveSettings settings = detail::resolve_settings(iteration, options, n, m);
  if (!(settings.tol > 0.0))
    throw ValueError(std::string(kFunction) + ": 'tol' must be positive, got " + format_double(settings.tol));
  const bool round_potentials = f.dtype() == DType::kFloat32 || g.dtype() == DType::kFloat32;

  // Checks first, for every problem, so that a bad one fails the call before any work.
  std::vector<Support> sa(B), sb(B);
  for (std::int64_t p = 0; p < B; ++p) {
    sa[p] = support_of(weights_of(a, p, n, {kFunction, "a"}));
    sb[p] = support_of(weights_of(b, p, m, {kFunction, "b"}));
    require_equal_mass(sa[p], sb[p], settings.tol, kFunction);
  }
  std::vector<SinkhornResult> results(static_cast<std::size_t>(B));
  // Problems in parallel, each on one thread, when there are several and no callback to serialize.
  const int threads = get_num_threads();
  const bool across = B > 1 && threads > 1 && !settings.callback;
  std::vector<std::exception_ptr> failures(static_cast<std::size_t>(B));
  // The Newton steps' direct solve calls LAPACK: single-threaded inside the loop over problems,
  // with the thread count set here, outside the parallel region.
  std::optional<linalg::SerialBlasScope> serial_blas;
  if (across) {
    serial_blas.emplace();
    linalg::apply_blas_threads();
  }
#pragma omp parallel for num_threads(across ? threads : 1) schedule(dynamic)
  for (std::int64_t p = 0; p < B; ++p) {
    try {
      std::vector<double> fp(sa[p].index.size());
      std::vector<double> gp = starting_g(g, p * m, m, sb[p], options.warm_start, kFunction);
      const int inner = across ? 1 : threads;
      results[p] = C.dtype() == DType::kFloat32 ? solve_dense(C.data_as<const float>() + p * n * m, n, m, sa[p], sb[p],
                                                              reg, fp, gp, settings, round_potentials, inner)
                                                : solve_dense(C.data_as<const double>() + p * n * m, n, m, sa[p], sb[p],
                                                              reg, fp, gp, settings, round_potentials, inner);
      write_doubles(f, p * n, expand(sa[p], fp, static_cast<std::size_t>(n)));
      write_doubles(g, p * m, expand(sb[p], gp, static_cast<std::size_t>(m)));
    } catch (...) {  // rethrown as it came (a callback's Python exception included), first problem first
      failures[p] = std::current_exception();
    }
  }
  for (const std::exception_ptr& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
  return results;
}

SinkhornResult sinkhorn_points(const TensorView& x, const TensorView& y, const TensorView& a, const TensorView& b,
                               double reg, PointCost cost, const TensorView& f, const TensorView& g,
                               const IterativeOptions& iteration, const SinkhornOptions& options) {
  constexpr const char* kFunction = "sinkhorn_points";
  const auto [n, m, d] = point_cloud_sizes(x, y, kFunction);
  if (a.data() != nullptr)
    require_cpu_contiguous(a, {kFunction, "a"}), mlprims::detail::require_shape(a, {n}, {kFunction, "a"});
  if (b.data() != nullptr)
    require_cpu_contiguous(b, {kFunction, "b"}), mlprims::detail::require_shape(b, {m}, {kFunction, "b"});
  for (const auto& [view, name, count] : {std::tuple{&f, "f", n}, std::tuple{&g, "g", m}}) {
    require_cpu_contiguous(*view, {kFunction, name});
    mlprims::detail::require_writable(*view, {kFunction, name});
    mlprims::detail::require_shape(*view, {count}, {kFunction, name});
  }
  require_regularization(reg, kFunction);
  detail::SolveSettings settings = detail::resolve_settings(iteration, options, n, m);
  const Support sa = support_of(weights_of(a, 0, n, {kFunction, "a"}));
  const Support sb = support_of(weights_of(b, 0, m, {kFunction, "b"}));
  require_equal_mass(sa, sb, settings.tol, kFunction);

  // The points on the support, as doubles.
  const auto gather = [&](const TensorView& points, const Support& s, const char* name) {
    const std::vector<double> all = read_doubles(points, 0, points.shape(0) * d);
    std::vector<double> out;
    out.reserve(s.index.size() * static_cast<std::size_t>(d));
    for (const std::int64_t i : s.index) {
      for (std::int64_t k = 0; k < d; ++k) {
        const double v = all[i * d + k];
        if (iteration.check_finite && !std::isfinite(v)) {
          throw ValueError(std::string(kFunction) + ": '" + name + "' must be finite, got " + format_double(v) +
                           " at row " + std::to_string(i));
        }
        out.push_back(v);
      }
    }
    return out;
  };
  const std::vector<double> xs = gather(x, sa, "x"), ys = gather(y, sb, "y");
  const std::int64_t rows = static_cast<std::int64_t>(sa.index.size()),
                     cols = static_cast<std::int64_t>(sb.index.size());
  // The cost range for epsilon scaling: the diameter of the bounding box of both clouds.
  double diameter2 = 0.0;
  for (std::int64_t k = 0; k < d; ++k) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::int64_t i = 0; i < rows; ++i) lo = std::min(lo, xs[i * d + k]), hi = std::max(hi, xs[i * d + k]);
    for (std::int64_t j = 0; j < cols; ++j) lo = std::min(lo, ys[j * d + k]), hi = std::max(hi, ys[j * d + k]);
    diameter2 += (hi - lo) * (hi - lo);
  }
  settings.cost_range = std::max(cost == PointCost::kSqEuclidean ? diameter2 : std::sqrt(diameter2), reg);
  const auto rows_of_cost = detail::point_cost(rows, cols, d, xs.data(), ys.data(), cost);
  const detail::Marginals w = detail::make_marginals(sa.weight, sb.weight);
  std::vector<double> fp(sa.index.size());
  std::vector<double> gp = starting_g(g, 0, m, sb, options.warm_start, kFunction);
  const bool round_potentials = f.dtype() == DType::kFloat32 || g.dtype() == DType::kFloat32;
  const SinkhornResult result =
      detail::solve_problem(*rows_of_cost, w, reg, fp, gp, settings, round_potentials, get_num_threads());
  write_doubles(f, 0, expand(sa, fp, static_cast<std::size_t>(n)));
  write_doubles(g, 0, expand(sb, gp, static_cast<std::size_t>(m)));
  return result;
}

void transport_gradient_points(const TensorView& x, const TensorView& y, const TensorView& f, const TensorView& g,
                               double reg, PointCost cost, const TensorView& grad_x, const TensorView& grad_y) {
  constexpr const char* kFunction = "transport_gradient_points";
  const auto [n, m, d] = point_cloud_sizes(x, y, kFunction);
  for (const auto& [view, name, shape] :
       {std::tuple{&f, "f", Shape{n}}, std::tuple{&g, "g", Shape{m}}, std::tuple{&grad_x, "grad_x", Shape{n, d}},
        std::tuple{&grad_y, "grad_y", Shape{m, d}}}) {
    require_cpu_contiguous(*view, {kFunction, name});
    mlprims::detail::require_shape(*view, shape, {kFunction, name});
  }
  mlprims::detail::require_writable(grad_x, {kFunction, "grad_x"});
  mlprims::detail::require_writable(grad_y, {kFunction, "grad_y"});
  require_regularization(reg, kFunction);
  const std::vector<double> xs = read_doubles(x, 0, n * d), ys = read_doubles(y, 0, m * d);
  const std::vector<double> fs = read_doubles(f, 0, n), gs = read_doubles(g, 0, m);
  std::vector<double> gx(static_cast<std::size_t>(n * d)), gy(static_cast<std::size_t>(m * d));
  const int threads = get_num_threads();
  detail::transport_gradient(*detail::point_cost(n, m, d, xs.data(), ys.data(), cost), d, fs.data(), gs.data(), reg,
                             gx.data(), threads);
  detail::transport_gradient(*detail::point_cost(m, n, d, ys.data(), xs.data(), cost), d, gs.data(), fs.data(), reg,
                             gy.data(), threads);
  write_doubles(grad_x, 0, gx);
  write_doubles(grad_y, 0, gy);
}

void transport_plan(const TensorView& f, const TensorView& g, const TensorView& C, double reg, const TensorView& P) {
  constexpr const char* kFunction = "transport_plan";
  for (const auto& [view, name] : {std::pair{&f, "f"}, std::pair{&g, "g"}, std::pair{&C, "C"}, std::pair{&P, "P"}})
    require_cpu_contiguous(*view, {kFunction, name});
  mlprims::detail::require_writable(P, {kFunction, "P"});
  mlprims::detail::require_shape(P, C.shape(), {kFunction, "P"});
  require_regularization(reg, kFunction);
  const bool batched = C.ndim() == 3;
  if (C.ndim() != 2 && !batched)
    throw ValueError(std::string(kFunction) + ": 'C' must be 2-D or 3-D, got shape " + shape_str(C.shape()));
  const std::int64_t B = batched ? C.shape(0) : 1, n = C.shape(batched ? 1 : 0), m = C.shape(batched ? 2 : 1);
  mlprims::detail::require_shape(f, batched ? Shape{B, n} : Shape{n}, {kFunction, "f"});
  mlprims::detail::require_shape(g, batched ? Shape{B, m} : Shape{m}, {kFunction, "g"});
  const char* cbase = static_cast<const char*>(C.data());
  char* pbase = static_cast<char*>(P.data());
  const std::int64_t rows = B * n;
  const int threads = std::min(get_num_threads(), mlprims::detail::threads_for(rows * m, 1 << 15));
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t p = r / n;
    const double fi = mlprims::detail::load_as_double(static_cast<const char*>(f.data()), f.dtype(), r);
    for (std::int64_t j = 0; j < m; ++j) {
      const double gj = mlprims::detail::load_as_double(static_cast<const char*>(g.data()), g.dtype(), p * m + j);
      const double c = mlprims::detail::load_as_double(cbase, C.dtype(), r * m + j);
      mlprims::detail::store_from_double(pbase, P.dtype(), r * m + j,
                                         mlprims::detail::exp_flush_to_zero((fi + gj - c) / reg));
    }
  }
}

}  // namespace mlprims::ot
