// The low-rank module's back ends are linalg's DenseOps (linalg/backend.hpp): its closed form
// (weighted_closed_form.hpp) and device SVD (dense_ops_svd.hpp) are written once against them.
#pragma once

#include "linalg/backend.hpp"
#include "linalg/dense_ops.hpp"

namespace mlprims::lowrank::detail {

using linalg::BackendArray;
using linalg::BackendMemory;
using linalg::CpuDenseOps;
using linalg::DenseOps;
#if defined(MLPRIMS_WITH_CUDA)
using linalg::make_cuda_dense_ops;
#endif

}  // namespace mlprims::lowrank::detail
