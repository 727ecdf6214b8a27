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
void bessel_cuda(BesselFunction function, const TensorView& v, const TensorView& x, const TensorView& out);

}  // namespace mlprims::special::detail
