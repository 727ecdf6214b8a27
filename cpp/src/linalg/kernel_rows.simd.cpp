// The kernels of kernel_rows.hpp for one instruction set (MLPRIMS_ISA names the namespace).
#include <cstdint>

#include "linalg/kernel_rows.hpp"

#ifndef MLPRIMS_ISA
#error "compile with -DMLPRIMS_ISA=<namespace>"
#endif

namespace mlprims::linalg::MLPRIMS_ISA {

double dot_then_accumulate(std::int64_t m, const double* k, const double* v, double a, double* out) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (std::int64_t j = 0; j < m; ++j) s += k[j] * v[j];
  const double scale = a / s;
#pragma omp simd
  for (std::int64_t j = 0; j < m; ++j) out[j] += scale * k[j];
  return s;
}

}  // namespace mlprims::linalg::MLPRIMS_ISA
