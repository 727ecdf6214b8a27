// Uniform large-order (Debye) expansion of I_v(x) and K_v(x), DLMF 10.41.3-4, written in the
// variables rho = sqrt(v^2 + x^2), s = (v/rho)^2 so that it holds for every v >= 0 once rho is
// large: u_k(t)/v^k = P_k(s)/rho^k with t = v/rho, and for v -> 0 it becomes the Hankel
// (large-argument) expansion. Truncation error ~ P_{N+1}(0)/rho^(N+1) <= 2e-17 with the term
// counts chosen below.
#pragma once

#include <cmath>

#include "core/hd.hpp"
#include "core/isa_copies.hpp"
#include "core/math/elementary.hpp"
#include "special/math/constants.hpp"
#include "special/math/debye_polynomials.hpp"
#include "special/math/laplace_limit.hpp"
#include "special/math/regions.hpp"

namespace mlprims::special::detail {
MLPRIMS_BEGIN_ISA_COPIES

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

// v * eta near w0 ~ 0.6627, where eta(w) crosses zero and rho and v*asinh(v/x) nearly cancel:
// eta is expanded around w0, with w - w0 = (x - w0 v)/v formed from one fused multiply-add.
// For v > 0 and |x/v - w0| < 0.08.
MLPRIMS_HD inline double debye_exponent_near_root(double v, double x) {
  const double d = (mlprims::detail::fused_multiply_add(-kEtaRootHi, v, x) - kEtaRootLo * v) / v;
  return v * (d * eta_taylor_tail(d));
}

// v * eta = rho - v asinh(v/x) away from w0, for v >= 0, 0 < x < 1e150, v < 1e300 x;
// asinh(v/x) = log1p((v + rho - x)/x) with rho - x = v^2/(rho + x) to avoid cancellation.
MLPRIMS_HD inline double debye_exponent_general(double v, double x, double rho) {
  const double argument = v * (rho + x + v) / (x * (rho + x));
  return rho - v * mlprims::detail::log1p_checked(argument);
}

MLPRIMS_HD inline double debye_exponent(double v, double x, double rho) {
  return near_eta_root(v, x) ? debye_exponent_near_root(v, x) : debye_exponent_general(v, x, rho);
}

// v >= 0 and 0 < x, both below 1e150, v < 1e300 x.
MLPRIMS_HD inline DebyeVariables debye_variables_unscaled(double v, double x) {
  const double rho = ::sqrt(v * v + x * x);
  const double inverse_rho = 1.0 / rho;
  const double t = v * inverse_rho;
  return {inverse_rho, mlprims::detail::log_positive(rho), t * t, rho / x, debye_exponent(v, x, rho)};
}

// v >= 0 and 0 < x, both finite. v*eta and rho are homogeneous of degree one in (v, x), so
// huge arguments are scaled down by 2^600 and the results scaled back; when v/x overflows,
// asinh(v/x) = log(2v/x) to within (x/v)^2.
MLPRIMS_HD inline DebyeVariables debye_variables(double v, double x) {
  using mlprims::detail::log_positive;
  if (v < 1e150 && x < 1e150 && v < 1e300 * x) return debye_variables_unscaled(v, x);
  constexpr double kScale = 0x1p-600;
  const double vs = v * kScale, xs = x * kScale;
  const double rho = ::hypot(vs, xs);
  const double t = vs / rho;
  const double asinh_v_over_x = v < 1e300 * x ? ::asinh(v / x) : kLn2 + log_positive(v) - log_positive(x);
  return {kScale / rho, log_positive(rho) + 600.0 * kLn2, t * t, rho / xs, (rho - vs * asinh_v_over_x) / kScale};
}

// log I_v(x) (kI) or log K_v(x) with N Debye terms, for v, x < 1e150, v < 1e300 x and rho large
// enough for N (see debye_sum); kNearRoot says whether |x/v - w0| < 0.08. Branch-free, so that it
// vectorizes.
template <int N, bool kI, bool kNearRoot>
MLPRIMS_HD inline double log_bessel_debye(double v, double x) {
  const double rho = ::sqrt(v * v + x * x);
  const double inverse_rho = 1.0 / rho;
  const double t = v * inverse_rho;
  const double one_plus_series = 1.0 + debye_sum_n<N, false>(t * t, kI ? inverse_rho : -inverse_rho);
  // log(1 + series) - log(rho)/2 as half of one logarithm
  const double log_part = 0.5 * mlprims::detail::log_positive(one_plus_series * one_plus_series * inverse_rho);
  const double v_eta = kNearRoot ? debye_exponent_near_root(v, x) : debye_exponent_general(v, x, rho);
  return kI ? (v_eta - kHalfLog2Pi) + log_part : (kHalfLogPiOver2 - v_eta) + log_part;
}

// log I_v(x) for rho >= kDebyeMinRho, any finite v >= 0 and x > 0.
MLPRIMS_HD inline double log_iv_debye(const DebyeVariables& d) {
  const double series = debye_sum<false>(d.s, d.inverse_rho);
  return (d.v_eta - kHalfLog2Pi) - 0.5 * d.log_rho + mlprims::detail::log1p_checked(series);
}

// log K_v(x) for rho >= kDebyeMinRho, any finite v >= 0 and x > 0.
MLPRIMS_HD inline double log_kv_debye(const DebyeVariables& d) {
  const double series = debye_sum<false>(d.s, -d.inverse_rho);
  return (kHalfLogPiOver2 - d.v_eta) - 0.5 * d.log_rho + mlprims::detail::log1p_checked(series);
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

MLPRIMS_END_ISA_COPIES
}  // namespace mlprims::special::detail
