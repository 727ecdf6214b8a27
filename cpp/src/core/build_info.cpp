#include "mlprims/core/build_info.hpp"

#include "core/cuda_device.hpp"
#include "linalg/blas.hpp"

#ifndef MLPRIMS_VERSION
#define MLPRIMS_VERSION "0.0.0"
#endif
// Set by third_party/cmake/MlprimsCuda.cmake; absent when built without that file.
#ifndef MLPRIMS_CUDA_STATUS
#define MLPRIMS_CUDA_STATUS "unknown: built without MlprimsCuda.cmake"
#endif

namespace mlprims {

std::string version() { return MLPRIMS_VERSION; }

bool built_with_cuda() {
#if defined(MLPRIMS_WITH_CUDA)
  return true;
#else
  return false;
#endif
}

std::string cuda_status() { return MLPRIMS_CUDA_STATUS; }

std::string blas_library() { return linalg::blas_description(); }

std::string cuda_libraries() {
#if defined(MLPRIMS_WITH_CUDA)
  return detail::cuda_library_versions();
#else
  return "";
#endif
}

int cuda_device_count() {
#if defined(MLPRIMS_WITH_CUDA)
  return detail::cuda_runtime_device_count();
#else
  return 0;
#endif
}

}  // namespace mlprims
