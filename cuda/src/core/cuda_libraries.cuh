// cuBLAS and cuSOLVER status codes as mlprims::Error.
#pragma once

#include <cublas_v2.h>
#include <cusolverDn.h>

#include <string>

#include "mlprims/core/error.hpp"

namespace mlprims::detail {

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
