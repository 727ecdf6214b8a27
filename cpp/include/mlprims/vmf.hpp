// Von Mises-Fisher distribution on the unit sphere S^{p-1} in R^p (p = dim >= 2):
//   f(x; mu, kappa) = C_p(kappa) exp(kappa mu.x),
//   C_p(kappa) = kappa^(p/2-1) / ((2 pi)^(p/2) I_{p/2-1}(kappa)),
// built on the log-Bessel functions so that nothing overflows for dim up to 1e5 and kappa up
// to 1e300.
#pragma once

#include <cstdint>

#include "mlprims/core/tensor.hpp"

namespace mlprims::vmf {

// out = log C_p(kappa), elementwise; kappa >= 0 (NaN otherwise), log C_p(0) = -log(area of S^{p-1}).
void log_normalizer(const TensorView& kappa, std::int64_t dim, const TensorView& out);
// out = A_p(kappa) = I_{p/2}(kappa)/I_{p/2-1}(kappa), the expected value of mu.x.
void mean_resultant_length(const TensorView& kappa, std::int64_t dim, const TensorView& out);

// out[i] = log C_p(kappa) + kappa * mu.X[i]; X has shape (n, p) with unit rows, mu shape (p,)
// with unit norm, out shape (n,); rows of X farther than 1e-5 from unit norm are a ValueError.
void log_prob(const TensorView& X, const TensorView& mu, double kappa, const TensorView& out);

struct KappaEstimate {
  double kappa;
  int iterations;
  bool converged;
};

// The kappa with A_p(kappa) = rbar (maximum likelihood for mean resultant length rbar),
// rbar in [0, 1]: 0 gives 0 and 1 gives +inf.
KappaEstimate kappa_mle(double rbar, std::int64_t dim);

struct FitResult {
  double kappa;
  double mean_resultant_length;  // rbar = |sum w_i x_i| / sum w_i
  int iterations;
  bool converged;
};

// Maximum-likelihood fit to the rows of X (n, p), optionally weighted by `weights` (n,) >= 0
// (pass nullptr for equal weights). Writes the mean direction to mu_out (p,).
FitResult fit(const TensorView& X, const TensorView* weights, const TensorView& mu_out);

// Scalar versions.
double log_normalizer(double kappa, std::int64_t dim);
double mean_resultant_length(double kappa, std::int64_t dim);

}  // namespace mlprims::vmf
