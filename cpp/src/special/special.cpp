#include "mlprims/special.hpp"

#include "core/checks.hpp"
#include "special/backend.hpp"
#include "special/math/log_bessel.hpp"

namespace mlprims::special {
namespace {

using detail::BesselFunction;
using mlprims::detail::ArgRef;

void run(BesselFunction function, const char* name, const TensorView& v, const TensorView& x, const TensorView& out) {
  const ArgRef v_arg{name, "v"}, x_arg{name, "x"}, out_arg{name, "out"};
  mlprims::detail::require_floating(v, v_arg);
  mlprims::detail::require_dtype(x, v.dtype(), x_arg);
  mlprims::detail::require_dtype(out, v.dtype(), out_arg);
  mlprims::detail::require_same_device(x, v.device(), x_arg);
  mlprims::detail::require_same_device(out, v.device(), out_arg);
  mlprims::detail::require_cuda_build(v, v_arg);
  mlprims::detail::require_writable(out, out_arg);
  const Shape shape = mlprims::detail::broadcast_shapes(v.shape(), x.shape(), v_arg, x_arg);
  mlprims::detail::require_shape(out, shape, out_arg);
  mlprims::detail::require_no_partial_overlap(out, v, out_arg, v_arg);
  mlprims::detail::require_no_partial_overlap(out, x, out_arg, x_arg);
  if (out.numel() == 0) return;
#if defined(MLPRIMS_WITH_CUDA)
  if (v.device().is_cuda()) return detail::bessel_cuda(function, v, x, out);
#endif
  detail::bessel_cpu(function, v, x, out);
}

}  // namespace

void log_iv(const TensorView& v, const TensorView& x, const TensorView& out) {
  run(BesselFunction::kLogIv, "log_iv", v, x, out);
}
void log_kv(const TensorView& v, const TensorView& x, const TensorView& out) {
  run(BesselFunction::kLogKv, "log_kv", v, x, out);
}
void iv_ratio(const TensorView& v, const TensorView& x, const TensorView& out) {
  run(BesselFunction::kIvRatio, "iv_ratio", v, x, out);
}
void log_iv_derivative(const TensorView& v, const TensorView& x, const TensorView& out) {
  run(BesselFunction::kLogIvDerivative, "log_iv_derivative", v, x, out);
}
void log_kv_derivative(const TensorView& v, const TensorView& x, const TensorView& out) {
  run(BesselFunction::kLogKvDerivative, "log_kv_derivative", v, x, out);
}
void iv_ratio_derivative(const TensorView& v, const TensorView& x, const TensorView& out) {
  run(BesselFunction::kIvRatioDerivative, "iv_ratio_derivative", v, x, out);
}

double log_iv(double v, double x) { return detail::log_iv_cpu(v, x); }
double log_kv(double v, double x) { return detail::log_kv_cpu(v, x); }
double iv_ratio(double v, double x) { return detail::iv_ratio(v, x); }
double log_iv_derivative(double v, double x) { return detail::log_iv_derivative(v, x); }
double log_kv_derivative(double v, double x) { return detail::log_kv_derivative(v, x); }
double iv_ratio_derivative(double v, double x) { return detail::iv_ratio_derivative(v, x); }

}  // namespace mlprims::special
