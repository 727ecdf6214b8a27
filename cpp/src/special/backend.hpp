// The CPU and CUDA implementations behind mlprims/special.hpp. Arguments arrive validated:
// same dtype (float32 or float64), same device, out has the broadcast shape.
#pragma once

#include "mlprims/core/tensor.hpp"

namespace mlprims::special::detail {

enum class BesselFunction {
  kLogIv,
  kLogKv,
  kIvRatio,
  kLogIvDerivative,
  kLogKvDerivative,
  kIvRatioDerivative,
};

void bessel_cpu(BesselFunction function, const TensorView& v, const TensorView& x, const TensorView& out);
// One value through the same vectorized CPU code as the arrays (so scalar and array results agree
// to the last bit).
double log_iv_cpu(double v, double x);
double log_kv_cpu(double v, double x);
void bessel_cuda(BesselFunction function, const TensorView& v, const TensorView& x, const TensorView& out);

}  // namespace mlprims::special::detail
