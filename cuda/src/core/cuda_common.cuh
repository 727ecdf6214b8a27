// Shared CUDA kernel helpers: streams and launch sizes; typed loads and stores come from
// core/typed_access.hpp, errors, device guards and buffers from core/device_buffer.hpp.
#pragma once

#include <cuda_runtime.h>

#include "core/device_buffer.hpp"
#include "core/typed_access.hpp"
#include "mlprims/core/tensor.hpp"

namespace mlprims::detail {

inline cudaStream_t stream_of(const TensorView& t) { return static_cast<cudaStream_t>(t.stream()); }

// Launch configuration for a grid-stride loop over n elements.
inline unsigned int blocks_for(std::int64_t n, int threads_per_block) {
  const std::int64_t blocks = (n + threads_per_block - 1) / threads_per_block;
  return static_cast<unsigned int>(blocks < 65535 * 16 ? (blocks > 0 ? blocks : 1) : 65535 * 16);
}

}  // namespace mlprims::detail
