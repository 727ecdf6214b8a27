// Moves small 1-D float32/float64 vectors (a direction, a few parameters) between host
// std::vector<double> and a TensorView on any device.
#pragma once

#include <cstdint>
#include <vector>

#include "mlprims/core/tensor.hpp"

namespace mlprims::detail {

std::vector<double> read_vector(const TensorView& t);
void write_vector(const std::vector<double>& values, const TensorView& out);
// A 1-D int64 vector (any stride, CPU or CUDA) on the host.
std::vector<std::int64_t> read_indices(const TensorView& t);
// Writes 0/1 flags into a 1-D bool tensor (any stride, CPU or CUDA).
void write_flags(const std::vector<std::uint8_t>& flags, const TensorView& out);

// CUDA halves, defined in cuda/src/core when the CUDA back end is built.
std::vector<double> read_vector_cuda(const TensorView& t);
void write_vector_cuda(const std::vector<double>& values, const TensorView& out);
std::vector<std::int64_t> read_indices_cuda(const TensorView& t);
void write_flags_cuda(const std::vector<std::uint8_t>& flags, const TensorView& out);

}  // namespace mlprims::detail
