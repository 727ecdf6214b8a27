// The vectorized CPU kernels of log I and log K (see bessel_chunks.hpp); this file is compiled
// once per instruction set with MLPRIMS_ISA naming the namespace.
//
// A chunk is classified by region (special/math/regions.hpp); each region present is run as one
// SIMD loop over its elements, directly when the whole chunk is in it, else over contiguous
// copies made branch-free; the rare general cases go element by element.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/elementwise_cpu.hpp"
#include "special/bessel_chunks.hpp"
#include "special/math/log_bessel.hpp"

#ifndef MLPRIMS_ISA
#error "compile with -DMLPRIMS_ISA=<namespace>"
#endif

namespace mlprims::special::detail::MLPRIMS_ISA {
namespace {

using mlprims::detail::kElementwiseChunk;

// One region's kernel over n contiguous elements; flatten inlines the math into the loop.
template <Region R, bool kI, int kMaxSteps = 25>
__attribute__((noinline, flatten)) void kernel_loop(const double* __restrict v, const double* __restrict x,
                                                    double* __restrict out, std::int64_t n) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) out[i] = kI ? log_iv_in<R>(v[i], x[i]) : log_kv_in<R, kMaxSteps>(v[i], x[i]);
}

constexpr bool is_small_k_region(Region r) {
  return r == Region::kTemme || r == Region::kQuadrature0 || r == Region::kQuadrature1 || r == Region::kQuadrature2;
}

// The small-x regions of K recur up to the largest order of the batch: pick the instance with
// the fewest unrolled steps that covers it.
template <Region R, bool kI>
void region_loop(const double* v, const double* x, double* out, std::int64_t n) {
  if constexpr (!kI && is_small_k_region(R)) {
    int steps = 0;
    for (std::int64_t i = 0; i < n; ++i) steps = std::max(steps, recurrence_steps(v[i]));
    if (steps <= 4) return kernel_loop<R, kI, 4>(v, x, out, n);
    if (steps <= 8) return kernel_loop<R, kI, 8>(v, x, out, n);
    if (steps <= 13) return kernel_loop<R, kI, 13>(v, x, out, n);
  }
  kernel_loop<R, kI>(v, x, out, n);
}

template <Region R, bool kI>
inline void run_region(const std::uint8_t* codes, const double* v, const double* x, double* out, std::int64_t n) {
  constexpr auto code = static_cast<std::uint8_t>(R);
  std::int32_t matching = 0;
#pragma omp simd reduction(+ : matching)
  for (std::int64_t i = 0; i < n; ++i) matching += codes[i] == code;
  if (matching == n) return region_loop<R, kI>(v, x, out, n);
    // Filled up to `count` below (GCC cannot see that the loop reads no further).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
  alignas(64) double vb[kElementwiseChunk], xb[kElementwiseChunk], ob[kElementwiseChunk];
  alignas(64) std::int32_t where[kElementwiseChunk];
  std::int32_t count = 0;
  for (std::int32_t i = 0; i < static_cast<std::int32_t>(n); ++i) {
    vb[count] = v[i];
    xb[count] = x[i];
    where[count] = i;
    count += codes[i] == code;
  }
  region_loop<R, kI>(vb, xb, ob, count);
#pragma GCC diagnostic pop
  for (std::int32_t i = 0; i < count; ++i) out[where[i]] = ob[i];
}

// Region codes of a chunk; returns the set of regions that occur as bits.
template <bool kI>
std::uint32_t classify(const double* v, const double* x, std::int64_t n, std::uint8_t* codes) {
  std::uint32_t present = 0;
#pragma omp simd reduction(| : present)
  for (std::int64_t i = 0; i < n; ++i) {
    codes[i] = static_cast<std::uint8_t>(kI ? region_of_i(v[i], x[i]) : region_of_k(v[i], x[i]));
    present |= 1u << codes[i];
  }
  return present;
}

template <bool kI>
void run_chunk(const double* v, const double* x, double* out, std::int64_t n) {
  alignas(64) std::uint8_t codes[kElementwiseChunk];
  const std::uint32_t present = classify<kI>(v, x, n, codes);
  const auto occurs = [present](Region r) { return (present >> static_cast<int>(r)) & 1u; };
  if (occurs(Region::kHankel)) run_region<Region::kHankel, kI>(codes, v, x, out, n);
  if (occurs(Region::kDebye5)) run_region<Region::kDebye5, kI>(codes, v, x, out, n);
  if (occurs(Region::kDebye10)) run_region<Region::kDebye10, kI>(codes, v, x, out, n);
  if (occurs(Region::kDebye18)) run_region<Region::kDebye18, kI>(codes, v, x, out, n);
  if (occurs(Region::kDebyeNearRoot5)) run_region<Region::kDebyeNearRoot5, kI>(codes, v, x, out, n);
  if (occurs(Region::kDebyeNearRoot18)) run_region<Region::kDebyeNearRoot18, kI>(codes, v, x, out, n);
  if constexpr (kI) {
    if (occurs(Region::kSeries19)) run_region<Region::kSeries19, kI>(codes, v, x, out, n);
    if (occurs(Region::kSeries40)) run_region<Region::kSeries40, kI>(codes, v, x, out, n);
  } else {
    if (occurs(Region::kTemme)) run_region<Region::kTemme, kI>(codes, v, x, out, n);
    if (occurs(Region::kQuadrature0)) run_region<Region::kQuadrature0, kI>(codes, v, x, out, n);
    if (occurs(Region::kQuadrature1)) run_region<Region::kQuadrature1, kI>(codes, v, x, out, n);
    if (occurs(Region::kQuadrature2)) run_region<Region::kQuadrature2, kI>(codes, v, x, out, n);
  }
  if (occurs(Region::kGeneral)) {
    for (std::int64_t i = 0; i < n; ++i) {
      if (codes[i] == static_cast<std::uint8_t>(Region::kGeneral)) {
        out[i] = kI ? log_iv_general(v[i], x[i]) : log_kv_general(v[i], x[i]);
      }
    }
  }
}

}  // namespace

void log_iv_chunk(const double* v, const double* x, double* out, std::int64_t n) { run_chunk<true>(v, x, out, n); }

// K is even in v: classify and compute on |v|.
void log_kv_chunk(const double* v, const double* x, double* out, std::int64_t n) {
  alignas(64) double abs_v[kElementwiseChunk];
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) abs_v[i] = ::fabs(v[i]);
  run_chunk<false>(abs_v, x, out, n);
}

}  // namespace mlprims::special::detail::MLPRIMS_ISA
