// Shared CUDA helpers: errors as mlprims::Error, streams, launch sizes, device guards.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "mlprims/core/error.hpp"
#include "mlprims/core/tensor.hpp"

namespace mlprims::detail {

inline void cuda_check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw Error(std::string(what) + ": CUDA error: " + cudaGetErrorString(status));
  }
}

inline cudaStream_t stream_of(const TensorView& t) { return static_cast<cudaStream_t>(t.stream()); }

// Launch configuration for a grid-stride loop over n elements.
inline unsigned int blocks_for(std::int64_t n, int threads_per_block) {
  const std::int64_t blocks = (n + threads_per_block - 1) / threads_per_block;
  return static_cast<unsigned int>(blocks < 65535 * 16 ? (blocks > 0 ? blocks : 1) : 65535 * 16);
}

// Sets the current device to a tensor's for the lifetime of the guard.
class DeviceGuard {
 public:
  explicit DeviceGuard(const TensorView& t) : DeviceGuard(t.device().index) {}
  explicit DeviceGuard(int device_index) {
    cuda_check(cudaGetDevice(&previous_), "cudaGetDevice");
    cuda_check(cudaSetDevice(device_index), "cudaSetDevice");
  }
  ~DeviceGuard() { cudaSetDevice(previous_); }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
};

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
