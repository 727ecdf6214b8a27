// The Sinkhorn row pass over a kernel kept in memory: for one row k of K, s = k . v, then
// out += (a / s) k, so that one read of K gives both K v (row by row) and K^T u (accumulated).
// Compiled once per instruction set (kernel_rows.simd.cpp) and picked at run time: the baseline
// x86-64 build runs it two doubles wide without FMA, AVX-512 eight wide with FMA.
#pragma once

#include <cstdint>

namespace mlprims::linalg {

// Returns s = sum_j k_j v_j and adds (a / s) k_j to out_j (whatever s is: the caller checks it).
double dot_then_accumulate(std::int64_t m, const double* k, const double* v, double a, double* out);

#define MLPRIMS_DECLARE_KERNEL_ROW_KERNELS(ISA)                                                        \
  namespace ISA {                                                                                      \
  double dot_then_accumulate(std::int64_t m, const double* k, const double* v, double a, double* out); \
  }

MLPRIMS_DECLARE_KERNEL_ROW_KERNELS(baseline)
MLPRIMS_DECLARE_KERNEL_ROW_KERNELS(x86_64_v3)
MLPRIMS_DECLARE_KERNEL_ROW_KERNELS(x86_64_v4)

#undef MLPRIMS_DECLARE_KERNEL_ROW_KERNELS

}  // namespace mlprims::linalg
