// weighted_svd with element-wise weights: the checks, the closed-form start (diagonal weights
// whose outer product best approximates sqrt(w)), alternating least squares (elementwise.hpp) and
// the factors as returned. Runs on the host in float64; W on a CUDA device is downloaded and the
// factors uploaded (the per-row r x r solves between GEMMs are host work).
#pragma once

#include <cstdint>

#include "mlprims/core/tensor.hpp"
#include "mlprims/lowrank.hpp"

namespace mlprims::lowrank::detail {

// W and the outputs checked by the caller (check_problem).
LowRankResult solve_elementwise(const char* function, const TensorView& W, std::int64_t rank, const TensorView& weights,
                                const SvdOptions& options, const IterativeOptions& iteration, const TensorView& left,
                                const TensorView& right, const TensorView& singular_values);

}  // namespace mlprims::lowrank::detail
