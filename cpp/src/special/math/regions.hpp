// Where each (v, x) is computed. One classification serves the scalar entry points (CPU and
// CUDA) and the vectorized CPU kernels, which sort a chunk of elements by region and run each
// region's fixed-size kernel over its elements.
//
//   x >= 1000, v^2 <= 0.005 x: Hankel's large-argument expansion (5 terms)
//   rho = sqrt(v^2 + x^2) >= 25: Debye expansion with 5, 10 or 18 terms (rho >= 555, 58.6, 25;
//                                see debye_sum for the exact needs); where |x/v - w0| < 0.08
//                                (the exponent's zero) with 5 or 18 terms and its own exponent
//   rho < 25, I: power series with 19 or 40 terms (x <= 6, x < 25)
//   rho < 25, K: Temme (x <= 1/2) or a trapezoidal rule (x in (1/2, 2], (2, 8], (8, 25)), then
//                recurrence
//   anything else (NaN, x <= 0, infinities, v or x >= 1e150, x < 1e-10 for small K, v/x > 1e300
//   in the Debye region): the general scalar path.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.hpp"
#include "core/isa_copies.hpp"
#include "special/math/constants.hpp"
#include "special/math/laplace_limit.hpp"
#include "special/math/large_argument.hpp"

namespace mlprims::special::detail {
MLPRIMS_BEGIN_ISA_COPIES

enum class Region : std::uint8_t {
  kGeneral,
  kHankel,
  kDebye5,
  kDebye10,
  kDebye18,
  kDebyeNearRoot5,
  kDebyeNearRoot18,
  kSeries19,
  kSeries40,
  kTemme,
  kQuadrature0,
  kQuadrature1,
  kQuadrature2,
};
constexpr int kRegionCount = 13;

// Inside the Debye region: near w = x/v = w0, where the Debye exponent vanishes.
MLPRIMS_HD inline bool near_eta_root(double v, double x) { return ::fabs(x - kEtaRootHi * v) < 0.08 * v; }

// Outside the Debye region: rho = sqrt(v^2 + x^2) < 25.
MLPRIMS_HD inline bool in_small_region(double v, double x) { return v * v + x * x < kDebyeMinRho * kDebyeMinRho; }

MLPRIMS_HD inline Region debye_region(double v, double x, double rho2) {
  if (in_hankel_region(v, x)) return Region::kHankel;
  if (near_eta_root(v, x)) {
    return rho2 >= 555.0 * 555.0 ? Region::kDebyeNearRoot5 : Region::kDebyeNearRoot18;
  }
  if (rho2 >= 555.0 * 555.0) return Region::kDebye5;
  if (rho2 >= 58.6 * 58.6) return Region::kDebye10;
  return Region::kDebye18;
}

// For log I_v(x) (after mapping negative integer v to -v).
MLPRIMS_HD inline Region region_of_i(double v, double x) {
  if (!(x > 0.0 && v >= 0.0 && x < 1e150 && v < 1e150)) return Region::kGeneral;
  const double rho2 = v * v + x * x;
  if (rho2 >= kDebyeMinRho * kDebyeMinRho) return v < 1e300 * x ? debye_region(v, x, rho2) : Region::kGeneral;
  return x <= 6.0 ? Region::kSeries19 : Region::kSeries40;
}

// For log K_v(x) (after mapping v to |v|).
MLPRIMS_HD inline Region region_of_k(double v, double x) {
  if (!(x > 0.0 && v >= 0.0 && x < 1e150 && v < 1e150)) return Region::kGeneral;
  const double rho2 = v * v + x * x;
  if (rho2 >= kDebyeMinRho * kDebyeMinRho) return v < 1e300 * x ? debye_region(v, x, rho2) : Region::kGeneral;
  if (x < 1e-10) return Region::kGeneral;
  if (x <= 0.5) return Region::kTemme;
  if (x <= 2.0) return Region::kQuadrature0;
  return x <= 8.0 ? Region::kQuadrature1 : Region::kQuadrature2;
}

MLPRIMS_END_ISA_COPIES
}  // namespace mlprims::special::detail
