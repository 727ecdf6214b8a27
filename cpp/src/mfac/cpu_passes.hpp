// The CPU implementation of GradientPasses: column-chunked sweeps over G (column_sweep.hpp), split
// among OpenMP threads, with a combination and the projection of its result fused per chunk.
#pragma once

#include <cstdint>
#include <memory>

#include "mfac/gradient_passes.hpp"

namespace mlprims::mfac::detail {

// Over gradients in the caller's memory (FisherInverse).
std::unique_ptr<GradientPasses> make_cpu_passes(const GradientRows& g);
// Over an owned, zeroed buffer of `window` rows of `dim` values in `dtype` (SlidingFisherInverse).
std::unique_ptr<GradientPasses> make_cpu_window(std::int64_t window, std::int64_t dim, DType dtype);

}  // namespace mlprims::mfac::detail
