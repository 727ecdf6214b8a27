// Von Mises-Fisher normalizer and mean resultant length on the sphere S^{p-1} in R^p, shared by
// the CPU and CUDA back ends:
//   log C_p(kappa) = (p/2 - 1) log kappa - (p/2) log(2 pi) - log I_{p/2-1}(kappa)
//   A_p(kappa)     = I_{p/2}(kappa) / I_{p/2-1}(kappa)
#pragma once

#include <cmath>

#include "core/hd.hpp"
#include "special/math/log_bessel.hpp"

namespace mlprims::vmf::detail {

using namespace mlprims::special::detail;  // NOLINT: the Bessel math is this file's vocabulary

constexpr double kLog2Pi = 1.8378770664093453;
constexpr double kLogPi = 1.1447298858494002;

// log C_p(kappa) for p >= 2 (NaN for kappa < 0 or NaN).
MLPRIMS_HD inline double log_normalizer(double kappa, double p) {
  if (is_nan(kappa) || kappa < 0.0) return kNaN;
  const double nu = 0.5 * p - 1.0;
  if (kappa == 0.0) {
    // 1 / surface area of the sphere: Gamma(p/2) / (2 pi^(p/2)).
    return ::lgamma(0.5 * p) - kLn2 - 0.5 * p * kLogPi;
  }
  if (is_inf(kappa)) return -kInfinity;
  if (in_small_region(nu, kappa) || kappa * kappa < nu + 1.0) {
    // nu log kappa cancels against log I's own (kappa/2)^nu: use the series parts directly
    // (they converge within ~25 terms here: the term ratio is at most kappa^2/(4(nu+1)) < 1/4).
    const double tail = bessel_i_series_tail(nu, 0.25 * kappa * kappa);
    const double log_gamma = nu < 25.0 ? log_gamma_1p(nu) : ::lgamma(nu + 1.0);
    return nu * kLn2 + log_gamma - 0.5 * p * kLog2Pi - mlprims::detail::log1p_checked(tail);
  }
  return nu * mlprims::detail::log_positive(kappa) - 0.5 * p * kLog2Pi - log_iv_debye(debye_variables(nu, kappa));
}

// A_p(kappa) = I_{p/2}(kappa) / I_{p/2-1}(kappa), the mean resultant length.
MLPRIMS_HD inline double mean_resultant_length(double kappa, double p) { return iv_ratio(0.5 * p, kappa); }

}  // namespace mlprims::vmf::detail
