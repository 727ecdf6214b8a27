// Moves small 1-D float32/float64 vectors (a direction, a few parameters) between host
// std::vector<double> and a TensorView on any device.
#pragma once

#include <vector>

#include "mlprims/core/tensor.hpp"

namespace mlprims::detail {

std::vector<double> read_vector(const TensorView& t);
void write_vector(const std::vector<double>& values, const TensorView& out);

// CUDA halves, defined in cuda/src/core when the CUDA back end is built.
std::vector<double> read_vector_cuda(const TensorView& t);
void write_vector_cuda(const std::vector<double>& values, const TensorView& out);

}  // namespace mlprims::detail
