// The one owner of device memory in the CUDA back end: `count` elements on one device, allocated
// and freed in order on a stream (cudaMallocAsync/cudaFreeAsync), so neither waits for the whole
// device, and freed on every exit path, exceptions included. Plain C++ (runtime API only).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/cuda_errors.hpp"
#include "mlprims/core/tensor.hpp"

namespace mlprims::detail {

// Sets the current device for the lifetime of the guard.
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

// Stream-ordered allocation on `device` (at least one byte, so that data() is never null).
inline void* device_allocate(std::size_t bytes, int device, cudaStream_t stream) {
  const DeviceGuard guard(device);
  void* data = nullptr;
  cuda_check(cudaMallocAsync(&data, bytes > 0 ? bytes : 1, stream),
             "cudaMallocAsync of " + std::to_string(bytes) + " bytes");
  return data;
}

// Never throws: it runs in destructors, also while an earlier CUDA error unwinds the stack.
inline void device_free(void* data, int device, cudaStream_t stream) noexcept {
  if (data == nullptr) return;
  int previous = 0;
  if (cudaGetDevice(&previous) != cudaSuccess) return;
  if (cudaSetDevice(device) == cudaSuccess) cudaFreeAsync(data, stream);
  cudaSetDevice(previous);
}

template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(std::int64_t count, int device, cudaStream_t stream)
      : data_(static_cast<T*>(device_allocate(bytes_for(count), device, stream))),
        count_(count),
        device_(device),
        stream_(stream) {}
  DeviceBuffer(DeviceBuffer&& other) noexcept { swap(other); }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    DeviceBuffer moved(std::move(other));
    swap(moved);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { reset(); }

  T* data() const { return data_; }
  std::int64_t count() const { return count_; }
  bool empty() const { return data_ == nullptr; }
  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }

  // All bytes zero, queued on the buffer's stream.
  void zero() const {
    const DeviceGuard guard(device_);
    cuda_check(cudaMemsetAsync(data_, 0, bytes_for(count_), stream_), "cudaMemsetAsync");
  }
  // Copies wait for the stream: the host memory may be pageable and reused at once.
  void upload(const T* host, std::int64_t count) const {
    if (count <= 0) return;
    const DeviceGuard guard(device_);
    cuda_check(cudaMemcpyAsync(data_, host, bytes_for(count), cudaMemcpyHostToDevice, stream_), "upload");
    cuda_check(cudaStreamSynchronize(stream_), "upload: cudaStreamSynchronize");
  }
  void download(T* host, std::int64_t count) const {
    if (count <= 0) return;
    const DeviceGuard guard(device_);
    cuda_check(cudaMemcpyAsync(host, data_, bytes_for(count), cudaMemcpyDeviceToHost, stream_), "download");
    cuda_check(cudaStreamSynchronize(stream_), "download: cudaStreamSynchronize");
  }
  std::vector<T> to_host() const {
    std::vector<T> host(static_cast<std::size_t>(count_));
    download(host.data(), count_);
    return host;
  }

  // The memory is used on `stream` from now on, and freed in order there. The caller has made
  // `stream` wait for the work queued on the old one (CudaContext::follow does both).
  void set_stream(cudaStream_t stream) { stream_ = stream; }

  void reset() noexcept {
    device_free(data_, device_, stream_);
    data_ = nullptr;
    count_ = 0;
  }

 private:
  static std::size_t bytes_for(std::int64_t count) {
    return static_cast<std::size_t>(count > 0 ? count : 0) * sizeof(T);
  }
  void swap(DeviceBuffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(count_, other.count_);
    std::swap(device_, other.device_);
    std::swap(stream_, other.stream_);
  }

  T* data_ = nullptr;
  std::int64_t count_ = 0;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
};

}  // namespace mlprims::detail
