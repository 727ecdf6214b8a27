// Broadcasting operands over an output shape and merging dimensions they all walk as one;
// used by the CPU and CUDA elementwise engines.
#pragma once

#include <cstdint>
#include <vector>

#include "mlprims/core/tensor.hpp"

namespace mlprims::detail {

// An operand laid over the output's shape: broadcast dimensions get stride 0.
struct ElementwiseOperand {
  char* data;
  DType dtype;
  Shape strides;  // in elements, one per output dimension
};

inline ElementwiseOperand align_to_output(const TensorView& t, const Shape& out_shape) {
  const std::size_t ndim = out_shape.size();
  const std::size_t offset = ndim - static_cast<std::size_t>(t.ndim());
  Shape strides(ndim, 0);
  for (std::size_t d = offset; d < ndim; ++d) {
    const std::size_t src = d - offset;
    strides[d] = t.shape()[src] == 1 ? 0 : t.strides()[src];
  }
  return {static_cast<char*>(t.data()), t.dtype(), strides};
}

// Merges neighbouring dimensions that every operand walks as one; drops extent-1 dimensions.
inline void coalesce(Shape& shape, std::vector<ElementwiseOperand*>& operands) {
  Shape merged_shape;
  std::vector<Shape> merged_strides(operands.size());
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool can_merge = !merged_shape.empty();
    for (std::size_t k = 0; k < operands.size() && can_merge; ++k) {
      can_merge = merged_strides[k].back() == operands[k]->strides[d] * shape[d];
    }
    if (can_merge) {
      merged_shape.back() *= shape[d];
      for (std::size_t k = 0; k < operands.size(); ++k) merged_strides[k].back() = operands[k]->strides[d];
    } else {
      merged_shape.push_back(shape[d]);
      for (std::size_t k = 0; k < operands.size(); ++k) merged_strides[k].push_back(operands[k]->strides[d]);
    }
  }
  if (merged_shape.empty()) {
    merged_shape.push_back(1);
    for (auto& s : merged_strides) s.push_back(0);
  }
  shape = merged_shape;
  for (std::size_t k = 0; k < operands.size(); ++k) operands[k]->strides = merged_strides[k];
}

}  // namespace mlprims::detail
