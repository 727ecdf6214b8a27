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
#include "core/isa_copies.hpp"

namespace mlprims::detail {
MLPRIMS_BEGIN_ISA_COPIES

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

// The conversions are written without branches (selects between values computed for every case)
// so that loops over arrays of them vectorize. A select through a mask: GCC does not if-convert
// a ?: whose operand is a floating-point product (it may trap, so it will not be speculated).
MLPRIMS_HD inline std::uint32_t select_bits(bool condition, std::uint32_t if_true, std::uint32_t if_false) {
  const std::uint32_t mask = 0u - static_cast<std::uint32_t>(condition);
  return (if_true & mask) | (if_false & ~mask);
}

MLPRIMS_HD inline float to_float(Float16 h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h.bits & 0x8000u) << 16;
  const std::uint32_t exponent = (h.bits >> 10) & 0x1fu;
  const std::uint32_t mantissa = h.bits & 0x3ffu;
  // zero or subnormal: mantissa * 2^-24, exact in float
  const std::uint32_t small = float_bits(static_cast<float>(mantissa) * 5.9604644775390625e-8f) | sign;
  const std::uint32_t special = sign | 0x7f800000u | (mantissa << 13);  // inf, NaN
  const std::uint32_t normal = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  return float_from_bits(select_bits(exponent == 0, small, select_bits(exponent == 31, special, normal)));
}

MLPRIMS_HD inline BFloat16 bfloat16_from_float(float value) {
  const std::uint32_t bits = float_bits(value);
  const std::uint32_t bias = 0x7fffu + ((bits >> 16) & 1u);
  const std::uint32_t rounded = (bits + bias) >> 16;
  const std::uint32_t quiet_nan = (bits >> 16) | 0x40u;
  return {static_cast<std::uint16_t>((bits & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded)};
}

MLPRIMS_HD inline Float16 float16_from_float(float value) {
  const std::uint32_t bits = float_bits(value);
  const std::uint32_t sign = (bits >> 16) & 0x8000u;
  const std::uint32_t magnitude = bits & 0x7fffffffu;
  // Below 2^-14: a subnormal half (units of 2^-24) or zero. |value| * 2^24 is exact, and adding
  // 2^23 rounds it to an integer, ties to even (<= 2^-25 becomes 0), in the default rounding mode
  // (mlprims never changes it); a compiler may fuse the two into a multiply-add, with the same
  // result since the product is exact.
  const bool subnormal = magnitude < 0x38800000u;
  const float scaled = float_from_bits(select_bits(subnormal, magnitude, 0u)) * 16777216.0f;
  const auto small = static_cast<std::uint32_t>(static_cast<std::int32_t>((scaled + 8388608.0f) - 8388608.0f));
  const std::uint32_t rebiased = magnitude - 0x38000000u;  // exponent 127 -> 15
  const std::uint32_t normal = (rebiased + 0xfffu + ((rebiased >> 13) & 1u)) >> 13;
  const std::uint32_t finite = select_bits(subnormal, small, normal);
  const std::uint32_t half = select_bits(magnitude > 0x7f800000u, 0x7e00u,               // NaN
                                         select_bits(magnitude >= 0x477ff000u, 0x7c00u,  // >= 65520: inf
                                                     finite));
  return {static_cast<std::uint16_t>(sign | half)};
}

// The float nearest to `value` toward zero, with its last bit set when inexact ("round to odd"):
// rounding it again to any format at least two bits narrower gives the correctly rounded result.
MLPRIMS_HD inline float float_round_to_odd(double value) {
  const float nearest = static_cast<float>(value);
  const double back = static_cast<double>(nearest);
  // Without branches (fabs, not a ternary): the signs and the rounding direction are random, and a
  // mispredicted branch per element was most of the cost of a bfloat16 Adam step.
  const std::uint32_t away = fabs(back) > fabs(value) ? 1u : 0u;     // step toward zero (sign-magnitude bits)
  const std::uint32_t inexact = (back != value) & (value == value);  // a NaN stays as it is
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

MLPRIMS_END_ISA_COPIES
}  // namespace mlprims::detail
