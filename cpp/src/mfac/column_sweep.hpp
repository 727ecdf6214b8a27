// The streaming kernels of M-FAC on the CPU: products of G with vectors, restricted to a range of
// columns, accumulated in double. Callers cut G into column chunks that fit in cache, so that a
// chunk read for one kernel is still in cache for the next (fused passes). The kernels are
// compiled per instruction set (column_sweep.simd.cpp) and dispatched at run time.
#pragma once

#include <cstdint>

#include "mfac/gradient_rows.hpp"

namespace mlprims::mfac::detail {

// acc[r * width + c] = sum_i coefficients[r * m + i] * G[i, begin + c], r < nrhs, width = end - begin.
void combine_columns(const GradientRows& g, std::int64_t begin, std::int64_t end, const double* coefficients, int nrhs,
                     double* acc);

// q[r * m + i] += sum_c G[i, begin + c] * source[r * source_ld + begin + c], r < nrhs.
void project_columns(const GradientRows& g, std::int64_t begin, std::int64_t end, const double* source,
                     std::int64_t source_ld, int nrhs, double* q);

// out[i * width + c] = G[i, begin + c] as double; returns false if any value is NaN or infinite.
bool widen_columns(const GradientRows& g, std::int64_t begin, std::int64_t end, double* out);

// Columns per chunk of a pass that reads each chunk of G twice (combine, then project the result):
// m rows of the chunk take about a megabyte, to stay in cache (at least 256 columns).
std::int64_t fused_chunk_columns(const GradientRows& g);
// Columns per chunk of a pass that reads G once: only the nrhs vectors' chunks need to stay in
// cache, and long contiguous runs of each row keep the hardware prefetchers streaming.
std::int64_t streaming_chunk_columns(const GradientRows& g, int nrhs);

#define MLPRIMS_DECLARE_COLUMN_KERNELS(ISA)                                                                     \
  namespace ISA {                                                                                               \
  void combine_columns(const GradientRows& g, std::int64_t begin, std::int64_t end, const double* coefficients, \
                       int nrhs, double* acc);                                                                  \
  void project_columns(const GradientRows& g, std::int64_t begin, std::int64_t end, const double* source,       \
                       std::int64_t source_ld, int nrhs, double* q);                                            \
  bool widen_columns(const GradientRows& g, std::int64_t begin, std::int64_t end, double* out);                 \
  }

MLPRIMS_DECLARE_COLUMN_KERNELS(baseline)
MLPRIMS_DECLARE_COLUMN_KERNELS(x86_64_v3)
MLPRIMS_DECLARE_COLUMN_KERNELS(x86_64_v4)

#undef MLPRIMS_DECLARE_COLUMN_KERNELS

}  // namespace mlprims::mfac::detail
