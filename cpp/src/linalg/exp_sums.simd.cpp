// The kernels of exp_sums.hpp for one instruction set (MLPRIMS_ISA names the namespace).
#include <cstdint>

#include "core/math/elementary.hpp"
#include "linalg/exp_sums.hpp"

#ifndef MLPRIMS_ISA
#error "compile with -DMLPRIMS_ISA=<namespace>"
#endif

namespace mlprims::linalg::MLPRIMS_ISA {

double sum_exp_affine(std::int64_t m, const double* c, double scale, const double* bias, double shift) {
  double sum = 0.0;
  if (bias == nullptr) {
#pragma omp simd reduction(+ : sum)
    for (std::int64_t j = 0; j < m; ++j) sum += mlprims::detail::exp_flush_to_zero(scale * c[j] - shift);
  } else {
#pragma omp simd reduction(+ : sum)
    for (std::int64_t j = 0; j < m; ++j) sum += mlprims::detail::exp_flush_to_zero(scale * c[j] + bias[j] - shift);
  }
  return sum;
}

double exp_affine(std::int64_t m, const double* c, double scale, const double* bias, double offset, double* out) {
  double sum = 0.0;
  if (bias == nullptr) {
#pragma omp simd reduction(+ : sum)
    for (std::int64_t j = 0; j < m; ++j) {
      out[j] = mlprims::detail::exp_flush_to_zero(scale * c[j] + offset);
      sum += out[j];
    }
  } else {
#pragma omp simd reduction(+ : sum)
    for (std::int64_t j = 0; j < m; ++j) {
      out[j] = mlprims::detail::exp_flush_to_zero(scale * c[j] + bias[j] + offset);
      sum += out[j];
    }
  }
  return sum;
}

}  // namespace mlprims::linalg::MLPRIMS_ISA
