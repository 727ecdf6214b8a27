// Euclidean norms that neither overflow nor underflow wherever the inputs are finite.
//
// A plain sqrt(sum x^2) is inf once |x| > 1e154 and 0 once |x| < 1e-162, although the norm itself
// is representable: every reported error or residual must be computed this way. The squares are
// accumulated relative to the largest magnitude seen so far (the idea of LAPACK's dlassq): the
// norm is scale * sqrt(sum_of_squares) with every term of the sum <= 1.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/hd.hpp"

namespace mlprims::detail {

class ScaledSumOfSquares {
 public:
  // The accumulator of values x whose (x / unit)^2 sum to sum_of_squares: a partial sum formed
  // elsewhere (a GPU block's, for x times a power of two 1 / unit). unit > 0 and finite.
  static ScaledSumOfSquares from_parts(double unit, double sum_of_squares) {
    ScaledSumOfSquares parts;
    if (sum_of_squares > 0.0) {
      parts.scale_ = unit;
      parts.sum_of_squares_ = sum_of_squares;
    } else if (!(sum_of_squares >= 0.0)) {
      parts.scale_ = sum_of_squares;  // NaN
    }
    return parts;
  }

  void add(double x) {
    const double magnitude = std::fabs(x);
    if (magnitude == 0.0 || std::isnan(scale_)) return;
    if (!std::isfinite(magnitude)) {  // NaN wins over inf, inf over finite values
      if (std::isnan(magnitude) || !std::isinf(scale_)) scale_ = magnitude;
      return;
    }
    if (std::isinf(scale_)) return;
    if (magnitude > scale_) {
      const double ratio = scale_ / magnitude;
      sum_of_squares_ = 1.0 + sum_of_squares_ * ratio * ratio;
      scale_ = magnitude;
    } else {
      const double ratio = magnitude / scale_;
      sum_of_squares_ += ratio * ratio;
    }
  }

  // Adds another accumulator's values (for per-thread partial sums).
  void merge(const ScaledSumOfSquares& other) {
    if (other.scale_ == 0.0 || std::isnan(scale_)) return;
    if (!std::isfinite(other.scale_)) {
      if (std::isnan(other.scale_) || !std::isinf(scale_)) *this = other;
      return;
    }
    if (std::isinf(scale_)) return;
    if (other.scale_ > scale_) {
      const double ratio = scale_ / other.scale_;
      sum_of_squares_ = other.sum_of_squares_ + sum_of_squares_ * ratio * ratio;
      scale_ = other.scale_;
    } else {
      const double ratio = other.scale_ / scale_;
      sum_of_squares_ += other.sum_of_squares_ * ratio * ratio;
    }
  }

  // sqrt(sum x^2): NaN if a NaN was added, inf if an inf was (and no NaN), else finite.
  double norm() const {
    if (scale_ == 0.0 || !std::isfinite(scale_)) return scale_;
    return scale_ * std::sqrt(sum_of_squares_);
  }

 private:
  double scale_ = 0.0;
  double sum_of_squares_ = 0.0;
};

// A power of two c with c * largest in [1/2, 1) (1 for 0), its exponent held within +-1000 so that
// c and 1/c stay normal numbers: the squares of c * x for finite |x| <= largest neither overflow
// nor all underflow, and multiplying by c is exact. For norms summed in a few passes (blocked or
// on a GPU) where a ScaledSumOfSquares per element would cost too much. Read from the bits (no
// frexp/ldexp), so that CUDA kernels use the same function.
MLPRIMS_HD inline double normalizing_power_of_two(double largest) {
  if (!(largest > 0.0) || largest > 1.7976931348623157e308) return 1.0;  // 0, NaN, inf
  std::uint64_t bits = 0;
  std::memcpy(&bits, &largest, sizeof(bits));
  const int biased = static_cast<int>((bits >> 52) & 0x7ff);
  // largest = f 2^e with f in [1/2, 1); subnormals are below 2^-1022 and clamped anyway.
  int exponent = biased == 0 ? -1022 : biased - 1022;
  exponent = exponent > 1000 ? 1000 : exponent < -1000 ? -1000 : exponent;
  const std::uint64_t scale_bits = static_cast<std::uint64_t>(1023 - exponent) << 52;
  double scale = 0.0;
  std::memcpy(&scale, &scale_bits, sizeof(scale));
  return scale;
}

// ||x||_2 of n values spaced `stride` apart, in float64 whatever T is.
template <class T>
double scaled_norm(std::int64_t n, const T* x, std::int64_t stride = 1) {
  ScaledSumOfSquares sum;
  for (std::int64_t i = 0; i < n; ++i) sum.add(static_cast<double>(x[i * stride]));
  return sum.norm();
}

}  // namespace mlprims::detail
