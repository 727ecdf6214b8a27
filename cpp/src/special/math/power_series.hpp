// Ascending power series of I_v(x) (DLMF 10.25.2), used for rho = sqrt(v^2 + x^2) < 25:
//   I_v(x) = (x/2)^v / Gamma(v+1) * S,  S = sum_k (x^2/4)^k / (k! (v+1)_k).
// All terms are positive, so S is accurate. It is summed backwards as one fraction (no division
// until the end, a fixed number of terms chosen by x), and the prefactor's logarithm is carried
// in double-double so that log I stays accurate in absolute terms where it crosses zero.
#pragma once

#include "core/hd.hpp"
#include "core/isa_copies.hpp"
#include "core/math/elementary.hpp"
#include "special/math/constants.hpp"
#include "special/math/reciprocal_gamma.hpp"

namespace mlprims::special::detail {
MLPRIMS_BEGIN_ISA_COPIES

using mlprims::detail::DoubleDouble;

// S - 1 with K terms (K = 19 is enough for x <= 6, K = 40 for x <= 25): nested as
// 1 + q/d_1 (1 + q/d_2 (1 + ...)), d_k = k (v + k), each level kept as (b + c)/b.
template <int K>
MLPRIMS_HD inline double bessel_i_series_tail_fixed(double v, double quarter_x2) {
  double b = 1.0, c = 0.0;
  MLPRIMS_UNROLL
  for (int k = K; k >= 1; --k) {
    c = quarter_x2 * (b + c);
    b *= k * (v + k);
  }
  return c / b;
}

// S - 1 summed forward until the terms no longer matter (any v >= 0, moderate x^2/(v+1)).
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

// Gamma(v+1) = product / reciprocal for 0 <= v < 25.5: v = n + f with |f| <= 1/2,
// reciprocal = 1/Gamma(1+f) (Taylor series), product = (f+1)(f+2)...(f+n).
struct GammaParts {
  double reciprocal;
  double product;
  double fraction;  // f
};

MLPRIMS_HD inline GammaParts gamma_1p_parts(double v) {
  const double n = mlprims::detail::round_to_integer(v);
  const double f = v - n;
  double product = 1.0;
  MLPRIMS_UNROLL
  for (int k = 1; k <= 25; ++k) product *= (k <= n) ? f + k : 1.0;
  return {reciprocal_gamma_1p(f), product, f};
}

// log Gamma(v+1) for 0 <= v < 25.5, to a few ulps.
MLPRIMS_HD inline double log_gamma_1p(double v) {
  const GammaParts g = gamma_1p_parts(v);
  return mlprims::detail::log_positive(g.product) - mlprims::detail::log_positive(g.reciprocal);
}

// log(1/Gamma(1+f)) = gamma f - zeta(2) f^2/2 + zeta(3) f^3/3 - ... for |f| <= 1/16 (16 terms:
// the rest is below 2^-56 relative). The log of the rounded 1/Gamma(1+f) carries an absolute error
// of eps, which for small f is a large part of the result (v = 1e-10: a relative error of 1e-8 in
// log I_v at small x).
MLPRIMS_HD inline double log_reciprocal_gamma_1p_small(double f) {
  return f *
         (0.5772156649015329 +
          f * (-0.8224670334241132 +
               f * (0.40068563438653143 +
                    f * (-0.27058080842778454 +
                         f * (0.20738555102867398 +
                              f * (-0.1695571769974082 +
                                   f * (0.1440498967688461 +
                                        f * (-0.12550966952474304 +
                                             f * (0.11133426586956469 +
                                                  f * (-0.1000994575127818 +
                                                       f * (0.09095401714582904 +
                                                            f * (-0.083353840546109 +
                                                                 f * (0.0769325164113522 +
                                                                      f * (-0.07143294629536133 +
                                                                           f * (0.06666870588242046 +
                                                                                f * (-0.06250095514121304))))))))))))))));
}

// log I_v(x) for 0 <= v, 0 < x, v^2 + x^2 < kDebyeMinRho^2, with K series terms.
template <int K>
MLPRIMS_HD inline double log_iv_power_series(double v, double x) {
  using mlprims::detail::log_double_double;
  using mlprims::detail::log_positive;
  using mlprims::detail::two_product;
  using mlprims::detail::two_sum;
  const double half_x = 0.5 * x;
  const double tail = bessel_i_series_tail_fixed<K>(v, half_x * half_x);
  // v log(x/2) in double-double
  const DoubleDouble log_x = log_double_double(x);
  const DoubleDouble log_half_x = two_sum(log_x.hi, -mlprims::detail::kLn2Hi);
  const double log_half_x_lo = log_half_x.lo + (log_x.lo - mlprims::detail::kLn2Lo);
  const DoubleDouble power = two_product(v, log_half_x.hi);
  const double power_lo = power.lo + v * log_half_x_lo;
  // log Gamma(v+1) = log(product) - log(1/Gamma(1+f))
  const GammaParts g = gamma_1p_parts(v);
  const DoubleDouble log_product = log_double_double(g.product);
  const DoubleDouble head = two_sum(power.hi, -log_product.hi);
  const double log_reciprocal =
      ::fabs(g.fraction) <= 0.0625 ? log_reciprocal_gamma_1p_small(g.fraction) : log_positive(g.reciprocal);
  const double rest = head.lo + (power_lo - log_product.lo) + log_reciprocal + mlprims::detail::log1p_checked(tail);
  return head.hi + rest;
}

MLPRIMS_END_ISA_COPIES
}  // namespace mlprims::special::detail
