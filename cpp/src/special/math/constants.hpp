// Constants shared by the log-Bessel math (double precision, correctly rounded).
#pragma once

#include <limits>

#include "core/hd.hpp"
#include "core/isa_copies.hpp"

namespace mlprims::special::detail {
MLPRIMS_BEGIN_ISA_COPIES

constexpr double kPi = 3.141592653589793;
constexpr double kLn2 = 0.6931471805599453;
constexpr double kHalfLog2Pi = 0.9189385332046728;       // log(2*pi)/2
constexpr double kHalfLogPiOver2 = 0.22579135264472744;  // log(pi/2)/2
constexpr double kEulerGamma = 0.5772156649015329;
constexpr double kEpsilon = 2.220446049250313e-16;

// Below this rho = sqrt(v^2 + x^2) the Debye expansion would need more than 18 terms; the
// power series (I) and Temme or quadrature with recurrence (K) take over.
constexpr double kDebyeMinRho = 25.0;

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

MLPRIMS_HD inline bool is_nan(double x) { return x != x; }
MLPRIMS_HD inline bool is_inf(double x) { return x == kInfinity || x == -kInfinity; }

MLPRIMS_END_ISA_COPIES
}  // namespace mlprims::special::detail
