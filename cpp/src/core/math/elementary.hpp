// Elementary functions written so that compilers vectorize them (no libm calls, no branches:
// only arithmetic, sqrt, fma, bit operations and selects), for host and device alike. Used by the
// elementwise kernels; accurate to about one ulp.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

#include "core/hd.hpp"
#include "core/isa_copies.hpp"

namespace mlprims::detail {
MLPRIMS_BEGIN_ISA_COPIES

MLPRIMS_HD inline std::uint64_t bits_of(double x) {
#if defined(__CUDA_ARCH__)
  return static_cast<std::uint64_t>(__double_as_longlong(x));
#else
  std::uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
#endif
}

MLPRIMS_HD inline double double_from_bits(std::uint64_t u) {
#if defined(__CUDA_ARCH__)
  return __longlong_as_double(static_cast<long long>(u));
#else
  double x;
  std::memcpy(&x, &u, sizeof x);
  return x;
#endif
}

MLPRIMS_HD inline double fused_multiply_add(double a, double b, double c) {
#if defined(__CUDA_ARCH__)
  return ::fma(a, b, c);
#else
  return __builtin_fma(a, b, c);
#endif
}

// A small integer as a double without an int64 -> double conversion instruction (AVX2 has
// none): |k| < 2^51 placed in the mantissa of 2^52 + 2^51.
MLPRIMS_HD inline double small_int_to_double(std::int64_t k) {
  constexpr double kMagic = 6755399441055744.0;  // 2^52 + 2^51
  return double_from_bits(bits_of(kMagic) + static_cast<std::uint64_t>(k)) - kMagic;
}

// hi + lo with |lo| <= ulp(hi)/2.
struct DoubleDouble {
  double hi;
  double lo;
};

MLPRIMS_HD inline DoubleDouble two_sum(double a, double b) {
  const double s = a + b;
  const double bb = s - a;
  return {s, (a - (s - bb)) + (b - bb)};
}

MLPRIMS_HD inline DoubleDouble two_product(double a, double b) {
  const double p = a * b;
  return {p, fused_multiply_add(a, b, -p)};
}

constexpr double kInfinityValue = std::numeric_limits<double>::infinity();
constexpr double kNaNValue = std::numeric_limits<double>::quiet_NaN();
// 1/y to about 0.3% for normal y > 0: the exponent-flipping bit trick and one Newton step. For
// corrections that are already tiny.
MLPRIMS_HD inline double reciprocal_estimate(double y) {
  const double r = double_from_bits(0x7FDE623822FC16E6ull - bits_of(y));
  return r * (2.0 - y * r);
}

constexpr double kLn2Hi = 6.93147180369123816490e-01;  // ln 2 with 21 trailing zero bits
constexpr double kLn2Lo = 1.90821492927058770002e-10;  // ln 2 - kLn2Hi

// log(x) = hi + lo to ~1e-17 absolute (plus 1 ulp relative of hi) for finite x > 0, subnormals
// included; other inputs give garbage (see log_checked).
//   x = 2^k m, m in [sqrt(1/2), sqrt(2)), f = m - 1, s = f/(2+f),
//   log m = 2 atanh(s) = f - f^2/2 + s (f^2/2 + R(s^2)),  R(z) = sum_{j>=1} 2 z^j/(2j+1).
MLPRIMS_HD inline DoubleDouble log_double_double(double x) {
  const bool subnormal = x < 0x1p-1022;
  const double scaled = subnormal ? x * 0x1p54 : x;
  const std::uint64_t bits = bits_of(scaled);
  const auto k = static_cast<std::int64_t>(bits - 0x3fe6a09e667f3bcdull) >> 52;
  const double m = double_from_bits(bits - (static_cast<std::uint64_t>(k) << 52));
  const double kd = small_int_to_double(k) - (subnormal ? 54.0 : 0.0);
  const double f = m - 1.0;
  const double s = f / (2.0 + f);
  const double z = s * s;
  // |z| <= 0.0295: ten terms leave < 1e-19.
  const double r =
      z * (2.0 / 3 +
           z * (2.0 / 5 +
                z * (2.0 / 7 +
                     z * (2.0 / 9 +
                          z * (2.0 / 11 +
                               z * (2.0 / 13 + z * (2.0 / 15 + z * (2.0 / 17 + z * (2.0 / 19 + z * (2.0 / 21))))))))));
  const double half_f2 = 0.5 * f * f;
  const DoubleDouble head = two_sum(kd * kLn2Hi, f);
  const double tail = head.lo + ((s * (half_f2 + r) - half_f2) + kd * kLn2Lo);
  const double hi = head.hi + tail;
  return {hi, tail - (hi - head.hi)};
}

// log(x) for finite x > 0 (subnormals included).
MLPRIMS_HD inline double log_positive(double x) {
  const DoubleDouble l = log_double_double(x);
  return l.hi + l.lo;
}

// log(1 + a) for a > -1 (a = -1 gives -inf, a = inf gives inf): log of the rounded u = 1 + a,
// corrected to first order for the rounding of u. The correction (a - (u - 1))/u is divided
// exactly: where |a| < eps, u = 1 and it is the whole result (a rough reciprocal left log1p(1e-17)
// with a relative error of 3e-3).
MLPRIMS_HD inline double log1p_checked(double a) {
  const double u = 1.0 + a;
  const double value = log_positive(u) + (a - (u - 1.0)) / u;
  const double edge = u == 0.0 ? -kInfinityValue : (u == kInfinityValue ? kInfinityValue : kNaNValue);
  return (u > 0.0 && u < kInfinityValue) ? value : edge;
}

// The integer nearest to x (ties to even), for 0 <= x < 2^51, without a rounding instruction.
MLPRIMS_HD inline double round_to_integer(double x) {
  constexpr double kMagic = 4503599627370496.0;  // 2^52
  return (x + kMagic) - kMagic;
}

// exp(x) for |x| <= 708 (normal results): x = k ln 2 + r, |r| <= ln2/2, Taylor series of e^r.
MLPRIMS_HD inline double exp_moderate(double x) {
  constexpr double kShift = 6755399441055744.0;  // 2^52 + 2^51: adding it rounds to an integer
  const double shifted = fused_multiply_add(x, 1.4426950408889634, kShift);
  const double kd = shifted - kShift;
  const auto k = static_cast<std::int64_t>(bits_of(shifted) - bits_of(kShift));
  const double r = fused_multiply_add(-kd, kLn2Lo, fused_multiply_add(-kd, kLn2Hi, x));
  // |r| <= 0.347: terms through r^13/13! leave < 1e-17.
  const double p =
      1.0 +
      r * (1.0 +
           r * (1.0 / 2 +
                r * (1.0 / 6 +
                     r * (1.0 / 24 +
                          r * (1.0 / 120 +
                               r * (1.0 / 720 +
                                    r * (1.0 / 5040 +
                                         r * (1.0 / 40320 +
                                              r * (1.0 / 362880 +
                                                   r * (1.0 / 3628800 +
                                                        r * (1.0 / 39916800 + r * (1.0 / 479001600 +
                                                                                   r * (1.0 / 6227020800.0)))))))))))));
  return double_from_bits(bits_of(p) + (static_cast<std::uint64_t>(k) << 52));
}

// exp(x) for every x, branch-free: results below the normal range are flushed to 0 (x < -708),
// x > 708 gives inf, NaN stays NaN. For sums of exponentials (kernels, log-sum-exp), where a term
// below 1e-308 of the largest one cannot change the sum.
MLPRIMS_HD inline double exp_flush_to_zero(double x) {
  const double clamped = x < -708.0 ? -708.0 : (x > 708.0 ? 708.0 : x);
  const double value = exp_moderate(clamped);
  return x < -708.0 ? 0.0 : (x > 708.0 ? kInfinityValue : (x == x ? value : x));
}

MLPRIMS_END_ISA_COPIES
}  // namespace mlprims::detail
