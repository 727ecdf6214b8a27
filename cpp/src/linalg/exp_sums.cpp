#include "linalg/exp_sums.hpp"

#include "core/instruction_set.hpp"

namespace mlprims::linalg {
namespace {

struct ExpSumKernels {
  decltype(&baseline::sum_exp_affine) sum_exp_affine;
  decltype(&baseline::exp_affine) exp_affine;
};

const ExpSumKernels& kernels_for_this_cpu() {
#if defined(MLPRIMS_SIMD_X86)
  static const ExpSumKernels variants[3] = {{baseline::sum_exp_affine, baseline::exp_affine},
                                            {x86_64_v3::sum_exp_affine, x86_64_v3::exp_affine},
                                            {x86_64_v4::sum_exp_affine, x86_64_v4::exp_affine}};
  static const ExpSumKernels& chosen = mlprims::detail::for_this_cpu(variants[0], variants[1], variants[2]);
  return chosen;
#else
  static const ExpSumKernels only{baseline::sum_exp_affine, baseline::exp_affine};
  return only;
#endif
}

}  // namespace

double sum_exp_affine(std::int64_t m, const double* c, double scale, const double* bias, double shift) {
  return kernels_for_this_cpu().sum_exp_affine(m, c, scale, bias, shift);
}

double exp_affine(std::int64_t m, const double* c, double scale, const double* bias, double offset, double* out) {
  return kernels_for_this_cpu().exp_affine(m, c, scale, bias, offset, out);
}

}  // namespace mlprims::linalg
