// CUDA runtime, cuBLAS and cuSOLVER status codes as mlprims::Error. Plain C++ (no device code), so
// host-compiled tests can include it.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <string>

#include "mlprims/core/error.hpp"

namespace mlprims::detail {

inline void cuda_check(cudaError_t status, const std::string& what) {
  if (status != cudaSuccess) throw Error(what + ": CUDA error: " + cudaGetErrorString(status));
}

inline void cublas_check(cublasStatus_t status, const std::string& what) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw Error(what + ": cuBLAS error " + std::to_string(static_cast<int>(status)));
  }
}

inline void cusolver_check(cusolverStatus_t status, const std::string& what) {
  if (status != CUSOLVER_STATUS_SUCCESS) {
    throw Error(what + ": cuSOLVER error " + std::to_string(static_cast<int>(status)));
  }
}

}  // namespace mlprims::detail
