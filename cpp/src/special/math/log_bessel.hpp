// log I_v(x), log K_v(x) and their x-derivatives in double precision: the scalar entry points
// for the CPU and CUDA back ends, and the per-region kernels the vectorized CPU loops call.
// Regions are described in regions.hpp. Edge values (documented in the public API):
// log I_0(0) = 0, log I_v(0) = -inf for v > 0, log K_v(0) = +inf; x < 0 or NaN gives NaN; I is
// defined for v >= 0 and negative integers (I_{-n} = I_n), K for every real v (K_{-v} = K_v).
#pragma once

#include <cmath>

#include "core/hd.hpp"
#include "core/isa_copies.hpp"
#include "special/math/bessel_ratio.hpp"
#include "special/math/constants.hpp"
#include "special/math/debye.hpp"
#include "special/math/power_series.hpp"
#include "special/math/regions.hpp"
#include "special/math/small_order_k.hpp"

namespace mlprims::special::detail {
MLPRIMS_BEGIN_ISA_COPIES

// --- region kernels (valid only inside their region) ------------------------------------------

template <Region kRegion>
MLPRIMS_HD inline double log_iv_in(double v, double x) {
  if constexpr (kRegion == Region::kHankel) return log_bessel_hankel<true>(v, x);
  if constexpr (kRegion == Region::kDebye5) return log_bessel_debye<5, true, false>(v, x);
  if constexpr (kRegion == Region::kDebye10) return log_bessel_debye<10, true, false>(v, x);
  if constexpr (kRegion == Region::kDebye18) return log_bessel_debye<18, true, false>(v, x);
  if constexpr (kRegion == Region::kDebyeNearRoot5) return log_bessel_debye<5, true, true>(v, x);
  if constexpr (kRegion == Region::kDebyeNearRoot18) return log_bessel_debye<18, true, true>(v, x);
  if constexpr (kRegion == Region::kSeries19) return log_iv_power_series<19>(v, x);
  if constexpr (kRegion == Region::kSeries40) return log_iv_power_series<40>(v, x);
  return kNaN;
}

// kMaxSteps >= round(v) bounds the recurrence of the small-x regions for a whole SIMD batch.
template <Region kRegion, int kMaxSteps = 25>
MLPRIMS_HD inline double log_kv_in(double v, double x) {
  if constexpr (kRegion == Region::kHankel) return log_bessel_hankel<false>(v, x);
  if constexpr (kRegion == Region::kDebye5) return log_bessel_debye<5, false, false>(v, x);
  if constexpr (kRegion == Region::kDebye10) return log_bessel_debye<10, false, false>(v, x);
  if constexpr (kRegion == Region::kDebye18) return log_bessel_debye<18, false, false>(v, x);
  if constexpr (kRegion == Region::kDebyeNearRoot5) return log_bessel_debye<5, false, true>(v, x);
  if constexpr (kRegion == Region::kDebyeNearRoot18) return log_bessel_debye<18, false, true>(v, x);
  if constexpr (kRegion == Region::kTemme || kRegion == Region::kQuadrature0 || kRegion == Region::kQuadrature1 ||
                kRegion == Region::kQuadrature2) {
    return log_kv_small<kRegion, kMaxSteps>(v, x).log_k;
  }
  return kNaN;
}

// --- general paths: edge values, huge arguments, tiny x -----------------------------------

MLPRIMS_HD inline double log_iv(double v, double x);

MLPRIMS_HD inline double log_iv_general(double v, double x) {
  if (v < 0.0) return v == ::floor(v) ? log_iv(-v, x) : kNaN;  // I_{-n} = I_n
  if (is_nan(v) || is_nan(x) || x < 0.0) return kNaN;
  if (x == 0.0) return v == 0.0 ? 0.0 : -kInfinity;
  if (is_inf(x)) return is_inf(v) ? kNaN : kInfinity;
  if (is_inf(v)) return -kInfinity;
  return log_iv_debye(debye_variables(v, x));  // v or x >= 1e150, or v >= 1e300 x
}

MLPRIMS_HD inline double log_kv_general(double v, double x) {
  v = ::fabs(v);
  if (is_nan(v) || is_nan(x) || x < 0.0) return kNaN;
  if (x == 0.0) return kInfinity;
  if (is_inf(x)) return is_inf(v) ? kNaN : -kInfinity;
  if (is_inf(v)) return kInfinity;
  if (in_small_region(v, x)) {
    if (x < 1e-100) return log_kv_tiny_x(v, x).log_k;
    return log_kv_small<Region::kTemme, 0, true>(v, x, recurrence_steps(v)).log_k;  // 1e-100 <= x < 1e-10
  }
  return log_kv_debye(debye_variables(v, x));
}

// --- scalar entry points ------------------------------------------------------------------

MLPRIMS_HD inline double log_iv(double v, double x) {
  switch (region_of_i(v, x)) {
    case Region::kHankel:
      return log_iv_in<Region::kHankel>(v, x);
    case Region::kDebye5:
      return log_iv_in<Region::kDebye5>(v, x);
    case Region::kDebye10:
      return log_iv_in<Region::kDebye10>(v, x);
    case Region::kDebye18:
      return log_iv_in<Region::kDebye18>(v, x);
    case Region::kDebyeNearRoot5:
      return log_iv_in<Region::kDebyeNearRoot5>(v, x);
    case Region::kDebyeNearRoot18:
      return log_iv_in<Region::kDebyeNearRoot18>(v, x);
    case Region::kSeries19:
      return log_iv_in<Region::kSeries19>(v, x);
    case Region::kSeries40:
      return log_iv_in<Region::kSeries40>(v, x);
    default:
      return log_iv_general(v, x);
  }
}

// log K_v(x) and K_{v+1}/K_v in the small region (x >= 1e-100), whichever method x calls for.
MLPRIMS_HD inline LogKAndRatio log_kv_small_any(double v, double x) {
  const int steps = recurrence_steps(v);
  switch (region_of_k(v, x)) {
    case Region::kTemme:
      return log_kv_small<Region::kTemme>(v, x, steps);
    case Region::kQuadrature0:
      return log_kv_small<Region::kQuadrature0>(v, x, steps);
    case Region::kQuadrature1:
      return log_kv_small<Region::kQuadrature1>(v, x, steps);
    case Region::kQuadrature2:
      return log_kv_small<Region::kQuadrature2>(v, x, steps);
    default:
      return log_kv_small<Region::kTemme, 0, true>(v, x, steps);  // 1e-100 <= x < 1e-10
  }
}

MLPRIMS_HD inline double log_kv(double v, double x) {
  v = ::fabs(v);
  switch (region_of_k(v, x)) {
    case Region::kHankel:
      return log_kv_in<Region::kHankel>(v, x);
    case Region::kDebye5:
      return log_kv_in<Region::kDebye5>(v, x);
    case Region::kDebye10:
      return log_kv_in<Region::kDebye10>(v, x);
    case Region::kDebye18:
      return log_kv_in<Region::kDebye18>(v, x);
    case Region::kDebyeNearRoot5:
      return log_kv_in<Region::kDebyeNearRoot5>(v, x);
    case Region::kDebyeNearRoot18:
      return log_kv_in<Region::kDebyeNearRoot18>(v, x);
    case Region::kGeneral:
      return log_kv_general(v, x);
    default:
      return log_kv_small_any(v, x).log_k;
  }
}

// Maps the order of I to v >= 0, or NaN where I_v is not defined by this library.
MLPRIMS_HD inline double order_of_i(double v) {
  if (v >= 0.0) return v;
  return (v == ::floor(v)) ? -v : kNaN;
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
  if (in_small_region(v, x)) {
    if (x < 1e-100) return log_kv_derivative_tiny_x(v, x);
    return v / x - log_kv_small_any(v, x).ratio_up;
  }
  return log_kv_derivative_debye(debye_variables(v, x));
}

MLPRIMS_END_ISA_COPIES
}  // namespace mlprims::special::detail
