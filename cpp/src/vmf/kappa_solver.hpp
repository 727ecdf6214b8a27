// Maximum-likelihood concentration of a von Mises-Fisher distribution: the root kappa of
// A_p(kappa) = rbar. Safeguarded Newton from Banerjee's start, inside the bracket
//   rbar (p-2)/(1-rbar^2) <= kappa <= rbar p/(1-rbar^2)   (Sra 2012; Tanabe et al. 2007).
// When rbar > 1/2 the residual is formed from the complements (1 - rbar) - (1 - A_p), which
// the Perron continued fraction gives to full relative accuracy, so kappa stays accurate up to
// 1e7 and beyond.
#pragma once

#include <cmath>

#include "special/math/bessel_ratio.hpp"

namespace mlprims::vmf::detail {

struct KappaSolution {
  double kappa;
  int iterations;
  bool converged;
};

inline KappaSolution solve_kappa(double rbar, double p) {
  using special::detail::iv_ratio_perron;
  using special::detail::kInfinity;
  using special::detail::kNaN;
  if (!(rbar >= 0.0 && rbar <= 1.0) || !(p >= 2.0)) return {kNaN, 0, false};
  if (rbar == 0.0) return {0.0, 0, true};
  if (rbar == 1.0) return {kInfinity, 0, true};
  const double nu = 0.5 * p;
  const double one_minus_rbar = 1.0 - rbar;
  const double one_minus_rbar2 = one_minus_rbar * (1.0 + rbar);
  double low = rbar * (p - 2.0) / one_minus_rbar2;
  double high = rbar * p / one_minus_rbar2;
  double kappa = rbar * (p - rbar * rbar) / one_minus_rbar2;
  const bool use_complement = rbar > 0.5;
  for (int iteration = 1; iteration <= 200; ++iteration) {
    const auto a = iv_ratio_perron(nu, kappa);
    // residual > 0 means kappa is too large (A_p is increasing).
    const double residual = use_complement ? one_minus_rbar - a.complement : a.ratio - rbar;
    if (residual == 0.0) return {kappa, iteration, true};
    if (residual > 0.0) {
      high = kappa;
    } else {
      low = kappa;
    }
    const double slope = a.complement * (1.0 + a.ratio) - (p - 1.0) * a.ratio / kappa;
    double next = kappa - residual / slope;
    if (!(slope > 0.0) || !(next > low && next < high)) next = 0.5 * (low + high);
    const double step = ::fabs(next - kappa);
    kappa = next;
    if (step <= 4.0 * special::detail::kEpsilon * kappa || high - low <= 4.0 * special::detail::kEpsilon * high) {
      return {kappa, iteration, true};
    }
  }
  return {kappa, 200, false};
}

}  // namespace mlprims::vmf::detail
