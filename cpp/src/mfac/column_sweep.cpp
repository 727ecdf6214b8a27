#include "mfac/column_sweep.hpp"

#include <algorithm>

#include "core/instruction_set.hpp"

namespace mlprims::mfac::detail {
namespace {

struct ColumnKernels {
  decltype(&baseline::combine_columns) combine;
  decltype(&baseline::project_columns) project;
  decltype(&baseline::widen_columns) widen;
};

const ColumnKernels& kernels() {
  static const ColumnKernels baseline_set{baseline::combine_columns, baseline::project_columns,
                                          baseline::widen_columns};
#if defined(MLPRIMS_SIMD_X86)
  static const ColumnKernels v3_set{x86_64_v3::combine_columns, x86_64_v3::project_columns, x86_64_v3::widen_columns};
  static const ColumnKernels v4_set{x86_64_v4::combine_columns, x86_64_v4::project_columns, x86_64_v4::widen_columns};
#else
  const ColumnKernels& v3_set = baseline_set;
  const ColumnKernels& v4_set = baseline_set;
#endif
  return mlprims::detail::for_this_cpu(baseline_set, v3_set, v4_set);
}

}  // namespace

void combine_columns(const GradientRows& g, std::int64_t begin, std::int64_t end, const double* coefficients, int nrhs,
                     double* acc) {
  kernels().combine(g, begin, end, coefficients, nrhs, acc);
}

void project_columns(const GradientRows& g, std::int64_t begin, std::int64_t end, const double* source,
                     std::int64_t source_ld, int nrhs, double* q) {
  kernels().project(g, begin, end, source, source_ld, nrhs, q);
}

bool widen_columns(const GradientRows& g, std::int64_t begin, std::int64_t end, double* out) {
  return kernels().widen(g, begin, end, out);
}

std::int64_t fused_chunk_columns(const GradientRows& g) {
  constexpr std::int64_t kChunkBytes = std::int64_t{1} << 20;
  const std::int64_t per_column = std::max<std::int64_t>(1, g.rows * g.element_size());
  const std::int64_t width = std::max<std::int64_t>(256, kChunkBytes / per_column / 64 * 64);
  return std::min(width, std::max<std::int64_t>(g.cols, 1));
}

std::int64_t streaming_chunk_columns(const GradientRows& g, int nrhs) {
  constexpr std::int64_t kVectorBytes = std::int64_t{1} << 18;  // the vectors' share of the cache
  const std::int64_t width = std::max<std::int64_t>(256, kVectorBytes / (8 * std::max(nrhs, 1)) / 64 * 64);
  return std::min(width, std::max<std::int64_t>(g.cols, 1));
}

}  // namespace mlprims::mfac::detail
