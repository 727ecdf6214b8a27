// The masked AdamW step: one pass over the masked coordinates of a parameter, its gradient and the
// compact moments (optimizer memory proportional to the masked count, not the parameter size).
#include <cmath>
#include <string>
#include <type_traits>

#include "core/checks.hpp"
#include "core/float_elements.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/sparse.hpp"
#include "sparse/argument_checks.hpp"
#include "sparse/masked_positions.hpp"

namespace mlprims::sparse {

using mlprims::detail::round_from_double;
using mlprims::detail::to_double;

namespace {

constexpr const char* kFunction = "sparse.MaskedAdam";

// Coordinates worth a thread. A step costs 10-15 ns a coordinate (gathers, a square root and a
// division in float64) and the finiteness count 2-3 ns, so 4096 and 16384 of them outweigh a
// thread's start; the default grain (2^15) kept a 5% mask of 1e6 weights on one thread.
constexpr std::int64_t kAdamGrain = std::int64_t{1} << 12;
constexpr std::int64_t kCountGrain = std::int64_t{1} << 14;

void check_options(const AdamOptions& o) {
  const auto fail = [](const char* name, const std::string& expected, double got) {
    throw ValueError(std::string(kFunction) + ": '" + name + "' must be " + expected + ", got " +
                     mlprims::detail::format_double(got));
  };
  if (!(std::isfinite(o.lr) && o.lr >= 0.0)) fail("lr", "finite and >= 0", o.lr);
  if (!(o.beta1 >= 0.0 && o.beta1 < 1.0)) fail("betas[0]", "in [0, 1)", o.beta1);
  if (!(o.beta2 >= 0.0 && o.beta2 < 1.0)) fail("betas[1]", "in [0, 1)", o.beta2);
  if (!(std::isfinite(o.eps) && o.eps >= 0.0)) fail("eps", "finite and >= 0", o.eps);
  if (!(std::isfinite(o.weight_decay) && o.weight_decay >= 0.0))
    fail("weight_decay", "finite and >= 0", o.weight_decay);
  if (o.step < 1) fail("step", ">= 1", static_cast<double>(o.step));
}

void check_moment(const TensorView& moment, const TensorView& param, std::int64_t nnz, const char* name) {
  const DType expected = param.dtype() == DType::kFloat64 ? DType::kFloat64 : DType::kFloat32;
  mlprims::detail::require_dtype(moment, expected, {kFunction, name});
  detail::require_vector(moment, nnz, {kFunction, name});
  mlprims::detail::require_writable(moment, {kFunction, name});
  detail::require_disjoint(moment, param, {kFunction, name}, {kFunction, "param"});
}

}  // namespace

std::int64_t count_nonfinite(const TensorView& values, const Support& mask) {
  detail::require_weights(values, {kFunction, "grad"});
  const detail::MaskedPositions positions(mask, values.numel(), {kFunction, "mask"});
  std::int64_t count = 0;
  mlprims::detail::visit_float_type(values.dtype(), [&](auto tag) {
    const auto* v = values.data_as<const decltype(tag)>();
    // Per-thread counts through an atomic add at the end of each coordinate would contend; the
    // count is rare, so one atomic per non-finite entry is cheap.
    positions.for_each(
        [&](std::int64_t p, std::int64_t) {
          if (!std::isfinite(to_double(v[p]))) {
#pragma omp atomic
            ++count;
          }
        },
        kCountGrain);
  });
  return count;
}

void masked_adam_step(const TensorView& param, const TensorView& grad, const Support& mask, const TensorView& exp_avg,
                      const TensorView& exp_avg_sq, const AdamOptions& options) {
  detail::require_weights(param, {kFunction, "param"});
  mlprims::detail::require_writable(param, {kFunction, "param"});
  detail::require_weights(grad, {kFunction, "grad"});
  detail::require_same_layout(grad, param, {kFunction, "grad"}, {kFunction, "param"});
  detail::require_disjoint(grad, param, {kFunction, "grad"}, {kFunction, "param"});
  check_options(options);
  const detail::MaskedPositions positions(mask, param.numel(), {kFunction, "mask"});
  check_moment(exp_avg, param, positions.nnz(), "exp_avg");
  check_moment(exp_avg_sq, param, positions.nnz(), "exp_avg_sq");
  detail::require_disjoint(exp_avg, exp_avg_sq, {kFunction, "exp_avg"}, {kFunction, "exp_avg_sq"});

  const double step = static_cast<double>(options.step);
  const double decay = 1.0 - options.lr * options.weight_decay;
  const double step_size = options.lr / (1.0 - std::pow(options.beta1, step));
  // A multiply by the inverse instead of torch's division: one division per coordinate fewer (the
  // step's cost is its divisions), at most one float64 rounding apart.
  const double inverse_bias_correction2_sqrt = 1.0 / std::sqrt(1.0 - std::pow(options.beta2, step));
  const double one_minus_beta1 = 1.0 - options.beta1, one_minus_beta2 = 1.0 - options.beta2;
  const double beta2 = options.beta2, eps = options.eps;  // locals: the inner loop keeps them in registers
  mlprims::detail::visit_float_type(param.dtype(), [&](auto p_tag) {
    using P = decltype(p_tag);
    using M = std::conditional_t<std::is_same_v<P, double>, double, float>;
    P* w = param.data_as<P>();
    const P* g = grad.data_as<const P>();
    M* m = exp_avg.data_as<M>();
    M* v = exp_avg_sq.data_as<M>();
    detail::update_each(
        w, positions,
        [&](double* weight, const std::int64_t* p, std::int64_t first, int count) {
          double gradient[detail::MaskedPositions::kBlock];
          for (int i = 0; i < count; ++i) gradient[i] = to_double(g[p[i]]);
          M* mj = m + first;
          M* vj = v + first;
          for (int i = 0; i < count; ++i) {
            const M m_new = static_cast<M>(static_cast<double>(mj[i]) +
                                           one_minus_beta1 * (gradient[i] - static_cast<double>(mj[i])));
            const M v_new =
                static_cast<M>(beta2 * static_cast<double>(vj[i]) + one_minus_beta2 * gradient[i] * gradient[i]);
            mj[i] = m_new;
            vj[i] = v_new;
            const double denominator = std::sqrt(static_cast<double>(v_new)) * inverse_bias_correction2_sqrt + eps;
            weight[i] = weight[i] * decay - step_size * (static_cast<double>(m_new) / denominator);
          }
        },
        kAdamGrain);
  });
}

}  // namespace mlprims::sparse
