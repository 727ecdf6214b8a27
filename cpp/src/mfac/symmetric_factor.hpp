// A dense symmetric positive definite system (the m x m matrix K = m damp I + G G^T, or a dense
// diagonal block of F), factorized once and solved many times: Cholesky, or Bunch-Kaufman LDL^T
// when Cholesky fails numerically. Column-major, lower triangle.
#pragma once

#include <cstdint>
#include <vector>

namespace mlprims::mfac::detail {

struct SymmetricFactor {
  std::int64_t n = 0;
  double* data = nullptr;  // n x n, column-major, ld = n (owned by the caller's storage)
  bool cholesky = true;    // false: LDL^T with `pivots`
  std::vector<int> pivots;
};

// Factors the lower triangle of f.data in place.
void factorize(SymmetricFactor& f);
// b (n x nrhs, column-major, leading dimension ldb) <- A^{-1} b.
void solve_factored(const SymmetricFactor& f, double* b, std::int64_t nrhs, std::int64_t ldb);
// Lower triangle of A^{-1} into `inverse` (n x n, column-major).
void invert(const SymmetricFactor& f, double* inverse);

// A lower bound on the largest eigenvalue of the symmetric matrix whose lower triangle is `a`
// (n x n, column-major, leading dimension lda): the largest of its diagonal and the Rayleigh
// quotients of `iterations` power steps. `start` (n values) seeds the iteration and receives the
// last iterate, for a warm start next time; with nullptr or all zeros the square roots of the
// diagonal seed it.
double largest_eigenvalue_bound(std::int64_t n, const double* a, std::int64_t lda, int iterations,
                                double* start = nullptr);

// L L^T <- L L^T + sign x x^T for a Cholesky factor L (O(n^2); x is overwritten). A downdate
// (sign < 0) that would lose positive definiteness leaves L partly modified and returns false.
bool rank_one_update(std::int64_t n, double* factor, double* x, double sign);

}  // namespace mlprims::mfac::detail
