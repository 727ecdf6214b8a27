// Test hooks of the low-rank module (mlprims' own tests, through mlprims._core.testing); not part
// of the API.
#pragma once

#include <cstdint>

#include "mlprims/core/iteration.hpp"
#include "mlprims/core/tensor.hpp"
#include "mlprims/lowrank.hpp"

namespace mlprims::lowrank::detail {

// weighted_svd with its messages naming `function`, the closed forms of CPU tensors running the
// CUDA back end's algorithm (dense_ops_svd.hpp) on the host, so that it is tested without a GPU.
LowRankResult solve_with_device_algorithm(const char* function, const TensorView& W, std::int64_t rank,
                                          const Weights& weights, const SvdOptions& options,
                                          const IterativeOptions& iteration, const TensorView& left,
                                          const TensorView& right, const TensorView& singular_values);

}  // namespace mlprims::lowrank::detail
