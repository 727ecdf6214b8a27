// Exponentials of an affine map of a row, summed or stored: the inner loop of every entropic
// pass (log-sum-exp reductions, Sinkhorn kernels, transport plans). Compiled once per
// instruction set (exp_sums.simd.cpp) and picked at run time: the branch-free exp of
// core/math/elementary.hpp vectorizes 8-wide with AVX-512, about 10x the baseline build's speed.
// Terms below e^-708 count as 0 (exp_flush_to_zero).
#pragma once

#include <cstdint>

namespace mlprims::linalg {

// sum_j exp(scale * c_j + bias_j - shift); bias may be null (0).
double sum_exp_affine(std::int64_t m, const double* c, double scale, const double* bias, double shift);

// out_j = exp(scale * c_j + bias_j + offset) (bias may be null); returns sum_j out_j.
double exp_affine(std::int64_t m, const double* c, double scale, const double* bias, double offset, double* out);

#define MLPRIMS_DECLARE_EXP_SUM_KERNELS(ISA)                                                                        \
  namespace ISA {                                                                                                   \
  double sum_exp_affine(std::int64_t m, const double* c, double scale, const double* bias, double shift);           \
  double exp_affine(std::int64_t m, const double* c, double scale, const double* bias, double offset, double* out); \
  }

MLPRIMS_DECLARE_EXP_SUM_KERNELS(baseline)
MLPRIMS_DECLARE_EXP_SUM_KERNELS(x86_64_v3)
MLPRIMS_DECLARE_EXP_SUM_KERNELS(x86_64_v4)

#undef MLPRIMS_DECLARE_EXP_SUM_KERNELS

}  // namespace mlprims::linalg
