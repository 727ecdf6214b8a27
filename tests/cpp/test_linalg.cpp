// The dense kernels under the low-rank module: orthonormal bases (Cholesky QR twice, with the
// Householder QR as fallback) and the symmetric eigendecomposition.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "gaussian_values.hpp"
#include "linalg/dense.hpp"
#include "linalg/lapack.hpp"

namespace {

namespace linalg = mlprims::linalg;

using mlprims_test::gaussian;

// max |Q^T Q - I| for the row-major m x l matrix q, in double.
template <class T>
double orthogonality_error(std::int64_t m, std::int64_t l, const std::vector<T>& q) {
  double worst = 0.0;
  for (std::int64_t a = 0; a < l; ++a) {
    for (std::int64_t b = 0; b < l; ++b) {
      double dot = 0.0;
      for (std::int64_t i = 0; i < m; ++i) dot += double(q[i * l + a]) * double(q[i * l + b]);
      worst = std::max(worst, std::abs(dot - (a == b ? 1.0 : 0.0)));
    }
  }
  return worst;
}

// max over columns of ||y_j - Q Q^T y_j|| / ||y_j|| (0 for zero columns): y lies in span(Q).
template <class T>
double span_error(std::int64_t m, std::int64_t l, const std::vector<T>& y, const std::vector<T>& q) {
  double worst = 0.0;
  for (std::int64_t j = 0; j < l; ++j) {
    std::vector<double> residual(static_cast<std::size_t>(m));
    double norm = 0.0;
    for (std::int64_t i = 0; i < m; ++i) {
      residual[i] = y[i * l + j];
      norm += residual[i] * residual[i];
    }
    for (std::int64_t c = 0; c < l; ++c) {
      double dot = 0.0;
      for (std::int64_t i = 0; i < m; ++i) dot += double(q[i * l + c]) * double(y[i * l + j]);
      for (std::int64_t i = 0; i < m; ++i) residual[i] -= dot * double(q[i * l + c]);
    }
    double left = 0.0;
    for (double r : residual) left += r * r;
    if (norm > 0.0) worst = std::max(worst, std::sqrt(left / norm));
  }
  return worst;
}

// orthonormalize_columns(y) is orthonormal and spans y, within the given tolerances.
template <class T>
void expect_orthonormal_basis_of(std::int64_t m, std::int64_t l, const std::vector<T>& y, double orthogonality,
                                 double span) {
  std::vector<T> q(y);
  linalg::orthonormalize_columns(m, l, q.data());
  EXPECT_LE(orthogonality_error(m, l, q), orthogonality);
  EXPECT_LE(span_error(m, l, y, q), span);
}

// Gaussian m x l columns scaled from 1 down to 10^-decades, each plus the first: condition
// ~10^decades.
std::vector<double> graded_columns(std::int64_t m, std::int64_t l, double decades, unsigned seed) {
  std::vector<double> y = gaussian<double>(m * l, seed);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < l; ++j)
      y[i * l + j] = y[i * l + j] * std::pow(10.0, -decades * j / (l - 1)) + y[i * l];
  }
  return y;
}

TEST(Linalg, OrthonormalizeWellConditionedFloatColumns) {
  const std::int64_t m = 500, l = 20;
  expect_orthonormal_basis_of(m, l, gaussian<float>(m * l, 1), 1e-6, 1e-6);
}

TEST(Linalg, OrthonormalizeNearlyOrthonormalColumnsInOnePass) {
  // ||y^T y - I||_F ~ 6e-3: a single Cholesky QR pass, still orthonormal to double rounding.
  const std::int64_t m = 600, l = 40;
  std::vector<double> y = gaussian<double>(m * l, 4);
  linalg::orthonormalize_columns(m, l, y.data());
  const std::vector<double> noise = gaussian<double>(m * l, 5);
  for (std::size_t e = 0; e < y.size(); ++e) y[e] += 1e-4 * noise[e];
  expect_orthonormal_basis_of(m, l, y, 1e-14, 1e-14);
  std::vector<float> single(y.begin(), y.end());
  expect_orthonormal_basis_of(m, l, single, 1e-6, 1e-6);
}

TEST(Linalg, OrthonormalizeModeratelyConditionedColumns) {
  // Column scales from 1 to 1e-4 mixed (condition ~1e4): two passes; float32 skips the second
  // pass's product once the Gram matrix is within float32 epsilon of I, double does not.
  const std::int64_t m = 500, l = 16;
  const std::vector<double> y = graded_columns(m, l, 4.0, 6);
  expect_orthonormal_basis_of(m, l, y, 1e-14, 1e-11);
  std::vector<float> single(y.begin(), y.end());
  expect_orthonormal_basis_of(m, l, single, 1e-6, 1e-5);
}

TEST(Linalg, OrthonormalizeRankDeficientColumnsFallsBackToHouseholder) {
  // A repeated and a zero column: Cholesky fails; the basis is still orthonormal and spans y.
  const std::int64_t m = 300, l = 12;
  std::vector<double> y = gaussian<double>(m * l, 2);
  for (std::int64_t i = 0; i < m; ++i) {
    y[i * l + 5] = y[i * l + 2];
    y[i * l + 7] = 0.0;
  }
  expect_orthonormal_basis_of(m, l, y, 1e-13, 1e-13);
}

TEST(Linalg, OrthonormalizeIllConditionedColumns) {
  // Column scales from 1 to 1e-12 (condition ~1e12, beyond Cholesky QR in double).
  const std::int64_t m = 400, l = 10;
  expect_orthonormal_basis_of(m, l, graded_columns(m, l, 12.0, 3), 1e-13, 1e-10);
}

TEST(Linalg, SymmetricEigenDecomposition) {
  const std::int64_t n = 30;
  const std::vector<double> g = gaussian<double>(n * n, 4);
  std::vector<double> a(static_cast<std::size_t>(n * n));
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < n; ++j) a[i * n + j] = g[i * n + j] + g[j * n + i];
  }
  std::vector<double> vectors(a), values(static_cast<std::size_t>(n));
  ASSERT_TRUE(linalg::symmetric_eigen(n, vectors.data(), n, values.data()));
  EXPECT_TRUE(std::is_sorted(values.begin(), values.end()));
  EXPECT_LE(orthogonality_error(n, n, vectors), 1e-13);  // columns of the column-major array
  for (std::int64_t k = 0; k < n; ++k) {
    const double* v = vectors.data() + k * n;  // eigenvector k (column-major)
    for (std::int64_t i = 0; i < n; ++i) {
      double av = 0.0;
      for (std::int64_t j = 0; j < n; ++j) av += a[i * n + j] * v[j];
      EXPECT_NEAR(av, values[k] * v[i], 1e-12 * std::abs(values.back()));
    }
  }
}

}  // namespace
