// Euclidean norms that neither overflow nor underflow wherever the inputs are finite.
//
// A plain sqrt(sum x^2) is inf once |x| > 1e154 and 0 once |x| < 1e-162, although the norm itself
// is representable: every reported error or residual must be computed this way. The squares are
// accumulated relative to the largest magnitude seen so far (the idea of LAPACK's dlassq): the
// norm is scale * sqrt(sum_of_squares) with every term of the sum <= 1.
#pragma once

#include <cmath>
#include <cstdint>

namespace mlprims::detail {

class ScaledSumOfSquares {
 public:
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

// ||x||_2 of n values spaced `stride` apart, in float64 whatever T is.
template <class T>
double scaled_norm(std::int64_t n, const T* x, std::int64_t stride = 1) {
  ScaledSumOfSquares sum;
  for (std::int64_t i = 0; i < n; ++i) sum.add(static_cast<double>(x[i * stride]));
  return sum.norm();
}

}  // namespace mlprims::detail
