// Shared CUDA kernel helpers: launch sizes, typed loads and stores; errors, device guards and
// buffers come from core/device_buffer.hpp.
#pragma once

#include <cuda_runtime.h>

#include "core/device_buffer.hpp"
#include "mlprims/core/tensor.hpp"

namespace mlprims::detail {

inline cudaStream_t stream_of(const TensorView& t) { return static_cast<cudaStream_t>(t.stream()); }

// Launch configuration for a grid-stride loop over n elements.
inline unsigned int blocks_for(std::int64_t n, int threads_per_block) {
  const std::int64_t blocks = (n + threads_per_block - 1) / threads_per_block;
  return static_cast<unsigned int>(blocks < 65535 * 16 ? (blocks > 0 ? blocks : 1) : 65535 * 16);
}

__device__ inline double load_as_double_device(const char* base, DType dtype, std::int64_t offset) {
  return dtype == DType::kFloat64 ? reinterpret_cast<const double*>(base)[offset]
                                  : static_cast<double>(reinterpret_cast<const float*>(base)[offset]);
}

__device__ inline void store_from_double_device(char* base, DType dtype, std::int64_t offset, double value) {
  if (dtype == DType::kFloat64) {
    reinterpret_cast<double*>(base)[offset] = value;
  } else {
    reinterpret_cast<float*>(base)[offset] = static_cast<float>(value);
  }
}

}  // namespace mlprims::detail
