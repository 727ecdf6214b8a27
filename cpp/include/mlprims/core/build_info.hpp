// What this build of mlprims contains.
#pragma once

#include <string>

namespace mlprims {

std::string version();
bool built_with_cuda();
// Number of CUDA devices usable now (0 without CUDA support or without a device).
int cuda_device_count();
// The dense linear algebra libraries this build calls, e.g. "OpenBLAS 0.3.30 (scipy-openblas32)"
// and, with CUDA, "cuBLAS 13.1.0, cuSOLVER 12.0.4".
std::string blas_library();
std::string cuda_libraries();

}  // namespace mlprims
