#include "linalg/kernel_rows.hpp"

#include "core/instruction_set.hpp"

namespace mlprims::linalg {

double dot_then_accumulate(std::int64_t m, const double* k, const double* v, double a, double* out) {
#if defined(MLPRIMS_SIMD_X86)
  using Kernel = double (*)(std::int64_t, const double*, const double*, double, double*);
  static const Kernel kernel = mlprims::detail::for_this_cpu<Kernel>(
      baseline::dot_then_accumulate, x86_64_v3::dot_then_accumulate, x86_64_v4::dot_then_accumulate);
  return kernel(m, k, v, a, out);
#else
  return baseline::dot_then_accumulate(m, k, v, a, out);
#endif
}

}  // namespace mlprims::linalg
