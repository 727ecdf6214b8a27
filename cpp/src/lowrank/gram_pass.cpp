#include "lowrank/gram_pass.hpp"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "core/instruction_set.hpp"
#include "core/parallel.hpp"
#include "linalg/blas.hpp"
#include "linalg/dense.hpp"

namespace mlprims::lowrank::detail {
namespace {

// Blocks up to this width take the fused kernel (measured at 4096 x 4096: 1.9x two GEMMs at 18
// columns, 0.9-1.3x at 40, 0.9-1.0x at 74; docs/design_notes.md).
constexpr std::int64_t kFusedMaxColumns = 40;

using GramRows = decltype(&baseline::gram_rows);

GramRows gram_rows_for_this_cpu() {
#if defined(MLPRIMS_SIMD_X86)
  static const GramRows variants[3] = {baseline::gram_rows, x86_64_v3::gram_rows, x86_64_v4::gram_rows};
  return mlprims::detail::for_this_cpu(variants[0], variants[1], variants[2]);
#else
  return baseline::gram_rows;
#endif
}

// Each thread takes a contiguous range of rows and, when z_next is wanted, sums its share of Wᵀ Y
// in its own b x n buffer; the layout changes and the sum of the shares are split among the
// threads too (serial, they cost as much as a pass at 768 x 3072).
void gram_pass_fused(std::int64_t m, std::int64_t n, const float* a, const float* z, std::int64_t b, float* y,
                     float* z_next) {
  const GramRows kernel = gram_rows_for_this_cpu();
  const int threads = mlprims::detail::threads_for(m, 64);
  const std::int64_t size = b * n;
  std::vector<float> zt(static_cast<std::size_t>(size));
  std::vector<float> partial(z_next != nullptr ? static_cast<std::size_t>(threads * size) : 0);
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
#endif
  {
    const std::int64_t t = mlprims::detail::thread_index();
    const std::int64_t k0 = n * t / threads, k1 = n * (t + 1) / threads;  // this thread's columns of zt
    for (std::int64_t j = 0; j < b; ++j) {
      for (std::int64_t k = k0; k < k1; ++k) zt[j * n + k] = z[k * b + j];
    }
    if (z_next != nullptr) std::fill(partial.begin() + t * size, partial.begin() + (t + 1) * size, 0.0f);
#if defined(_OPENMP)
#pragma omp barrier
#endif
    const std::int64_t first = m * t / threads, last = m * (t + 1) / threads;
    kernel(last - first, n, a + first * n, zt.data(), b, y + first * b,
           z_next != nullptr ? partial.data() + t * size : nullptr);
    if (z_next != nullptr) {
#if defined(_OPENMP)
#pragma omp barrier
#endif
      for (std::int64_t k = k0; k < k1; ++k) {
        for (std::int64_t j = 0; j < b; ++j) {
          float sum = 0.0f;
          for (int s = 0; s < threads; ++s) sum += partial[s * size + j * n + k];
          z_next[k * b + j] = sum;
        }
      }
    }
  }
}

}  // namespace

template <class T>
void gemm_product(bool transposed, std::int64_t m, std::int64_t n, const T* a, const T* z, std::int64_t b, T* y) {
  if (transposed) return linalg::gemm<T>(true, false, n, b, m, T(1), a, n, z, b, T(0), y, b);
  linalg::gemm<T>(false, false, m, b, n, T(1), a, n, z, b, T(0), y, b);
}

template <class T>
bool gram_pass_is_fused(std::int64_t b) {
  return std::is_same_v<T, float> && b <= kFusedMaxColumns;
}

template <class T>
void range_product(std::int64_t m, std::int64_t n, const T* a, const T* z, std::int64_t b, T* y) {
  if constexpr (std::is_same_v<T, float>) {
    if (gram_pass_is_fused<T>(b)) return gram_pass_fused(m, n, a, z, b, y, nullptr);
  }
  gemm_product(false, m, n, a, z, b, y);
}

template <class T>
void gram_pass(std::int64_t m, std::int64_t n, const T* a, const T* z, std::int64_t b, T* y, T* z_next) {
  if constexpr (std::is_same_v<T, float>) {
    if (gram_pass_is_fused<T>(b)) return gram_pass_fused(m, n, a, z, b, y, z_next);
  }
  gemm_product(false, m, n, a, z, b, y);
  gemm_product(true, m, n, a, y, b, z_next);
}

#define MLPRIMS_INSTANTIATE(T)                                                                           \
  template void gemm_product<T>(bool, std::int64_t, std::int64_t, const T*, const T*, std::int64_t, T*); \
  template bool gram_pass_is_fused<T>(std::int64_t);                                                     \
  template void range_product<T>(std::int64_t, std::int64_t, const T*, const T*, std::int64_t, T*);      \
  template void gram_pass<T>(std::int64_t, std::int64_t, const T*, const T*, std::int64_t, T*, T*);
MLPRIMS_INSTANTIATE(float)
MLPRIMS_INSTANTIATE(double)
#undef MLPRIMS_INSTANTIATE

}  // namespace mlprims::lowrank::detail
