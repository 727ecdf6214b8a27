// I_v(x)/I_{v-1}(x) and its complement by Perron's continued fraction (Gautschi & Slavik 1978):
//   I_v/I_{v-1} = x / (x + f),  f = 2v + a_1/(b_1 + a_2/(b_2 + ...)),
//   a_k = -(2v + 2k - 1) x,  b_k = 2(v + x) + k,
// summed forward with Steed's algorithm and Kahan summation. It converges quickly for every
// x and v >= 1/2, and 1 - ratio = f/(x + f) comes out with full relative accuracy (v >= 1),
// which the von Mises-Fisher solver needs when the ratio is close to 1.
#pragma once

#include <cmath>

#include "core/hd.hpp"
#include "core/isa_copies.hpp"
#include "special/math/constants.hpp"

namespace mlprims::special::detail {
MLPRIMS_BEGIN_ISA_COPIES

struct RatioAndComplement {
  double ratio;       // I_v(x) / I_{v-1}(x)
  double complement;  // 1 - ratio
};

// v >= 1/2 and x > 0, both finite.
MLPRIMS_HD inline RatioAndComplement iv_ratio_perron(double v, double x) {
  // Scale v and x by a power of two when they are huge so that the products below stay finite.
  double c = 1.0;
  const double largest = v > x ? v : x;
  if (largest > 1e150) {
    int exponent;
    ::frexp(largest, &exponent);
    c = ::ldexp(1.0, 2 - exponent);
  }
  const double vc = v * c, xc = x * c;
  const double a_step = -2.0 * c * xc;
  double a = -(2.0 * vc + c) * xc;
  double b = 2.0 * (vc + xc) + c;
  double d = 1.0 / b;
  double delta = a * d;
  double sum = 2.0 * vc;
  double compensation = 0.0;
  for (int k = 2; k < 2000; ++k) {
    const double y = delta - compensation;
    const double t = sum + y;
    compensation = (t - sum) - y;
    sum = t;
    if (::fabs(delta) <= ::fabs(sum) * 0x1p-56) break;
    a += a_step;
    b += c;
    d = 1.0 / (b + a * d);
    delta = (b * d - 1.0) * delta;
  }
  const double denominator = xc + sum;
  return {xc / denominator, sum / denominator};
}

// I_v(x)/I_{v-1}(x) with the edge values: NaN for v < 1/2 or x < 0, 0 at x = 0, 1 at x = inf.
MLPRIMS_HD inline double iv_ratio(double v, double x) {
  if (is_nan(v) || is_nan(x) || v < 0.5 || x < 0.0) return kNaN;
  if (is_inf(v)) return is_inf(x) ? kNaN : 0.0;
  if (x == 0.0) return 0.0;
  if (is_inf(x)) return 1.0;
  if (v == 0.5) return ::tanh(x);
  return iv_ratio_perron(v, x).ratio;
}

// 1 - I_v(x)/I_{v-1}(x), for v >= 1 (full relative accuracy) and x >= 0.
MLPRIMS_HD inline double iv_ratio_complement(double v, double x) {
  if (is_nan(v) || is_nan(x) || v < 1.0 || x < 0.0) return kNaN;
  if (is_inf(v)) return is_inf(x) ? kNaN : 1.0;
  if (x == 0.0) return 1.0;
  if (is_inf(x)) return 0.0;
  return iv_ratio_perron(v, x).complement;
}

// d/dx [I_v(x)/I_{v-1}(x)] = 1 - R^2 - (2v - 1) R / x (Riccati equation of the ratio).
MLPRIMS_HD inline double iv_ratio_derivative(double v, double x) {
  if (is_nan(v) || is_nan(x) || v < 0.5 || x < 0.0) return kNaN;
  if (is_inf(v)) return is_inf(x) ? kNaN : 0.0;
  if (x == 0.0) return 0.5 / v;
  if (is_inf(x)) return 0.0;
  const RatioAndComplement r = iv_ratio_perron(v, x);
  return r.complement * (1.0 + r.ratio) - (2.0 * v - 1.0) * (r.ratio / x);
}

MLPRIMS_END_ISA_COPIES
}  // namespace mlprims::special::detail
