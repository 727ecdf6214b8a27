// K_v(x) for rho = sqrt(v^2 + x^2) < 25, where the Debye expansion is not accurate enough.
// With v = n + mu, |mu| <= 1/2, K_mu and K_{mu+1} come from Temme's series (x <= 1/2, Temme 1975)
// or a trapezoidal rule on the integral representation (x > 1/2), and the forward recurrence
// K_{k+1} = K_{k-1} + (2k/x) K_k (stable for K) carries them up to v. Loops have fixed trip
// counts (chosen by x) and the recurrence freezes with selects, so that the CPU kernels
// vectorize; values are kept as log K plus scaled ratios, so tiny x cannot overflow.
#pragma once

#include <cmath>

#include "core/hd.hpp"
#include "core/isa_copies.hpp"
#include "core/math/elementary.hpp"
#include "special/math/constants.hpp"
#include "special/math/k_quadrature.hpp"
#include "special/math/reciprocal_gamma.hpp"
#include "special/math/regions.hpp"

namespace mlprims::special::detail {
MLPRIMS_BEGIN_ISA_COPIES

struct LogKAndRatio {
  double log_k;     // log K_nu(x)
  double ratio_up;  // K_{nu+1}(x) / K_nu(x)
};

// sin(y)/y for |y| <= pi/2 (Taylor series, error < 1e-20).
MLPRIMS_HD inline double sinc_small(double y) {
  const double z = y * y;
  return 1.0 +
         z * (-1.0 / 6 +
              z * (1.0 / 120 + z * (-1.0 / 5040 +
                                    z * (1.0 / 362880 +
                                         z * (-1.0 / 39916800 +
                                              z * (1.0 / 6227020800.0 +
                                                   z * (-1.0 / 1307674368000.0 +
                                                        z * (1.0 / 355687428096000.0 +
                                                             z * (-1.0 / 121645100408832000.0 +
                                                                  z * (1.0 / 51090942171709440000.0 +
                                                                       z * (-1.0 / 25852016738884976640000.0)))))))))));
}

// sinh(s)/s for |s| < 1/2 (Taylor series, error < 1e-19).
MLPRIMS_HD inline double sinhc_small(double s) {
  const double z = s * s;
  return 1.0 +
         z * (1.0 / 6 +
              z * (1.0 / 120 +
                   z * (1.0 / 5040 + z * (1.0 / 362880 + z * (1.0 / 39916800 + z * (1.0 / 6227020800.0 +
                                                                                    z * (1.0 / 1307674368000.0)))))));
}

// Leading term of Temme's series, f_0 = K_mu(x) + O(x^2), |mu| <= 1/2, 0 <= L = log(2/x) <= 700:
//   f_0 = (pi mu / sin(pi mu)) (Gamma1(mu) cosh(sigma) + Gamma2(mu) L sinh(sigma)/sigma),
//   sigma = mu L, Gamma1 = (1/Gamma(1-mu) - 1/Gamma(1+mu))/(2 mu), Gamma2 = their mean;
// with p_0 = (2/x)^mu Gamma(1+mu)/2 and q_0 = (x/2)^mu Gamma(1-mu)/2.
struct TemmeStart {
  double f;
  double p;
  double q;
};

MLPRIMS_HD inline TemmeStart temme_start(double mu, double log_two_over_x) {
  const double mu2 = mu * mu;
  const double odd = reciprocal_gamma_odd(mu2);
  const double gamma1 = -odd;
  const double gamma2 = reciprocal_gamma_even(mu2);
  const double mu_factor = 1.0 / sinc_small(kPi * mu);
  const double sigma = mu * log_two_over_x;
  const double e = mlprims::detail::exp_moderate(sigma);
  const double inverse_e = 1.0 / e;
  const double sinhc = ::fabs(sigma) < 0.5 ? sinhc_small(sigma) : 0.5 * (e - inverse_e) / sigma;
  const double f = mu_factor * (gamma1 * (0.5 * (e + inverse_e)) + gamma2 * sinhc * log_two_over_x);
  return {f, 0.5 * e / (gamma2 + mu * odd), 0.5 * inverse_e / (gamma2 - mu * odd)};
}

// K_mu and K_{mu+1} by Temme's series, 1e-100 <= x <= 1/2, |mu| <= 1/2 (11 terms suffice).
// (The power of (2/x)^mu keeps x >= 1e-100 finite; smaller x take log_kv_tiny_x.)
MLPRIMS_HD inline LogKAndRatio temme_log_k(double mu, double x) {
  using mlprims::detail::log_positive;
  const double half_x = 0.5 * x;
  const TemmeStart t = temme_start(mu, kLn2 - log_positive(x));
  const double quarter_x2 = half_x * half_x;
  double f = t.f, p = t.p, q = t.q;
  double c = 1.0;
  double k_mu = f;
  double k_mu1 = p;  // times 2/x at the end
  MLPRIMS_UNROLL
  for (int k = 1; k <= 11; ++k) {
    const double kd = k;
    const double r = 1.0 / (kd * kd - mu * mu);  // 1/((k - mu)(k + mu))
    f = (kd * f + p + q) * r;
    p *= (kd + mu) * r;
    q *= (kd - mu) * r;
    c *= quarter_x2 * (1.0 / kd);  // a constant after unrolling: no division
    const double term = c * f;
    k_mu += term;
    k_mu1 += c * p - kd * term;
  }
  return {log_positive(k_mu), k_mu1 / (half_x * k_mu)};
}

// The trapezoidal rules of k_quadrature.hpp by range of x.
template <int kRule>
struct KQuadratureRule;
template <>
struct KQuadratureRule<0> {
  static constexpr int kNodes = kKQuadratureNodes0;
  static constexpr double kStep = kKQuadratureStep0;
  MLPRIMS_HD static const double* node(int j) { return kKQuadrature0[j]; }
};
template <>
struct KQuadratureRule<1> {
  static constexpr int kNodes = kKQuadratureNodes1;
  static constexpr double kStep = kKQuadratureStep1;
  MLPRIMS_HD static const double* node(int j) { return kKQuadrature1[j]; }
};
template <>
struct KQuadratureRule<2> {
  static constexpr int kNodes = kKQuadratureNodes2;
  static constexpr double kStep = kKQuadratureStep2;
  MLPRIMS_HD static const double* node(int j) { return kKQuadrature2[j]; }
};

// K_mu and K_{mu+1} for |mu| <= 1/2 and x in the range of rule kRule (0: (0.5, 2], 1: (2, 8],
// 2: (8, 25)) by the trapezoidal rule on K_nu(x) = int_0^inf exp(-x cosh t) cosh(nu t) dt, which
// converges geometrically for this doubly-exponentially decaying integrand; all terms are
// positive. cosh(mu t_j) comes from powers of exp(mu h), cosh((mu+1) t) from the addition formula.
template <int kRule>
MLPRIMS_HD inline LogKAndRatio quadrature_log_k(double mu, double x) {
  using Rule = KQuadratureRule<kRule>;
  const double e_step = mlprims::detail::exp_moderate(mu * Rule::kStep);
  const double f_step = 1.0 / e_step;
  double e = 1.0, f = 1.0;  // exp(mu t_j), exp(-mu t_j)
  double k_mu = 0.0, k_mu1 = 0.0;
  MLPRIMS_UNROLL
  for (int j = 0; j < Rule::kNodes; ++j) {
    const double* node = Rule::node(j);
    const double weight = node[0] * mlprims::detail::exp_moderate(-x * node[1]);
    const double cosh_mu = 0.5 * (e + f);
    const double sinh_mu = 0.5 * (e - f);
    k_mu += weight * cosh_mu;
    k_mu1 += weight * (cosh_mu * node[2] + sinh_mu * node[3]);
    e *= e_step;
    f *= f_step;
  }
  return {mlprims::detail::log_positive(k_mu) - x, k_mu1 / k_mu};
}

// Forward recurrence from (log K_mu, K_{mu+1}/K_mu) up to v = mu + n, n <= 25: a and b hold
// K_{mu+k} and K_{mu+k+1} divided by K_mu (times 2^-scale with kRescale). `steps` >= n bounds the
// loop for a whole SIMD batch; steps past n leave a and b alone. Each step multiplies by less than
// 2(mu+k)/x + 1, so for x >= 1e-10 the values stay below 1e302 without rescaling; smaller x
// (down to 1e-100, the scalar path) rescale by 2^-600 whenever b passes 2^600.
template <int kMaxSteps, bool kRescale>
MLPRIMS_HD inline LogKAndRatio recur_k_up(LogKAndRatio start, double mu, double n, double x, int steps) {
  const double two_over_x = 2.0 / x;
  double a = 1.0, b = start.ratio_up, scale = 0.0;
  // kMaxSteps > 0: a compile-time bound (>= steps) that lets the loop unroll for vector code.
  const int bound = kMaxSteps > 0 ? kMaxSteps : steps;
  MLPRIMS_UNROLL
  for (int k = 1; k <= bound; ++k) {
    const double next = a + (mu + k) * two_over_x * b;
    const bool active = k <= n;
    a = active ? b : a;
    b = active ? next : b;
    if constexpr (kRescale) {
      const bool big = b > 0x1p600;
      a = big ? a * 0x1p-600 : a;
      b = big ? b * 0x1p-600 : b;
      scale += big ? 600.0 : 0.0;
    }
  }
  return {start.log_k + mlprims::detail::log_positive(a) + scale * kLn2, b / a};
}

// The number of recurrence steps for order v (v = mu + n).
MLPRIMS_HD inline int recurrence_steps(double v) { return static_cast<int>(mlprims::detail::round_to_integer(v)); }

// log K_v(x) and K_{v+1}/K_v for v >= 0, v^2 + x^2 < kDebyeMinRho^2, by the method of `kRegion`
// (kTemme or one of the kQuadrature regions; x >= 1e-10, or >= 1e-100 with kRescale). The
// recurrence runs `steps` >= round(v) times, or kMaxSteps >= round(v) when that is nonzero.
template <Region kRegion, int kMaxSteps = 0, bool kRescale = false>
MLPRIMS_HD inline LogKAndRatio log_kv_small(double v, double x, int steps = 0) {
  const double n = mlprims::detail::round_to_integer(v);
  const double mu = v - n;
  LogKAndRatio start{};
  if constexpr (kRegion == Region::kTemme) start = temme_log_k(mu, x);
  if constexpr (kRegion == Region::kQuadrature0) start = quadrature_log_k<0>(mu, x);
  if constexpr (kRegion == Region::kQuadrature1) start = quadrature_log_k<1>(mu, x);
  if constexpr (kRegion == Region::kQuadrature2) start = quadrature_log_k<2>(mu, x);
  return recur_k_up<kMaxSteps, kRescale>(start, mu, n, x, steps);
}

// log K_v(x) and K_{v+1}/K_v for 0 <= v < 25 and 0 < x < 1e-100: K_v(x) = Gamma(v)/2 (2/x)^v
// (1 + O(x^2) + O((x/2)^(2v))); the corrections are below 1e-100 for v >= 1/2, and smaller v
// keep Temme's leading term, which holds them exactly.
MLPRIMS_HD inline LogKAndRatio log_kv_tiny_x(double v, double x) {
  const double log_two_over_x = kLn2 - mlprims::detail::log_positive(x);
  if (v >= 0.5) return {::lgamma(v) - kLn2 + v * log_two_over_x, 2.0 * v / x};
  const TemmeStart t = temme_start(v, log_two_over_x);
  return {mlprims::detail::log_positive(t.f), (2.0 / x) * (t.p / t.f)};
}

// d/dx log K_v(x) = v/x - K_{v+1}/K_v for tiny x, where both terms are huge: -v/x (v >= 1/2)
// or Temme's leading terms directly.
MLPRIMS_HD inline double log_kv_derivative_tiny_x(double v, double x) {
  if (v >= 0.5) return -v / x;
  const TemmeStart t = temme_start(v, kLn2 - mlprims::detail::log_positive(x));
  return (v - 2.0 * t.p / t.f) / x;
}

MLPRIMS_END_ISA_COPIES
}  // namespace mlprims::special::detail
