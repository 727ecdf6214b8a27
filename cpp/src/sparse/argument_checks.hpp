// Argument checks shared by the sparse entry points.
#pragma once

#include <cstdint>

#include "core/checks.hpp"
#include "mlprims/core/tensor.hpp"

namespace mlprims::sparse::detail {

using mlprims::detail::ArgRef;

// A C-contiguous CPU tensor of float16, bfloat16, float32 or float64.
void require_weights(const TensorView& t, ArgRef arg);
// `other` has the dtype and shape of `reference` (ValueError naming both).
void require_same_layout(const TensorView& other, const TensorView& reference, ArgRef other_arg, ArgRef reference_arg);
// A one-dimensional C-contiguous CPU tensor of `length` elements (of dtype int32/int64 for indices).
void require_vector(const TensorView& t, std::int64_t length, ArgRef arg);
void require_index_dtype(const TensorView& t, ArgRef arg);
// int32 indices address at most 2^31 elements; a tensor of `numel` needs int64 beyond that.
void require_index_range(const TensorView& indices, std::int64_t numel, ArgRef arg);
// A value dtype: float16, bfloat16, float32 or float64.
void require_value_dtype(DType dtype, ArgRef arg);
// ValueError unless the two views share no memory.
void require_disjoint(const TensorView& a, const TensorView& b, ArgRef a_arg, ArgRef b_arg);

}  // namespace mlprims::sparse::detail
