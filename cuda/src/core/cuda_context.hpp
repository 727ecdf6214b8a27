// What every CUDA computation runs in: one device, the stream all its work is queued on (the
// caller's: for torch, the current stream of the tensors' device), and cuBLAS/cuSOLVER handles
// leased from a per-device pool and bound to that stream. Buffers come from the context and are
// allocated and freed in order on its stream. Plain C++ (runtime API only).
//
// Handles are created once per device and reused: creating one costs milliseconds and device
// memory, and a handle serves one thread at a time, so a context holds its own lease until it is
// destroyed. Pooled handles are never destroyed: at process exit the CUDA context may be gone
// before static destructors run. Their number is the most contexts alive at once on a device.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <cstdint>
#include <vector>

#include "core/device_buffer.hpp"
#include "mlprims/core/tensor.hpp"

namespace mlprims::detail {

class CudaContext {
 public:
  CudaContext(int device, cudaStream_t stream) : device_(device), stream_(stream) {}
  // The device and stream of a CUDA tensor.
  explicit CudaContext(const TensorView& t) : CudaContext(t.device().index, static_cast<cudaStream_t>(t.stream())) {}
  ~CudaContext();
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }

  // Leased on first use, bound to stream(); true float32/float64 math (no TF32 emulation).
  cublasHandle_t blas() const;
  cusolverDnHandle_t solver() const;

  template <class T>
  DeviceBuffer<T> allocate(std::int64_t count) const {
    return DeviceBuffer<T>(count, device_, stream_);
  }
  template <class T>
  DeviceBuffer<T> zeros(std::int64_t count) const {
    DeviceBuffer<T> buffer = allocate<T>(count);
    buffer.zero();
    return buffer;
  }
  template <class T>
  DeviceBuffer<T> upload(const std::vector<T>& host) const {
    DeviceBuffer<T> buffer = allocate<T>(static_cast<std::int64_t>(host.size()));
    buffer.upload(host.data(), buffer.count());
    return buffer;
  }

  // This context's stream waits (on the device, not the host) for the work queued so far on
  // `other`, e.g. on the stream that wrote an input.
  void wait_for(cudaStream_t other) const;
  // Work after this call goes to `stream`, after everything queued so far on the old one; the
  // handles move with it. Buffers the caller keeps move with DeviceBuffer::set_stream.
  void follow(cudaStream_t stream);
  void synchronize() const;

 private:
  int device_;
  cudaStream_t stream_;
  mutable cublasHandle_t blas_ = nullptr;
  mutable cusolverDnHandle_t solver_ = nullptr;
};

}  // namespace mlprims::detail
