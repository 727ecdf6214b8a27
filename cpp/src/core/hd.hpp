// MLPRIMS_HD marks functions that compile for both the CPU and CUDA devices, so that the
// math shared by the two back ends is written once.
#pragma once

#if defined(__CUDACC__)
#define MLPRIMS_HD __host__ __device__
#else
#define MLPRIMS_HD
#endif

// Fully unrolls a loop with a fixed trip count, so that the elementwise kernels that contain it
// stay straight-line code the compiler can vectorize across elements.
#if defined(__CUDACC__)
#define MLPRIMS_UNROLL _Pragma("unroll")
#elif defined(__GNUC__) && !defined(__clang__)
#define MLPRIMS_UNROLL _Pragma("GCC unroll 128")
#elif defined(__clang__)
#define MLPRIMS_UNROLL _Pragma("unroll")
#else
#define MLPRIMS_UNROLL
#endif
