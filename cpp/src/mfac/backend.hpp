// M-FAC's back ends: the implementations of GradientPasses (gradient_passes.hpp).
//   CPU (gradient_passes_cpu.cpp): column-chunked sweeps over G (column_sweep.hpp), split among
//   OpenMP threads, with a combination and the projection of its result fused per chunk.
//   CUDA (cuda/src/mfac/gradient_passes_cuda.cu, when the CUDA back end is built): G stays on the
//   GPU; Gram matrices from cuBLAS, the passes in custom kernels.
#pragma once

#include <cstdint>
#include <memory>

#include "mfac/gradient_passes.hpp"

namespace mlprims::mfac::detail {

// Over gradients in the caller's memory (FisherInverse).
std::unique_ptr<GradientPasses> make_cpu_passes(const GradientRows& g);
// Over an owned, zeroed buffer of `window` rows of `dim` values in `dtype` (SlidingFisherInverse).
std::unique_ptr<GradientPasses> make_cpu_window(std::int64_t window, std::int64_t dim, DType dtype);

// The same on a CUDA device; the gradients' passes run on `stream` (a cudaStream_t), the window on
// its callers' streams.
std::unique_ptr<GradientPasses> make_cuda_passes(const GradientRows& g, const Device& device, void* stream);
std::unique_ptr<GradientPasses> make_cuda_window(std::int64_t window, std::int64_t dim, DType dtype,
                                                 const Device& device);

}  // namespace mlprims::mfac::detail
