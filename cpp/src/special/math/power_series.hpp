// Ascending power series of I_v(x) (DLMF 10.25.2) for the region rho = sqrt(v^2 + x^2) < 25:
//   I_v(x) = (x/2)^v / Gamma(v+1) * S,  S = sum_k (x^2/4)^k / (k! (v+1)_k).
// All terms are positive, so S is accurate; 1/Gamma(v+1) comes from 1/Gamma(1+f) (|f| <= 1/2,
// Taylor series) divided by (f+1)(f+2)...(f+n), v = n + f.
#pragma once

#include <cmath>

#include "core/hd.hpp"
#include "special/math/constants.hpp"
#include "special/math/reciprocal_gamma.hpp"

namespace mlprims::special::detail {

// S - 1 for v >= 0 and x^2/4 = quarter_x2 (small enough that the series converges quickly).
MLPRIMS_HD inline double bessel_i_series_tail(double v, double quarter_x2) {
  double term = 1.0;
  double tail = 0.0;
  for (int k = 1; k < 400; ++k) {
    term *= quarter_x2 / (k * (v + k));
    tail += term;
    if (term <= tail * 0x1p-56) break;
  }
  return tail;
}

// Gamma(v+1) as numerator/denominator without overflow for 0 <= v <= ~150.
struct GammaParts {
  double reciprocal;  // 1/Gamma(1+f) for v = n + f, |f| <= 1/2
  double product;     // (f+1)(f+2)...(f+n)
};

MLPRIMS_HD inline GammaParts gamma_1p_parts(double v) {
  const double n = ::floor(v + 0.5);
  const double f = v - n;
  double product = 1.0;
  for (double k = 1.0; k <= n; k += 1.0) product *= f + k;
  return {reciprocal_gamma_1p(f), product};
}

// log Gamma(v+1) for 0 <= v <= ~150, to a few ulps.
MLPRIMS_HD inline double log_gamma_1p(double v) {
  const GammaParts g = gamma_1p_parts(v);
  return ::log(g.product / g.reciprocal);
}

// log I_v(x) for v >= 0, x > 0 and v^2 + x^2 < kDebyeMinRho^2.
MLPRIMS_HD inline double log_iv_power_series(double v, double x) {
  const double half_x = 0.5 * x;
  const double tail = bessel_i_series_tail(v, half_x * half_x);
  const GammaParts g = gamma_1p_parts(v);
  if (x > 1e-8) {
    // (x/2)^v stays within [1e-210, 1e28] here, and pow rounds it correctly to within an ulp;
    // forming the product first keeps log I accurate in absolute terms near log I = 0.
    const double prefactor = ::pow(half_x, v) * (g.reciprocal / g.product);
    return ::log(prefactor * (1.0 + tail));
  }
  // log(x) - log 2 rather than log(x/2): x/2 underflows for the smallest subnormal x.
  return v * (::log(x) - kLn2) + ::log(g.reciprocal / g.product) + ::log1p(tail);
}

}  // namespace mlprims::special::detail
