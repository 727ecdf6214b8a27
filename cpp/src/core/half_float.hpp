// float16 and bfloat16 storage types and their conversions, written once for the host and CUDA
// kernels. Every narrowing conversion rounds to nearest, ties to even (IEEE 754's default), and
// rounds once: a double becomes a half through float with round-to-odd, which is exact for the
// final rounding because float carries more than two extra bits (the standard argument of Boldo
// and Melquiond). NaN stays NaN (quiet), infinities and signed zeros are kept, overflow gives inf.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/hd.hpp"

namespace mlprims::detail {

struct BFloat16 {
  std::uint16_t bits;
};
struct Float16 {
  std::uint16_t bits;
};

MLPRIMS_HD inline std::uint32_t float_bits(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}
MLPRIMS_HD inline float float_from_bits(std::uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

MLPRIMS_HD inline float to_float(BFloat16 h) { return float_from_bits(static_cast<std::uint32_t>(h.bits) << 16); }

MLPRIMS_HD inline float to_float(Float16 h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h.bits & 0x8000u) << 16;
  const std::uint32_t exponent = (h.bits >> 10) & 0x1fu;
  const std::uint32_t mantissa = h.bits & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exact in float
    const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
    return float_from_bits(float_bits(magnitude) | sign);
  }
  if (exponent == 31) return float_from_bits(sign | 0x7f800000u | (mantissa << 13));
  return float_from_bits(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

MLPRIMS_HD inline BFloat16 bfloat16_from_float(float value) {
  const std::uint32_t bits = float_bits(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return {static_cast<std::uint16_t>((bits >> 16) | 0x40u)};  // quiet NaN
  const std::uint32_t bias = 0x7fffu + ((bits >> 16) & 1u);
  return {static_cast<std::uint16_t>((bits + bias) >> 16)};
}

MLPRIMS_HD inline Float16 float16_from_float(float value) {
  const std::uint32_t bits = float_bits(value);
  const std::uint16_t sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) return {static_cast<std::uint16_t>(sign | 0x7e00u)};
  if (magnitude >= 0x477ff000u) return {static_cast<std::uint16_t>(sign | 0x7c00u)};  // >= 65520: inf
  if (magnitude < 0x38800000u) {                  // below 2^-14: a subnormal half (units of 2^-24) or zero
    if (magnitude <= 0x33000000u) return {sign};  // <= 2^-25 rounds to zero (the tie to even)
    const std::uint32_t exponent = magnitude >> 23;
    const std::uint32_t significand = (magnitude & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126u - exponent;  // 14 ... 24
    std::uint32_t rounded = significand >> shift;
    const std::uint32_t rest = significand & ((1u << shift) - 1u);
    const std::uint32_t half = 1u << (shift - 1u);
    if (rest > half || (rest == half && (rounded & 1u))) ++rounded;
    return {static_cast<std::uint16_t>(sign | rounded)};
  }
  const std::uint32_t rebiased = magnitude - 0x38000000u;  // exponent 127 -> 15
  return {static_cast<std::uint16_t>(sign | ((rebiased + 0xfffu + ((rebiased >> 13) & 1u)) >> 13))};
}

// The float nearest to `value` toward zero, with its last bit set when inexact ("round to odd"):
// rounding it again to any format at least two bits narrower gives the correctly rounded result.
MLPRIMS_HD inline float float_round_to_odd(double value) {
  const float nearest = static_cast<float>(value);
  if (value != value) return nearest;
  const double back = static_cast<double>(nearest);
  // Without branches (fabs, not a ternary): the signs and the rounding direction are random, and a
  // mispredicted branch per element was most of the cost of a bfloat16 Adam step.
  const std::uint32_t away = fabs(back) > fabs(value) ? 1u : 0u;  // step toward zero (sign-magnitude bits)
  const std::uint32_t inexact = back != value ? 1u : 0u;
  return float_from_bits((float_bits(nearest) - away) | inexact);
}

// The conversions the sparse kernels are written with: widen to double, narrow with one rounding.
MLPRIMS_HD inline double to_double(float value) { return value; }
MLPRIMS_HD inline double to_double(double value) { return value; }
MLPRIMS_HD inline double to_double(BFloat16 value) { return to_float(value); }
MLPRIMS_HD inline double to_double(Float16 value) { return to_float(value); }

template <class T>
MLPRIMS_HD inline T round_from_double(double value);
template <>
MLPRIMS_HD inline double round_from_double<double>(double value) {
  return value;
}
template <>
MLPRIMS_HD inline float round_from_double<float>(double value) {
  return static_cast<float>(value);
}
template <>
MLPRIMS_HD inline BFloat16 round_from_double<BFloat16>(double value) {
  return bfloat16_from_float(float_round_to_odd(value));
}
template <>
MLPRIMS_HD inline Float16 round_from_double<Float16>(double value) {
  return float16_from_float(float_round_to_odd(value));
}

}  // namespace mlprims::detail
