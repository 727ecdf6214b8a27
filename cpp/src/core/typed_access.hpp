// Reading and writing float32/float64 elements of a view as double, the same code on the host and
// in CUDA kernels: one element at an element offset from a base pointer, and element (i, j) of a
// strided matrix (a vector when it has one dimension).
#pragma once

#include <cstdint>

#include "core/hd.hpp"
#include "mlprims/core/tensor.hpp"

namespace mlprims::detail {

MLPRIMS_HD inline double load_as_double(const char* base, DType dtype, std::int64_t offset = 0) {
  return dtype == DType::kFloat64 ? reinterpret_cast<const double*>(base)[offset]
                                  : static_cast<double>(reinterpret_cast<const float*>(base)[offset]);
}

MLPRIMS_HD inline void store_from_double(char* base, DType dtype, std::int64_t offset, double value) {
  if (dtype == DType::kFloat64) {
    reinterpret_cast<double*>(base)[offset] = value;
  } else {
    reinterpret_cast<float*>(base)[offset] = static_cast<float>(value);
  }
}

// Element (i, j) of a float32/float64 matrix as double; passed by value into kernels.
struct MatrixReader {
  const char* data;
  DType dtype;
  std::int64_t row_stride;
  std::int64_t col_stride;

  static MatrixReader of(const TensorView& t) {
    return {static_cast<const char*>(t.data()), t.dtype(), t.stride(0), t.ndim() > 1 ? t.stride(1) : 0};
  }
  MLPRIMS_HD double operator()(std::int64_t i, std::int64_t j) const {
    return load_as_double(data, dtype, i * row_stride + j * col_stride);
  }
};

}  // namespace mlprims::detail
