// What this build of mlprims contains.
#pragma once

#include <string>

namespace mlprims {

std::string version();
bool built_with_cuda();
// Whether the CUDA back end was built and why, as decided when the library was configured, e.g.
// "on: built for CUDA architectures 80 90" or "off: not found when mlprims was built: nvcc ...".
std::string cuda_status();
// Number of CUDA devices usable now (0 without CUDA support or without a device).
int cuda_device_count();
// The dense linear algebra libraries this build calls, e.g. "OpenBLAS 0.3.30 (scipy-openblas32)"
// and, with CUDA, "cuBLAS 13.1.0, cuSOLVER 12.0.4".
std::string blas_library();
std::string cuda_libraries();

}  // namespace mlprims
