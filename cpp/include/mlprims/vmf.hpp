// Von Mises-Fisher distribution on the unit sphere S^{p-1} in R^p (p = dim >= 2):
//   f(x; mu, kappa) = C_p(kappa) exp(kappa mu.x),
//   C_p(kappa) = kappa^(p/2-1) / ((2 pi)^(p/2) I_{p/2-1}(kappa)),
// built on the log-Bessel functions so that nothing overflows for dim up to 1e5 and kappa up
// to 1e300.
#pragma once

#include <cstdint>

#include "mlprims/core/iteration.hpp"
#include "mlprims/core/tensor.hpp"

namespace mlprims::vmf {

// out = log C_p(kappa), elementwise; kappa >= 0 (NaN otherwise), log C_p(0) = -log(area of S^{p-1}).
void log_normalizer(const TensorView& kappa, std::int64_t dim, const TensorView& out);
// out = A_p(kappa) = I_{p/2}(kappa)/I_{p/2-1}(kappa), the expected value of mu.x.
void mean_resultant_length(const TensorView& kappa, std::int64_t dim, const TensorView& out);

// Dimensions p = dim accepted by every function here: 2 <= dim <= kMaxDim (2^53, so that p
// and p/2 - 1 are exact doubles).
inline constexpr std::int64_t kMaxDim = std::int64_t{1} << 53;

// The largest | ||x|| - 1 | accepted for a point on the sphere whose entries were stored in
// `stored` (float16, bfloat16, float32 or float64), with unit roundoff u:
//   max(floor, 4 u), floor = 1e-4 for float32 and narrower, 1e-5 for float64.
// Rounding each entry of a unit vector gives (1 - u) <= ||x|| <= (1 + u); dividing by a norm that
// was itself rounded to the dtype adds another factor (1 +- u), so normalizing in the dtype gives
// | ||x|| - 1 | <= 2u + u^2; 4u leaves a factor 2 for a norm accumulated in the dtype. This
// admits float16 (4u = 2.0e-3) and bfloat16 (4u = 1.6e-2) embeddings normalized by torch or numpy.
double unit_norm_tolerance(DType stored);

// out[i] = log C_p(kappa) + kappa * mu.X[i]; X has shape (n, p) with unit rows, mu shape (p,)
// with unit norm, out shape (n,); rows of X, or mu, farther from unit norm than
// unit_norm_tolerance of their dtype are a ValueError.
void log_prob(const TensorView& X, const TensorView& mu, double kappa, const TensorView& out);
// The same for X and mu that were rounded to x_stored / mu_stored (e.g. float16) before being
// widened to the float32/float64 views given: the unit-norm tolerances follow those dtypes.
void log_prob(const TensorView& X, const TensorView& mu, double kappa, const TensorView& out, DType x_stored,
              DType mu_stored);

// iterations, converged: the safeguarded Newton iteration's; error = |A_p(kappa) - rbar| at the
// kappa returned (from the complements 1 - A_p and 1 - rbar when rbar > 1/2, where they are exact).
struct KappaEstimate : IterationReport {
  double kappa = 0.0;
};

// The kappa with A_p(kappa) = rbar (maximum likelihood for mean resultant length rbar),
// rbar in [0, 1]: 0 gives 0 and 1 gives +inf.
KappaEstimate kappa_mle(double rbar, std::int64_t dim);

// The report of kappa_mle for the fitted rbar.
struct FitResult : KappaEstimate {
  double mean_resultant_length = 0.0;  // rbar = |sum w_i x_i| / sum w_i
};

// Maximum-likelihood fit to the rows of X (n, p), optionally weighted by `weights` (n,) >= 0
// (pass nullptr for equal weights). Writes the mean direction to mu_out (p,). Rows farther from
// unit norm than unit_norm_tolerance(X.dtype()) are a ValueError.
FitResult fit(const TensorView& X, const TensorView* weights, const TensorView& mu_out);
// The same for X rounded to x_stored (e.g. bfloat16) before being widened to the view given.
FitResult fit(const TensorView& X, const TensorView* weights, const TensorView& mu_out, DType x_stored);

// Scalar versions.
double log_normalizer(double kappa, std::int64_t dim);
double mean_resultant_length(double kappa, std::int64_t dim);

}  // namespace mlprims::vmf
