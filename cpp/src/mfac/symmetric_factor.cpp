#include "mfac/symmetric_factor.hpp"

#include <algorithm>
#include <cmath>

#include "core/math/scaled_norm.hpp"
#include "linalg/lapack.hpp"

namespace mlprims::mfac::detail {

void factorize(SymmetricFactor& f) {
  const std::size_t size = static_cast<std::size_t>(f.n * f.n);
  const std::vector<double> original(f.data, f.data + size);
  f.cholesky = linalg::cholesky(f.n, f.data, f.n);
  if (f.cholesky) return;
  // K is positive definite in exact arithmetic; only rounding defeated Cholesky. A symmetric
  // indefinite factorization with pivoting still solves it stably.
  std::copy(original.begin(), original.end(), f.data);
  linalg::ldlt(f.n, f.data, f.n, f.pivots);
}

void solve_factored(const SymmetricFactor& f, double* b, std::int64_t nrhs, std::int64_t ldb) {
  if (f.cholesky) {
    linalg::cholesky_solve(f.n, nrhs, f.data, f.n, b, ldb);
  } else {
    linalg::ldlt_solve(f.n, nrhs, f.data, f.n, f.pivots, b, ldb);
  }
}

void invert(const SymmetricFactor& f, double* inverse) {
  const std::int64_t n = f.n;
  if (f.cholesky) {
    std::copy(f.data, f.data + n * n, inverse);
    linalg::cholesky_inverse(n, inverse, n);
    return;
  }
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t i = 0; i < n; ++i) inverse[j * n + i] = i == j ? 1.0 : 0.0;
  }
  solve_factored(f, inverse, n, n);
}

double largest_eigenvalue_bound(std::int64_t n, const double* a, std::int64_t lda, int iterations, double* start) {
  double bound = 0.0;
  std::vector<double> x(static_cast<std::size_t>(n)), y(static_cast<std::size_t>(n));
  bool warm = false;
  for (std::int64_t i = 0; i < n; ++i) {
    bound = std::max(bound, a[i * lda + i]);
    warm = warm || (start != nullptr && start[i] != 0.0);
  }
  for (std::int64_t i = 0; i < n; ++i) x[i] = warm ? start[i] : std::sqrt(std::max(a[i * lda + i], 0.0));
  for (int step = 0; step < iterations; ++step) {
    const double norm = mlprims::detail::scaled_norm(n, x.data());  // x may hold square roots of ~1e308
    if (!(norm > 0.0) || !std::isfinite(norm)) break;
    for (double& value : x) value /= norm;
    // y = A x from the lower triangle.
    std::fill(y.begin(), y.end(), 0.0);
    for (std::int64_t j = 0; j < n; ++j) {
      const double* column = a + j * lda;
      y[j] += column[j] * x[j];
      double sum = 0.0;
      for (std::int64_t i = j + 1; i < n; ++i) {
        y[i] += column[i] * x[j];
        sum += column[i] * x[i];
      }
      y[j] += sum;
    }
    double rayleigh = 0.0;
    for (std::int64_t i = 0; i < n; ++i) rayleigh += x[i] * y[i];
    bound = std::max(bound, rayleigh);
    x.swap(y);
  }
  if (start != nullptr) std::copy(x.begin(), x.end(), start);
  return bound;
}

bool rank_one_update(std::int64_t n, double* factor, double* x, double sign) {
  for (std::int64_t k = 0; k < n; ++k) {
    double* column = factor + k * n;
    const double diagonal = column[k];
    const double squared = diagonal * diagonal + sign * x[k] * x[k];
    if (!(squared > 0.0) || !std::isfinite(squared)) return false;
    const double r = std::sqrt(squared);
    const double c = r / diagonal;
    const double s = x[k] / diagonal;
    column[k] = r;
    for (std::int64_t i = k + 1; i < n; ++i) {
      column[i] = (column[i] + sign * s * x[i]) / c;
      x[i] = c * x[i] - s * column[i];
    }
  }
  return true;
}

}  // namespace mlprims::mfac::detail
