// Uniform large-order (Debye) expansion of I_v(x) and K_v(x), DLMF 10.41.3-4, written in the
// variables rho = sqrt(v^2 + x^2), s = (v/rho)^2 so that it holds for every v >= 0 once rho is
// large: u_k(t)/v^k = P_k(s)/rho^k with t = v/rho, and for v -> 0 it becomes the Hankel
// (large-argument) expansion. Truncation error ~ P_{N+1}(0)/rho^(N+1) <= 2e-17 with the term
// counts chosen below.
#pragma once

#include <cmath>

#include "core/hd.hpp"
#include "special/math/constants.hpp"
#include "special/math/debye_polynomials.hpp"
#include "special/math/laplace_limit.hpp"

namespace mlprims::special::detail {

// P_K(s) + z * (P_{K+1}(s) + z * (... P_N(s))), Horner in z; kV picks the v_k polynomials.
template <int K, int N, bool kV>
struct DebyeHorner {
  MLPRIMS_HD static double eval(double s, double z) {
    return polynomial(s) + z * DebyeHorner<K + 1, N, kV>::eval(s, z);
  }
  MLPRIMS_HD static double polynomial(double s) {
    if constexpr (kV) {
      return debye_v<K>(s);
    } else {
      return debye_u<K>(s);
    }
  }
};

template <int N, bool kV>
struct DebyeHorner<N, N, kV> {
  MLPRIMS_HD static double eval(double s, double /*z*/) {
    if constexpr (kV) {
      return debye_v<N>(s);
    } else {
      return debye_u<N>(s);
    }
  }
};

template <int N, bool kV>
MLPRIMS_HD inline double debye_sum_n(double s, double z) {
  return z * DebyeHorner<1, N, kV>::eval(s, z);
}

// sum_{k>=1} P_k(s) z^k with as many terms as rho = 1/|z| needs.
template <bool kV>
MLPRIMS_HD inline double debye_sum(double s, double z) {
  const double a = ::fabs(z);
  if (a <= 1.0 / 5.93e7) return debye_sum_n<1, kV>(s, z);
  if (a <= 1.0 / 1.55e5) return debye_sum_n<2, kV>(s, z);
  if (a <= 1.0 / 8.7e3) return debye_sum_n<3, kV>(s, z);
  if (a <= 1.0 / 1.63e3) return debye_sum_n<4, kV>(s, z);
  if (a <= 1.0 / 555.0) return debye_sum_n<5, kV>(s, z);
  if (a <= 1.0 / 264.0) return debye_sum_n<6, kV>(s, z);
  if (a <= 1.0 / 154.0) return debye_sum_n<7, kV>(s, z);
  if (a <= 1.0 / 103.0) return debye_sum_n<8, kV>(s, z);
  if (a <= 1.0 / 75.0) return debye_sum_n<9, kV>(s, z);
  if (a <= 1.0 / 58.6) return debye_sum_n<10, kV>(s, z);
  if (a <= 1.0 / 41.0) return debye_sum_n<12, kV>(s, z);
  if (a <= 1.0 / 32.3) return debye_sum_n<14, kV>(s, z);
  if (a <= 1.0 / 27.3) return debye_sum_n<16, kV>(s, z);
  return debye_sum_n<18, kV>(s, z);
}

// What the expansion needs of (v, x): with rho = sqrt(v^2 + x^2), its inverse and logarithm,
// s = (v/rho)^2, rho/x, and the exponent v*eta = rho - v*asinh(v/x), where
// eta = sqrt(1+w^2) + log(w/(1+sqrt(1+w^2))) and w = x/v.
struct DebyeVariables {
  double inverse_rho;
  double log_rho;
  double s;
  double rho_over_x;
  double v_eta;
};

// v >= 0 and 0 < x, both finite, v^2 + x^2 < 1e300.
MLPRIMS_HD inline DebyeVariables debye_variables_unscaled(double v, double x) {
  const double rho = ::sqrt(v * v + x * x);
  double v_eta;
  if (::fabs(x - kEtaRootHi * v) < 0.08 * v) {
    // eta(w) crosses zero at w0 ~ 0.6627: there rho and v*asinh(v/x) nearly cancel, so
    // expand eta around w0 instead, with w - w0 formed exactly from x/v and its remainder.
    const double w = x / v;
    const double w_remainder = ::fma(-w, v, x) / v;
    const double d = (w - kEtaRootHi) + (w_remainder - kEtaRootLo);
    v_eta = v * (d * eta_taylor_tail(d));
  } else {
    // asinh(v/x) = log1p((v + rho - x)/x), with rho - x = v^2/(rho + x) to avoid cancellation.
    const double numerator = v + v * (v / (rho + x));
    const double argument = numerator / x;
    const double asinh_v_over_x =
        is_inf(argument) ? ::log(numerator) - ::log(x) : ::log1p(argument);
    v_eta = rho - v * asinh_v_over_x;
  }
  const double t = v / rho;
  return {1.0 / rho, ::log(rho), t * t, rho / x, v_eta};
}

// v >= 0 and 0 < x, both finite. v*eta and rho are homogeneous of degree one in (v, x), so
// huge arguments are scaled down by 2^600 and the results scaled back.
MLPRIMS_HD inline DebyeVariables debye_variables(double v, double x) {
  if (v < 1e150 && x < 1e150) return debye_variables_unscaled(v, x);
  constexpr double kScale = 0x1p-600;
  DebyeVariables d = debye_variables_unscaled(v * kScale, x * kScale);
  d.inverse_rho *= kScale;
  d.log_rho += 600.0 * kLn2;
  d.v_eta /= kScale;
  return d;
}

// log I_v(x) for rho >= kDebyeMinRho.
MLPRIMS_HD inline double log_iv_debye(const DebyeVariables& d) {
  const double series = debye_sum<false>(d.s, d.inverse_rho);
  return (d.v_eta - kHalfLog2Pi) - 0.5 * d.log_rho + ::log1p(series);
}

// log K_v(x) for rho >= kDebyeMinRho.
MLPRIMS_HD inline double log_kv_debye(const DebyeVariables& d) {
  const double series = debye_sum<false>(d.s, -d.inverse_rho);
  return (kHalfLogPiOver2 - d.v_eta) - 0.5 * d.log_rho + ::log1p(series);
}

// d/dx log I_v(x) = (rho/x) * V/U (DLMF 10.41.3 and its derivative 10.41.5).
MLPRIMS_HD inline double log_iv_derivative_debye(const DebyeVariables& d) {
  const double u = 1.0 + debye_sum<false>(d.s, d.inverse_rho);
  const double v = 1.0 + debye_sum<true>(d.s, d.inverse_rho);
  return d.rho_over_x * (v / u);
}

// d/dx log K_v(x) = -(rho/x) * V/U with alternating signs (DLMF 10.41.4 and 10.41.6).
MLPRIMS_HD inline double log_kv_derivative_debye(const DebyeVariables& d) {
  const double u = 1.0 + debye_sum<false>(d.s, -d.inverse_rho);
  const double v = 1.0 + debye_sum<true>(d.s, -d.inverse_rho);
  return -d.rho_over_x * (v / u);
}

}  // namespace mlprims::special::detail
