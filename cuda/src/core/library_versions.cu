// Versions of the CUDA libraries the back end links (they need no device to answer).
#include <cublas_v2.h>
#include <cusolverDn.h>

#include <string>

#include "core/cuda_device.hpp"

namespace mlprims::detail {
namespace {

template <class GetProperty>
std::string version_of(GetProperty get_property) {
  int major = 0, minor = 0, patch = 0;
  get_property(MAJOR_VERSION, &major);
  get_property(MINOR_VERSION, &minor);
  get_property(PATCH_LEVEL, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

}  // namespace

std::string cuda_library_versions() {
  int runtime = 0;
  cudaRuntimeGetVersion(&runtime);
  return "CUDA runtime " + std::to_string(runtime / 1000) + "." + std::to_string(runtime % 1000 / 10) + ", cuBLAS " +
         version_of(cublasGetProperty) + ", cuSOLVER " + version_of(cusolverGetProperty);
}

}  // namespace mlprims::detail
