// CPU kernels for mlprims/special.hpp. log I and log K run the vectorized chunk kernels of
// bessel_chunks.hpp for the best instruction set of the CPU; the other functions apply the scalar
// entry points element by element.
#include <array>
#include <cstdint>

#include "core/elementwise_cpu.hpp"
#include "core/instruction_set.hpp"
#include "special/backend.hpp"
#include "special/bessel_chunks.hpp"
#include "special/math/log_bessel.hpp"

namespace mlprims::special::detail {

const BesselChunkFunctions& bessel_chunk_functions() {
  using mlprims::detail::InstructionSet;
  static const BesselChunkFunctions baseline_set{baseline::log_iv_chunk, baseline::log_kv_chunk, "baseline"};
#if defined(MLPRIMS_SIMD_X86)
  static const BesselChunkFunctions v3_set{x86_64_v3::log_iv_chunk, x86_64_v3::log_kv_chunk,
                                           mlprims::detail::instruction_set_name(InstructionSet::kX86_64_V3)};
  static const BesselChunkFunctions v4_set{x86_64_v4::log_iv_chunk, x86_64_v4::log_kv_chunk,
                                           mlprims::detail::instruction_set_name(InstructionSet::kX86_64_V4)};
#else
  const BesselChunkFunctions& v3_set = baseline_set;
  const BesselChunkFunctions& v4_set = baseline_set;
#endif
  return mlprims::detail::for_this_cpu(baseline_set, v3_set, v4_set);
}

namespace {

template <double (*F)(double, double)>
void apply(const double* const* in, double* out, std::int64_t n) {
  const double* v = in[0];
  const double* x = in[1];
  for (std::int64_t i = 0; i < n; ++i) out[i] = F(v[i], x[i]);
}

void apply_log_iv(const double* const* in, double* out, std::int64_t n) {
  bessel_chunk_functions().log_iv(in[0], in[1], out, n);
}

void apply_log_kv(const double* const* in, double* out, std::int64_t n) {
  bessel_chunk_functions().log_kv(in[0], in[1], out, n);
}

template <class Kernel>
void run_cpu(const TensorView& v, const TensorView& x, const TensorView& out, Kernel kernel) {
  mlprims::detail::run_elementwise_cpu<2>({&v, &x}, out, kernel);
}

}  // namespace

double log_iv_cpu(double v, double x) {
  double out;
  bessel_chunk_functions().log_iv(&v, &x, &out, 1);
  return out;
}

double log_kv_cpu(double v, double x) {
  double out;
  bessel_chunk_functions().log_kv(&v, &x, &out, 1);
  return out;
}

void bessel_cpu(BesselFunction function, const TensorView& v, const TensorView& x, const TensorView& out) {
  switch (function) {
    case BesselFunction::kLogIv:
      return run_cpu(v, x, out, apply_log_iv);
    case BesselFunction::kLogKv:
      return run_cpu(v, x, out, apply_log_kv);
    case BesselFunction::kIvRatio:
      return run_cpu(v, x, out, apply<iv_ratio>);
    case BesselFunction::kLogIvDerivative:
      return run_cpu(v, x, out, apply<log_iv_derivative>);
    case BesselFunction::kLogKvDerivative:
      return run_cpu(v, x, out, apply<log_kv_derivative>);
    case BesselFunction::kIvRatioDerivative:
      return run_cpu(v, x, out, apply<iv_ratio_derivative>);
  }
}

}  // namespace mlprims::special::detail
