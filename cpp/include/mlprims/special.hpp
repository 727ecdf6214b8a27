// Logarithms of the modified Bessel functions I_v(x) and K_v(x), and the ratio
// I_v(x)/I_{v-1}(x), that never overflow or underflow: accurate to ~1e-15 relative in log
// (float64) for orders up to 1e5 and beyond, arguments from subnormal to 1e300.
//
// Array functions broadcast v and x against each other (numpy rules) into `out`, which must have
// the broadcast shape. v, x and out share one dtype (float32 or float64; float32 is computed in
// float64 internally) and one device (CPU or CUDA). Values:
//   log_iv: v >= 0, or a negative integer (I_{-n} = I_n); other negative v give NaN.
//           log I_0(0) = 0, log I_v(0) = -inf for v > 0, log I_v(inf) = inf.
//   log_kv: any real v (K_{-v} = K_v). log K_v(0) = +inf, log K_v(inf) = -inf.
//   iv_ratio: v >= 1/2 (else NaN); 0 at x = 0, 1 at x = inf.
//   All: x < 0 or NaN in either argument gives NaN.
#pragma once

#include "mlprims/core/tensor.hpp"

namespace mlprims::special {

void log_iv(const TensorView& v, const TensorView& x, const TensorView& out);
void log_kv(const TensorView& v, const TensorView& x, const TensorView& out);
void iv_ratio(const TensorView& v, const TensorView& x, const TensorView& out);

// d/dx of the three functions above, same conventions:
//   d/dx log I_v = I_{v+1}/I_v + v/x,  d/dx log K_v = v/x - K_{v+1}/K_v,
//   d/dx [I_v/I_{v-1}] = 1 - R^2 - (2v-1) R/x.
void log_iv_derivative(const TensorView& v, const TensorView& x, const TensorView& out);
void log_kv_derivative(const TensorView& v, const TensorView& x, const TensorView& out);
void iv_ratio_derivative(const TensorView& v, const TensorView& x, const TensorView& out);

// Scalar versions (float64).
double log_iv(double v, double x);
double log_kv(double v, double x);
double iv_ratio(double v, double x);
double log_iv_derivative(double v, double x);
double log_kv_derivative(double v, double x);
double iv_ratio_derivative(double v, double x);

}  // namespace mlprims::special
