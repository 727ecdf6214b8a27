// K_v(x) for rho = sqrt(v^2 + x^2) < 25, where the Debye expansion is not accurate enough.
// With v = n + mu, |mu| <= 1/2, K_mu and K_{mu+1} come from Temme's series (x <= 2, Temme 1975)
// or Steed's continued fraction CF2 with the Thompson-Barnett normalisation (x > 2), and the
// forward recurrence K_{k+1} = K_{k-1} + (2k/x) K_k (stable for K) carries them up to v.
// Everything is kept as log K plus ratios K_{k+1}/K_k, so tiny x cannot overflow.
#pragma once

#include <cmath>

#include "core/hd.hpp"
#include "special/math/constants.hpp"
#include "special/math/reciprocal_gamma.hpp"

namespace mlprims::special::detail {

struct LogKAndRatio {
  double log_k;     // log K_nu(x)
  double ratio_up;  // K_{nu+1}(x) / K_nu(x)
};

// Leading term of Temme's series, f_0 = K_mu(x) + O(x^2), |mu| <= 1/2:
//   f_0 = (pi mu / sin(pi mu)) (Gamma1(mu) cosh(sigma) + Gamma2(mu) L sinh(sigma)/sigma),
//   L = log(2/x), sigma = mu L, Gamma1 = (1/Gamma(1-mu) - 1/Gamma(1+mu))/(2 mu), Gamma2 = mean.
struct TemmeStart {
  double f;           // f_0
  double p;           // (2/x)^mu Gamma(1+mu) / 2
  double q;           // (x/2)^mu Gamma(1-mu) / 2
};

MLPRIMS_HD inline TemmeStart temme_start(double mu, double log_two_over_x) {
  const double mu2 = mu * mu;
  const double gamma1 = -reciprocal_gamma_odd(mu2);
  const double gamma2 = reciprocal_gamma_even(mu2);
  const double odd_part = mu * reciprocal_gamma_odd(mu2);
  const double reciprocal_gamma_plus = gamma2 + odd_part;   // 1/Gamma(1+mu)
  const double reciprocal_gamma_minus = gamma2 - odd_part;  // 1/Gamma(1-mu)
  const double pi_mu = kPi * mu;
  const double mu_factor = (pi_mu == 0.0) ? 1.0 : pi_mu / ::sin(pi_mu);
  const double sigma = mu * log_two_over_x;
  const double sinhc = (sigma == 0.0) ? 1.0 : ::sinh(sigma) / sigma;
  const double f = mu_factor * (gamma1 * ::cosh(sigma) + gamma2 * sinhc * log_two_over_x);
  const double e = ::exp(sigma);
  return {f, 0.5 * e / reciprocal_gamma_plus, 0.5 / (e * reciprocal_gamma_minus)};
}

// K_mu and K_{mu+1} by Temme's series, 1e-100 <= x <= 2, |mu| <= 1/2.
MLPRIMS_HD inline LogKAndRatio temme_log_k(double mu, double x) {
  const double half_x = 0.5 * x;
  TemmeStart t = temme_start(mu, -::log(half_x));
  const double quarter_x2 = half_x * half_x;
  double f = t.f, p = t.p, q = t.q;
  double c = 1.0;
  double k_mu = f;
  double k_mu1 = p;  // times 2/x at the end
  for (int k = 1; k < 200; ++k) {
    const double kd = k;
    f = (kd * f + p + q) / (kd * kd - mu * mu);
    p /= kd - mu;
    q /= kd + mu;
    c *= quarter_x2 / kd;
    const double term = c * f;
    k_mu += term;
    k_mu1 += c * p - kd * term;
    if (::fabs(term) < ::fabs(k_mu) * 0x1p-56) break;
  }
  return {::log(k_mu), k_mu1 / (half_x * k_mu)};
}

// K_mu and K_{mu+1} by Steed's CF2 with the Thompson-Barnett sum, x > 2, |mu| <= 1/2.
MLPRIMS_HD inline LogKAndRatio steed_log_k(double mu, double x) {
  const double a1 = 0.25 - mu * mu;
  double b = 2.0 * (1.0 + x);
  double d = 1.0 / b;
  double delta_h = d;
  double h = d;
  double q_prev = 0.0, q_curr = 1.0;
  double q = a1, c = a1, a = -a1;
  double s = 1.0 + q * delta_h;
  for (int i = 2; i < 1000; ++i) {
    a -= 2.0 * (i - 1);
    c = -a * c / i;
    const double q_next = (q_prev - b * q_curr) / a;
    q_prev = q_curr;
    q_curr = q_next;
    q += c * q_next;
    b += 2.0;
    d = 1.0 / (b + a * d);
    delta_h = (b * d - 1.0) * delta_h;
    h += delta_h;
    const double delta_s = q * delta_h;
    s += delta_s;
    if (::fabs(delta_s) < ::fabs(s) * 0x1p-56) break;
  }
  h *= a1;
  const double log_k = (kHalfLogPiOver2 - 0.5 * ::log(x)) - x - ::log(s);
  return {log_k, (mu + x + 0.5 - h) / x};
}

// log K_v(x) and K_{v+1}/K_v for v >= 0, x > 0, v^2 + x^2 < kDebyeMinRho^2.
MLPRIMS_HD inline LogKAndRatio log_kv_small(double v, double x) {
  const double n = ::floor(v + 0.5);
  const double mu = v - n;
  if (x < 1e-100) {
    // K_v(x) = Gamma(v)/2 (2/x)^v (1 + O(x^2) + O((x/2)^(2v))): the corrections are below
    // 1e-100 for v >= 1/2; smaller v keep Temme's leading term, which holds them exactly.
    const double log_two_over_x = kLn2 - ::log(x);
    if (v >= 0.5) {
      return {::lgamma(v) - kLn2 + v * log_two_over_x, 2.0 * v / x};
    }
    const TemmeStart t = temme_start(v, log_two_over_x);
    return {::log(t.f), (2.0 / x) * (t.p / t.f)};
  }
  LogKAndRatio start = (x <= 2.0) ? temme_log_k(mu, x) : steed_log_k(mu, x);
  // Recurrence from mu up to v: multiply the ratios K_{k+1}/K_k (each >= 1), rescaling the
  // product by powers of two; x >= 1e-100 keeps each ratio below 2^340.
  double ratio = start.ratio_up;
  double product = 1.0;
  double scale_log2 = 0.0;
  for (double k = 1.0; k <= n; k += 1.0) {
    product *= ratio;
    if (product > 0x1p600) {
      product *= 0x1p-600;
      scale_log2 += 600.0;
    }
    ratio = 1.0 / ratio + 2.0 * (mu + k) / x;
  }
  return {start.log_k + ::log(product) + scale_log2 * kLn2, ratio};
}

// d/dx log K_v(x) = v/x - K_{v+1}/K_v for v >= 0, x > 0, v^2 + x^2 < kDebyeMinRho^2. For tiny x
// the two terms are both huge: use -v/x (v >= 1/2) or Temme's leading terms directly.
MLPRIMS_HD inline double log_kv_derivative_small(double v, double x) {
  if (x < 1e-100) {
    if (v >= 0.5) return -v / x;
    const TemmeStart t = temme_start(v, kLn2 - ::log(x));
    return (v - 2.0 * t.p / t.f) / x;
  }
  return v / x - log_kv_small(v, x).ratio_up;
}

}  // namespace mlprims::special::detail
