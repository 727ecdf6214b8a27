// CPU kernels for mlprims/special.hpp: the shared math applied over contiguous double buffers.
#include <array>
#include <cstdint>

#include "core/elementwise_cpu.hpp"
#include "special/backends.hpp"
#include "special/math/log_bessel.hpp"

namespace mlprims::special::detail {
namespace {

template <double (*F)(double, double)>
void apply(const double* const* in, double* out, std::int64_t n) {
  const double* v = in[0];
  const double* x = in[1];
  for (std::int64_t i = 0; i < n; ++i) out[i] = F(v[i], x[i]);
}

template <double (*F)(double, double)>
void run_cpu(const TensorView& v, const TensorView& x, const TensorView& out) {
  mlprims::detail::run_elementwise_cpu<2>({&v, &x}, out, apply<F>);
}

}  // namespace

void bessel_cpu(BesselFunction function, const TensorView& v, const TensorView& x, const TensorView& out) {
  switch (function) {
    case BesselFunction::kLogIv: return run_cpu<log_iv>(v, x, out);
    case BesselFunction::kLogKv: return run_cpu<log_kv>(v, x, out);
    case BesselFunction::kIvRatio: return run_cpu<iv_ratio>(v, x, out);
    case BesselFunction::kLogIvDerivative: return run_cpu<log_iv_derivative>(v, x, out);
    case BesselFunction::kLogKvDerivative: return run_cpu<log_kv_derivative>(v, x, out);
    case BesselFunction::kIvRatioDerivative: return run_cpu<iv_ratio_derivative>(v, x, out);
  }
}

}  // namespace mlprims::special::detail
