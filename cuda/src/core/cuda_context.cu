// The handle pools behind CudaContext (core/cuda_context.hpp).
#include <map>
#include <mutex>
#include <vector>

#include "core/cuda_context.hpp"

namespace mlprims::detail {
namespace {

// Released handles per device, handed out again before new ones are created.
template <class Handle>
class HandlePool {
 public:
  template <class Create>
  Handle lease(int device, Create create) {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      std::vector<Handle>& free = free_[device];
      if (!free.empty()) {
        Handle handle = free.back();
        free.pop_back();
        return handle;
      }
    }
    const DeviceGuard guard(device);
    return create();
  }
  void give_back(int device, Handle handle) noexcept {
    if (handle == nullptr) return;
    try {
      const std::lock_guard<std::mutex> lock(mutex_);
      free_[device].push_back(handle);
    } catch (...) {
      // Out of memory for the list: the handle is dropped (never destroyed, see the header).
    }
  }

 private:
  std::mutex mutex_;
  std::map<int, std::vector<Handle>> free_;
};

// Never destroyed (see the header): allocated once and left to the process's end.
HandlePool<cublasHandle_t>& blas_pool() {
  static auto* pool = new HandlePool<cublasHandle_t>();
  return *pool;
}
HandlePool<cusolverDnHandle_t>& solver_pool() {
  static auto* pool = new HandlePool<cusolverDnHandle_t>();
  return *pool;
}

}  // namespace

CudaContext::~CudaContext() {
  blas_pool().give_back(device_, blas_);
  solver_pool().give_back(device_, solver_);
}

cublasHandle_t CudaContext::blas() const {
  if (blas_ == nullptr) {
    blas_ = blas_pool().lease(device_, [] {
      cublasHandle_t handle = nullptr;
      cublas_check(cublasCreate(&handle), "cublasCreate");
      cublas_check(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
      return handle;
    });
    cublas_check(cublasSetStream(blas_, stream_), "cublasSetStream");
  }
  return blas_;
}

cusolverDnHandle_t CudaContext::solver() const {
  if (solver_ == nullptr) {
    solver_ = solver_pool().lease(device_, [] {
      cusolverDnHandle_t handle = nullptr;
      cusolver_check(cusolverDnCreate(&handle), "cusolverDnCreate");
      return handle;
    });
    cusolver_check(cusolverDnSetStream(solver_, stream_), "cusolverDnSetStream");
  }
  return solver_;
}

void CudaContext::wait_for(cudaStream_t other) const {
  if (other == stream_) return;
  const DeviceGuard guard(device_);
  cudaEvent_t event = nullptr;
  cuda_check(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), "cudaEventCreate");
  const cudaError_t recorded = cudaEventRecord(event, other);
  const cudaError_t waited = recorded == cudaSuccess ? cudaStreamWaitEvent(stream_, event, 0) : recorded;
  cudaEventDestroy(event);  // safe at once: the wait keeps what it needs
  cuda_check(waited, "cudaStreamWaitEvent");
}

void CudaContext::follow(cudaStream_t stream) {
  if (stream == stream_) return;
  const cudaStream_t old = stream_;
  stream_ = stream;
  wait_for(old);
  if (blas_ != nullptr) cublas_check(cublasSetStream(blas_, stream_), "cublasSetStream");
  if (solver_ != nullptr) cusolver_check(cusolverDnSetStream(solver_, stream_), "cusolverDnSetStream");
}

void CudaContext::synchronize() const {
  const DeviceGuard guard(device_);
  cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
}

}  // namespace mlprims::detail
