// MLPRIMS_HD marks functions that compile for both the CPU and CUDA devices, so that the
// math shared by the two back ends is written once.
#pragma once

#if defined(__CUDACC__)
#define MLPRIMS_HD __host__ __device__
#else
#define MLPRIMS_HD
#endif
