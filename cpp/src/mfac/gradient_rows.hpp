// The gradient matrix G (m x d, row-major with a row stride) as M-FAC reads it: float32, float64 or
// bfloat16 elements, always widened to double (products of float32 or bfloat16 values are exact
// in double, so only the sums round).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/hd.hpp"
#include "mlprims/core/tensor.hpp"

namespace mlprims::mfac::detail {

MLPRIMS_HD inline double bfloat16_to_double(std::uint16_t bits) {
  const std::uint32_t wide = static_cast<std::uint32_t>(bits) << 16;
  float value;
#if defined(__CUDA_ARCH__)
  value = __uint_as_float(wide);
#else
  std::memcpy(&value, &wide, sizeof value);
#endif
  return static_cast<double>(value);
}

// Rounds to the nearest float (ties to even), with +-inf beyond the float range as IEEE 754 has
// it (a plain cast of an out-of-range double is undefined behaviour in C++): magnitudes from
// (2 - 2^-24) 2^127, the midpoint between FLT_MAX and 2^128, up round to infinity.
MLPRIMS_HD inline float double_to_float(double value) {
  constexpr double kOverflow = 340282356779733661637539395458142568448.0;  // (2 - 2^-24) 2^127
  if (value >= kOverflow) return static_cast<float>(HUGE_VAL);
  if (value <= -kOverflow) return static_cast<float>(-HUGE_VAL);
  return static_cast<float>(value);
}

// Rounds to the nearest bfloat16 (ties to even), as bits; NaN stays a (quiet) NaN.
MLPRIMS_HD inline std::uint16_t double_to_bfloat16(double value) {
  const float f = double_to_float(value);
  std::uint32_t bits;
#if defined(__CUDA_ARCH__)
  bits = __float_as_uint(f);
#else
  std::memcpy(&bits, &f, sizeof bits);
#endif
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>(bits >> 16);
}

// Element j of a row of type T, as double.
template <class T>
MLPRIMS_HD inline double widen(const T* row, std::int64_t j) {
  if constexpr (sizeof(T) == 2) {
    return bfloat16_to_double(row[j]);
  } else {
    return static_cast<double>(row[j]);
  }
}

struct GradientRows {
  const char* data = nullptr;
  DType dtype = DType::kFloat32;
  std::int64_t rows = 0;        // m
  std::int64_t cols = 0;        // d
  std::int64_t row_stride = 0;  // elements between rows

  std::int64_t element_size() const { return static_cast<std::int64_t>(dtype_size(dtype)); }
  const char* row(std::int64_t i) const { return data + i * row_stride * element_size(); }

  // A sliding window's buffer of contiguous rows of `dim` values, none present yet.
  static GradientRows window(const char* data, DType dtype, std::int64_t dim) { return {data, dtype, 0, dim, dim}; }
};

template <class T>
struct StorageTag {
  using type = T;
};

// Calls f(StorageTag<T>{}) with T the storage type of `dtype`: float, double, or uint16_t holding
// bfloat16 bits.
template <class F>
decltype(auto) with_storage_type(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kFloat64:
      return f(StorageTag<double>{});
    case DType::kBFloat16:
      return f(StorageTag<std::uint16_t>{});
    default:
      return f(StorageTag<float>{});
  }
}

}  // namespace mlprims::mfac::detail
