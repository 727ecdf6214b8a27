// Small CUDA runtime queries the CPU side of the library needs; defined in cuda/src/core when
// the CUDA back end is built.
#pragma once

#include <string>

namespace mlprims::detail {

int cuda_runtime_device_count();
std::string cuda_library_versions();

}  // namespace mlprims::detail
