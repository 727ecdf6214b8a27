// log I_v(x), log K_v(x) and their x-derivatives in double precision, for the CPU and CUDA back
// ends alike. Regions, by rho = sqrt(v^2 + x^2):
//   rho <  25: power series (I); Temme's series or Steed's CF2 plus recurrence (K)
//   rho >= 25: uniform Debye expansion with 1..18 terms chosen by rho (I and K)
// Edge values (documented in the public API): log I_0(0) = 0, log I_v(0) = -inf for v > 0,
// log K_v(0) = +inf; x < 0 or NaN gives NaN; I is defined for v >= 0 and negative integers
// (I_{-n} = I_n), K for every real v (K_{-v} = K_v).
#pragma once

#include <cmath>

#include "core/hd.hpp"
#include "special/math/bessel_ratio.hpp"
#include "special/math/constants.hpp"
#include "special/math/debye.hpp"
#include "special/math/power_series.hpp"
#include "special/math/small_order_k.hpp"

namespace mlprims::special::detail {

MLPRIMS_HD inline bool in_small_region(double v, double x) {
  return v * v + x * x < kDebyeMinRho * kDebyeMinRho;
}

// Maps the order of I to v >= 0, or NaN where I_v is not defined by this library.
MLPRIMS_HD inline double order_of_i(double v) {
  if (v >= 0.0) return v;
  return (v == ::floor(v)) ? -v : kNaN;
}

MLPRIMS_HD inline double log_iv(double v, double x) {
  v = order_of_i(v);
  if (is_nan(v) || is_nan(x) || x < 0.0) return kNaN;
  if (x == 0.0) return v == 0.0 ? 0.0 : -kInfinity;
  if (is_inf(x)) return is_inf(v) ? kNaN : kInfinity;
  if (is_inf(v)) return -kInfinity;
  if (in_small_region(v, x)) return log_iv_power_series(v, x);
  return log_iv_debye(debye_variables(v, x));
}

MLPRIMS_HD inline double log_kv(double v, double x) {
  v = ::fabs(v);
  if (is_nan(v) || is_nan(x) || x < 0.0) return kNaN;
  if (x == 0.0) return kInfinity;
  if (is_inf(x)) return is_inf(v) ? kNaN : -kInfinity;
  if (is_inf(v)) return kInfinity;
  if (in_small_region(v, x)) return log_kv_small(v, x).log_k;
  return log_kv_debye(debye_variables(v, x));
}

// d/dx log I_v(x) = I_{v+1}(x)/I_v(x) + v/x.
MLPRIMS_HD inline double log_iv_derivative(double v, double x) {
  v = order_of_i(v);
  if (is_nan(v) || is_nan(x) || x < 0.0) return kNaN;
  if (x == 0.0) return v == 0.0 ? 0.0 : kInfinity;
  if (is_inf(x)) return is_inf(v) ? kNaN : 1.0;
  if (is_inf(v)) return kInfinity;
  if (in_small_region(v, x)) return iv_ratio(v + 1.0, x) + v / x;
  return log_iv_derivative_debye(debye_variables(v, x));
}

// d/dx log K_v(x) = v/x - K_{v+1}(x)/K_v(x).
MLPRIMS_HD inline double log_kv_derivative(double v, double x) {
  v = ::fabs(v);
  if (is_nan(v) || is_nan(x) || x < 0.0) return kNaN;
  if (x == 0.0) return -kInfinity;
  if (is_inf(x)) return is_inf(v) ? kNaN : -1.0;
  if (is_inf(v)) return -kInfinity;
  if (in_small_region(v, x)) return log_kv_derivative_small(v, x);
  return log_kv_derivative_debye(debye_variables(v, x));
}

}  // namespace mlprims::special::detail
