#include "mlprims/vmf.hpp"

#include <cmath>
#include <cstdio>
#include <string>

#include "core/checks.hpp"
#include "core/vector_io.hpp"
#include "vmf/backend.hpp"
#include "vmf/kappa_solver.hpp"
#include "vmf/math/vmf_math.hpp"

namespace mlprims::vmf {
namespace {

using mlprims::detail::ArgRef;
using mlprims::detail::format_double;
namespace checks = mlprims::detail;

double checked_dim(std::int64_t dim, const char* function) {
  if (dim < 2) throw ValueError(std::string(function) + ": 'dim' must be >= 2, got " + std::to_string(dim));
  if (dim > kMaxDim) {
    throw ValueError(std::string(function) + ": 'dim' must be <= 2**53 = " + std::to_string(kMaxDim) + ", got " +
                     std::to_string(dim));
  }
  return static_cast<double>(dim);
}

void require_floating_storage(DType stored, ArgRef arg) {
  if (stored != DType::kFloat16 && stored != DType::kBFloat16 && stored != DType::kFloat32 &&
      stored != DType::kFloat64) {
    throw TypeError(arg.prefix() + ": its stored dtype must be float16, bfloat16, float32 or float64, got " +
                    dtype_name(stored));
  }
}

void require_unit_norm(double squared_norm, DType stored, ArgRef arg, const std::string& where) {
  const double tolerance = unit_norm_tolerance(stored);
  const double deviation = std::fabs(std::sqrt(squared_norm) - 1.0);
  if (!(deviation <= tolerance)) {
    throw ValueError(arg.prefix() + " must have unit norm (1 within " + format_double(tolerance) + " for " +
                     dtype_name(stored) + "), got norm " + format_double(std::sqrt(squared_norm)) + where);
  }
}

void require_unit_rows(const detail::WorstRow& worst, DType dtype, ArgRef arg) {
  if (worst.index >= 0) {
    require_unit_norm(worst.squared_norm, dtype, arg, " in row " + std::to_string(worst.index));
  }
}

void run_normalizer(detail::NormalizerFunction function, const char* name, const TensorView& kappa, std::int64_t dim,
                    const TensorView& out) {
  const ArgRef kappa_arg{name, "kappa"}, out_arg{name, "out"};
  const double p = checked_dim(dim, name);
  checks::require_floating(kappa, kappa_arg);
  checks::require_dtype(out, kappa.dtype(), out_arg);
  checks::require_same_device(out, kappa.device(), out_arg);
  checks::require_cuda_build(kappa, kappa_arg);
  checks::require_writable(out, out_arg);
  checks::require_shape(out, kappa.shape(), out_arg);
  checks::require_no_partial_overlap(out, kappa, out_arg, kappa_arg);
  if (out.numel() == 0) return;
#if defined(MLPRIMS_WITH_CUDA)
  if (kappa.device().is_cuda()) return detail::normalizer_cuda(function, kappa, p, out);
#endif
  detail::normalizer_cpu(function, kappa, p, out);
}

// Checks X (n, p) with n >= 1 and p >= 2; returns p.
std::int64_t check_points(const TensorView& X, ArgRef arg) {
  checks::require_floating(X, arg);
  checks::require_ndim(X, 2, arg);
  checks::require_cuda_build(X, arg);
  if (X.shape(1) < 2) {
    throw ValueError(arg.prefix() + " must have at least 2 columns (the dimension p), got shape " +
                     shape_str(X.shape()));
  }
  return X.shape(1);
}

}  // namespace

double unit_norm_tolerance(DType stored) {
  double unit_roundoff = 0.0, floor = 1e-4;
  switch (stored) {
    case DType::kFloat16:
      unit_roundoff = std::ldexp(1.0, -11);
      break;
    case DType::kBFloat16:
      unit_roundoff = std::ldexp(1.0, -8);
      break;
    case DType::kFloat32:
      unit_roundoff = std::ldexp(1.0, -24);
      break;
    case DType::kFloat64:
      unit_roundoff = std::ldexp(1.0, -53), floor = 1e-5;
      break;
    default:
      throw TypeError(std::string("unit_norm_tolerance: 'stored' must be a floating dtype, got ") + dtype_name(stored));
  }
  return std::fmax(floor, 4.0 * unit_roundoff);
}

void log_normalizer(const TensorView& kappa, std::int64_t dim, const TensorView& out) {
  run_normalizer(detail::NormalizerFunction::kLogNormalizer, "log_normalizer", kappa, dim, out);
}

void mean_resultant_length(const TensorView& kappa, std::int64_t dim, const TensorView& out) {
  run_normalizer(detail::NormalizerFunction::kMeanResultantLength, "mean_resultant_length", kappa, dim, out);
}

double log_normalizer(double kappa, std::int64_t dim) {
  return detail::log_normalizer(kappa, checked_dim(dim, "log_normalizer"));
}

double mean_resultant_length(double kappa, std::int64_t dim) {
  return detail::mean_resultant_length(kappa, checked_dim(dim, "mean_resultant_length"));
}

void log_prob(const TensorView& X, const TensorView& mu, double kappa, const TensorView& out) {
  log_prob(X, mu, kappa, out, X.dtype(), mu.dtype());
}

void log_prob(const TensorView& X, const TensorView& mu, double kappa, const TensorView& out, DType x_stored,
              DType mu_stored) {
  const char* name = "log_prob";
  const ArgRef x_arg{name, "X"}, mu_arg{name, "mu"}, out_arg{name, "out"};
  const std::int64_t p = check_points(X, x_arg);
  checks::require_dtype(mu, X.dtype(), mu_arg);
  checks::require_shape(mu, {p}, mu_arg);
  checks::require_same_device(mu, X.device(), mu_arg);
  checks::require_dtype(out, X.dtype(), out_arg);
  checks::require_shape(out, {X.shape(0)}, out_arg);
  checks::require_same_device(out, X.device(), out_arg);
  checks::require_writable(out, out_arg);
  checks::require_no_partial_overlap(out, X, out_arg, x_arg);
  checks::require_no_partial_overlap(out, mu, out_arg, mu_arg);
  require_floating_storage(x_stored, x_arg);
  require_floating_storage(mu_stored, mu_arg);
  if (!(kappa >= 0.0) || std::isinf(kappa)) {
    throw ValueError(std::string(name) + ": 'kappa' must be finite and >= 0, got " + format_double(kappa));
  }
  const std::vector<double> direction = checks::read_vector(mu);
  double squared_norm = 0.0;
  for (double value : direction) squared_norm += value * value;
  require_unit_norm(squared_norm, mu_stored, mu_arg, "");
  if (X.shape(0) == 0) return;
  const double log_c = detail::log_normalizer(kappa, static_cast<double>(p));
  detail::WorstRow worst;
#if defined(MLPRIMS_WITH_CUDA)
  if (X.device().is_cuda()) worst = detail::log_prob_cuda(X, direction, kappa, log_c, out);
#endif
  if (X.device().is_cpu()) worst = detail::log_prob_cpu(X, direction, kappa, log_c, out);
  require_unit_rows(worst, x_stored, x_arg);
}

namespace {

// solve_kappa's answer with the residual it leaves.
KappaEstimate kappa_report(double rbar, double p) {
  const detail::KappaSolution s = detail::solve_kappa(rbar, p);
  KappaEstimate estimate;
  estimate.kappa = s.kappa;
  estimate.iterations = s.iterations;
  estimate.converged = s.converged;
  if (s.kappa > 0.0 && std::isfinite(s.kappa)) {
    const auto a = special::detail::iv_ratio_perron(0.5 * p, s.kappa);
    estimate.error = rbar > 0.5 ? std::fabs((1.0 - rbar) - a.complement) : std::fabs(a.ratio - rbar);
  }
  return estimate;
}

}  // namespace

KappaEstimate kappa_mle(double rbar, std::int64_t dim) {
  const double p = checked_dim(dim, "kappa_mle");
  if (!(rbar >= 0.0 && rbar <= 1.0)) {
    throw ValueError("kappa_mle: 'rbar' must be in [0, 1], got " + format_double(rbar));
  }
  return kappa_report(rbar, p);
}

FitResult fit(const TensorView& X, const TensorView* weights, const TensorView& mu_out) {
  return fit(X, weights, mu_out, X.dtype());
}

FitResult fit(const TensorView& X, const TensorView* weights, const TensorView& mu_out, DType x_stored) {
  const char* name = "fit";
  const ArgRef x_arg{name, "X"}, w_arg{name, "weights"}, mu_arg{name, "mu_out"};
  const std::int64_t p = check_points(X, x_arg);
  require_floating_storage(x_stored, x_arg);
  const std::int64_t n = X.shape(0);
  if (n == 0) throw ValueError("fit: 'X' must have at least one row, got shape " + shape_str(X.shape()));
  if (weights) {
    checks::require_dtype(*weights, X.dtype(), w_arg);
    checks::require_shape(*weights, {n}, w_arg);
    checks::require_same_device(*weights, X.device(), w_arg);
  }
  checks::require_dtype(mu_out, X.dtype(), mu_arg);
  checks::require_shape(mu_out, {p}, mu_arg);
  checks::require_same_device(mu_out, X.device(), mu_arg);
  checks::require_writable(mu_out, mu_arg);
  checks::require_no_partial_overlap(mu_out, X, mu_arg, x_arg);

  detail::WeightedSum s;
#if defined(MLPRIMS_WITH_CUDA)
  if (X.device().is_cuda()) s = detail::weighted_sum_cuda(X, weights);
#endif
  if (X.device().is_cpu()) s = detail::weighted_sum_cpu(X, weights);
  if (s.bad_weight_index >= 0) {
    throw ValueError("fit: 'weights' must be finite and >= 0, got a bad value at index " +
                     std::to_string(s.bad_weight_index));
  }
  require_unit_rows(s.worst_row, x_stored, x_arg);
  if (!(s.total_weight > 0.0)) throw ValueError("fit: 'weights' must have a positive sum, got 0");

  double norm = 0.0;
  for (double value : s.sum) norm += value * value;
  norm = std::sqrt(norm);
  std::vector<double> mu(static_cast<std::size_t>(p), 0.0);
  if (norm > 0.0) {
    for (std::int64_t j = 0; j < p; ++j) mu[j] = s.sum[j] / norm;
  } else {
    mu[0] = 1.0;  // no preferred direction (rbar = 0): any unit vector is a maximizer
  }
  const double rbar = std::fmin(norm / s.total_weight, 1.0);
  FitResult result;
  static_cast<KappaEstimate&>(result) = kappa_report(rbar, static_cast<double>(p));
  result.mean_resultant_length = rbar;
  checks::write_vector(mu, mu_out);
  return result;
}

}  // namespace mlprims::vmf
