#include "mfac/argument_checks.hpp"

#include <cmath>
#include <cstdio>

#include "mlprims/core/error.hpp"

namespace mlprims::mfac::detail {

using mlprims::detail::ArgRef;
using mlprims::detail::format_double;
namespace checks = mlprims::detail;

namespace {

void require_gradient_dtype(const TensorView& t, ArgRef arg) {
  if (t.dtype() != DType::kFloat32 && t.dtype() != DType::kFloat64 && t.dtype() != DType::kBFloat16) {
    throw TypeError(arg.prefix() + " must have dtype float32, float64 or bfloat16, got " + dtype_name(t.dtype()));
  }
}

}  // namespace

GradientRows checked_gradients(const TensorView& grads, ArgRef arg) {
  require_gradient_dtype(grads, arg);
  checks::require_ndim(grads, 2, arg);
  checks::require_cuda_build(grads, arg);
  if (grads.shape(0) < 1) {
    throw ValueError(arg.prefix() + " must hold at least one gradient (m >= 1), got shape " + shape_str(grads.shape()));
  }
  if (grads.shape(1) < 1) {
    throw ValueError(arg.prefix() + " must have at least one column (d >= 1), got shape " + shape_str(grads.shape()));
  }
  if (grads.stride(1) != 1 && grads.shape(1) > 1) {
    throw ValueError(arg.prefix() + " must have contiguous rows (stride 1 along d), got strides " +
                     shape_str(grads.strides()));
  }
  GradientRows g;
  g.data = static_cast<const char*>(grads.data());
  g.dtype = grads.dtype();
  g.rows = grads.shape(0);
  g.cols = grads.shape(1);
  g.row_stride = grads.stride(0);
  return g;
}

void check_damp(double damp, const char* function) {
  if (!(damp > 0.0) || std::isinf(damp)) {
    throw ValueError(std::string(function) + ": 'damp' must be finite and > 0, got " + format_double(damp));
  }
}

void check_vectors(const TensorView& x, const TensorView& out, std::int64_t d, const Device& device,
                   const char* function, const char* x_name) {
  const ArgRef x_arg{function, x_name}, out_arg{function, "out"};
  checks::require_floating(x, x_arg);
  if (x.ndim() < 1 || x.ndim() > 2 || x.shape(x.ndim() - 1) != d) {
    throw ValueError(x_arg.prefix() + " must have shape (" + std::to_string(d) + ",) or (k, " + std::to_string(d) +
                     ") to match the gradients' dimension " + std::to_string(d) + ", got " + shape_str(x.shape()));
  }
  checks::require_same_device(x, device, x_arg);
  checks::require_floating(out, out_arg);
  checks::require_shape(out, x.shape(), out_arg);
  checks::require_same_device(out, device, out_arg);
  checks::require_writable(out, out_arg);
  // x is read again by every refinement step: out may not share its memory at all.
  if (x.data() == out.data() && x.numel() > 0) {
    throw ValueError(out_arg.prefix() + " must not be " + x_arg.prefix() + " itself (no in-place solves)");
  }
  checks::require_no_partial_overlap(out, x, out_arg, x_arg);
}

void check_gradient(const TensorView& g, std::int64_t d, const Device& device, const char* function) {
  const ArgRef arg{function, "g"};
  checks::require_floating(g, arg);
  if (g.ndim() != 1 || g.shape(0) != d) {
    throw ValueError(arg.prefix() + " must have shape (" + std::to_string(d) + ",) to match the window's dimension " +
                     std::to_string(d) + ", got " + shape_str(g.shape()));
  }
  checks::require_same_device(g, device, arg);
}

}  // namespace mlprims::mfac::detail
