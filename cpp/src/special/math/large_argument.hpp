// Hankel's large-argument expansion (DLMF 10.40.1-2) for x >= 1000 and v^2 <= 0.005 x:
//   I_v(x) ~ e^x / sqrt(2 pi x) sum_k (-1)^k a_k(v)/x^k,  K_v(x) ~ sqrt(pi/(2x)) e^-x sum_k a_k(v)/x^k,
//   a_k(v)/a_{k-1}(v) = (4v^2 - (2k-1)^2) / (8k).
// Five terms leave < 1e-21 relative there (checked against mpmath), and the exponentially small
// part of I is below e^-2000. It is cheaper than the Debye form: one division and one logarithm.
#pragma once

#include "core/hd.hpp"
#include "core/isa_copies.hpp"
#include "core/math/elementary.hpp"
#include "special/math/constants.hpp"

namespace mlprims::special::detail {
MLPRIMS_BEGIN_ISA_COPIES

MLPRIMS_HD inline bool in_hankel_region(double v, double x) { return x >= 1000.0 && v * v <= 0.005 * x; }

// log I_v(x) (kI) or log K_v(x) for x >= 1000, v^2 <= 0.005 x, x < 1e300.
template <bool kI>
MLPRIMS_HD inline double log_bessel_hankel(double v, double x) {
  const double inverse_x = 1.0 / x;
  const double mu = 4.0 * v * v;
  double term = 1.0, sum = 1.0;
  MLPRIMS_UNROLL
  for (int k = 1; k <= 5; ++k) {
    const double odd = 2.0 * k - 1.0;
    term *= (mu - odd * odd) * (0.125 / k) * (kI ? -inverse_x : inverse_x);
    sum += term;
  }
  // -log(2 pi x)/2 + log(sum) (I) or log(pi/(2x))/2 + log(sum) (K), as half of one logarithm
  constexpr double kTwoPi = 2.0 * kPi, kHalfPi = 0.5 * kPi;
  const double log_part = 0.5 * mlprims::detail::log_positive(sum * sum * inverse_x * (kI ? 1.0 / kTwoPi : kHalfPi));
  return kI ? x + log_part : log_part - x;
}

MLPRIMS_END_ISA_COPIES
}  // namespace mlprims::special::detail
