// Argument checks shared by the public entry points. Each throws mlprims::TypeError or
// ValueError with a message "<function>: '<argument>' <what was expected>, got <what came>".
#pragma once

#include <string>

#include "mlprims/core/error.hpp"
#include "mlprims/core/tensor.hpp"

namespace mlprims::detail {

// Names the function and argument in messages.
struct ArgRef {
  const char* function;
  const char* name;
  std::string prefix() const;  // "<function>: '<name>'"
};

void require_floating(const TensorView& t, ArgRef arg);  // float32 or float64
void require_dtype(const TensorView& t, DType dtype, ArgRef arg);
void require_same_device(const TensorView& t, const Device& device, ArgRef arg);
// An output: writable, with every element at its own memory location.
void require_writable(const TensorView& t, ArgRef arg);
void require_contiguous(const TensorView& t, ArgRef arg);  // C-contiguous
void require_distinct_elements(const TensorView& t, ArgRef arg);
void require_ndim(const TensorView& t, int ndim, ArgRef arg);
void require_shape(const TensorView& t, const Shape& shape, ArgRef arg);
// `out` must not share memory with `input` unless both are the very same view.
void require_no_partial_overlap(const TensorView& out, const TensorView& input, ArgRef out_arg, ArgRef input_arg);

// A double for a message: the shortest form that reads back as the same number (as Python's
// repr; std::to_string would print 1e-9 as "0.000000"), or at most `significant` digits.
std::string format_double(double value, int significant = 17);

// numpy broadcasting of two shapes; ValueError naming both arguments and shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, ArgRef a_arg, ArgRef b_arg);

// Throws TypeError when a CUDA tensor reaches a build without the CUDA back end.
void require_cuda_build(const TensorView& t, ArgRef arg);
// ValueError unless `device` is a CUDA device this process can use: a build with the CUDA back end,
// a driver that runs it, and an index below the number of devices visible.
void require_usable_cuda_device(const Device& device, ArgRef arg);

}  // namespace mlprims::detail
