// CUDA kernels for mlprims/special.hpp: the same math as the CPU (special/math/*.hpp), one
// thread per element.
#include "core/elementwise_cuda.cuh"
#include "special/backend.hpp"
#include "special/math/log_bessel.hpp"

namespace mlprims::special::detail {
namespace {

template <BesselFunction kFunction>
struct BesselOp {
  __device__ double operator()(const double* args) const {
    const double v = args[0], x = args[1];
    if constexpr (kFunction == BesselFunction::kLogIv) return log_iv(v, x);
    if constexpr (kFunction == BesselFunction::kLogKv) return log_kv(v, x);
    if constexpr (kFunction == BesselFunction::kIvRatio) return iv_ratio(v, x);
    if constexpr (kFunction == BesselFunction::kLogIvDerivative) return log_iv_derivative(v, x);
    if constexpr (kFunction == BesselFunction::kLogKvDerivative) return log_kv_derivative(v, x);
    if constexpr (kFunction == BesselFunction::kIvRatioDerivative) return iv_ratio_derivative(v, x);
    return 0.0;
  }
};

template <BesselFunction kFunction>
void launch(const TensorView& v, const TensorView& x, const TensorView& out) {
  mlprims::detail::run_elementwise_cuda<2>({&v, &x}, out, BesselOp<kFunction>{});
}

}  // namespace

void bessel_cuda(BesselFunction function, const TensorView& v, const TensorView& x, const TensorView& out) {
  switch (function) {
    case BesselFunction::kLogIv:
      return launch<BesselFunction::kLogIv>(v, x, out);
    case BesselFunction::kLogKv:
      return launch<BesselFunction::kLogKv>(v, x, out);
    case BesselFunction::kIvRatio:
      return launch<BesselFunction::kIvRatio>(v, x, out);
    case BesselFunction::kLogIvDerivative:
      return launch<BesselFunction::kLogIvDerivative>(v, x, out);
    case BesselFunction::kLogKvDerivative:
      return launch<BesselFunction::kLogKvDerivative>(v, x, out);
    case BesselFunction::kIvRatioDerivative:
      return launch<BesselFunction::kIvRatioDerivative>(v, x, out);
  }
}

}  // namespace mlprims::special::detail
