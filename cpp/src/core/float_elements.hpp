// The four floating storage types as C++ types: dispatch from a DType, and magnitude keys.
// A magnitude key is the bit pattern of |v| read as an unsigned integer of the same width: for
// numbers it orders like |v| (IEEE 754 bit patterns of non-negative floats are monotone), and every
// NaN has a key above infinity's, so selections can find NaN and refuse to rank it.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "core/half_float.hpp"
#include "core/isa_copies.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/core/tensor.hpp"

namespace mlprims::detail {
MLPRIMS_BEGIN_ISA_COPIES

// Calls visit(T{}) with T the C++ type of a float16/bfloat16/float32/float64 dtype.
template <class Visitor>
decltype(auto) visit_float_type(DType dtype, Visitor&& visit) {
  switch (dtype) {
    case DType::kFloat16:
      return visit(Float16{});
    case DType::kBFloat16:
      return visit(BFloat16{});
    case DType::kFloat32:
      return visit(float{});
    case DType::kFloat64:
      return visit(double{});
    default:
      throw TypeError(std::string("internal: no floating storage type for dtype ") + dtype_name(dtype));
  }
}

// Calls visit(T{}) with T = std::int32_t or std::int64_t.
template <class Visitor>
decltype(auto) visit_index_type(DType dtype, Visitor&& visit) {
  if (dtype == DType::kInt32) return visit(std::int32_t{});
  if (dtype == DType::kInt64) return visit(std::int64_t{});
  throw TypeError(std::string("internal: no index type for dtype ") + dtype_name(dtype));
}

template <class T>
using MagnitudeKey =
    std::conditional_t<sizeof(T) == 2, std::uint16_t, std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>;

// The storage bits of a value as an unsigned integer of its width (the 16-bit types' member
// directly: a loop over it vectorizes where one over a struct memcpy may not).
template <class T>
MLPRIMS_HD inline MagnitudeKey<T> storage_bits(T value) {
  if constexpr (std::is_same_v<T, BFloat16> || std::is_same_v<T, Float16>) {
    return value.bits;
  } else {
    MagnitudeKey<T> bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
  }
}

template <class T>
MLPRIMS_HD inline MagnitudeKey<T> magnitude_key(T value) {
  constexpr MagnitudeKey<T> sign = MagnitudeKey<T>(1) << (8 * sizeof(T) - 1);
  return storage_bits(value) & static_cast<MagnitudeKey<T>>(~sign);
}

// The key of +infinity; keys above it are NaN.
template <class T>
constexpr MagnitudeKey<T> infinity_key() {
  if constexpr (std::is_same_v<T, BFloat16>) return 0x7f80u;
  if constexpr (std::is_same_v<T, Float16>) return 0x7c00u;
  if constexpr (std::is_same_v<T, float>) return 0x7f800000u;
  if constexpr (std::is_same_v<T, double>) return 0x7ff0000000000000ull;
}

template <class T>
MLPRIMS_HD inline bool same_bits(T x, T y) {
  return storage_bits(x) == storage_bits(y);
}

MLPRIMS_END_ISA_COPIES
}  // namespace mlprims::detail
