// The CUDA implementation of DenseOps (cuBLAS/cuSOLVER), defined in
// cuda/src/lowrank/cuda_dense_ops.cu when the CUDA back end is built.
#pragma once

#include <memory>

#include "lowrank/dense_ops.hpp"

namespace mlprims::lowrank::detail {

#if defined(MLPRIMS_WITH_CUDA)
// Operations on CUDA device `device`, in order on `stream` (a cudaStream_t; nullptr: the legacy
// default stream).
template <class T>
std::unique_ptr<DenseOps<T>> make_cuda_dense_ops(int device, void* stream);
#endif

}  // namespace mlprims::lowrank::detail
