// The linear-algebra layer (mlprims::linalg), one for every primitive: blas.hpp (products),
// dense.hpp (row-major factorizations, float and double), this file (double symmetric systems),
// dense_ops.hpp (one back end's memory, CPU or CUDA, column-major).
//
// Thin C++ wrappers over the LAPACK/BLAS routines for small dense symmetric systems (column-major,
// lower triangle, double): Cholesky, LDL^T, syrk, eigendecomposition. They thread inside the BLAS: call them
// outside OpenMP parallel regions (an OpenBLAS built with pthreads warns and may hang there).
// Errors from LAPACK's argument checks are programming errors and throw mlprims::Error; numerical
// failure is reported through return values.
#pragma once

#include <cstdint>
#include <vector>

namespace mlprims::linalg {

// C (n x n, lower) = alpha * A A^T + beta * C with A n x k, column-major (lda >= n);
// transpose: C = alpha * A^T A + beta * C with A k x n (lda >= k).
void syrk_lower(bool transpose, std::int64_t n, std::int64_t k, double alpha, const double* a, std::int64_t lda,
                double beta, double* c, std::int64_t ldc);

// Cholesky A = L L^T in place (lower); false when A is not numerically positive definite.
bool cholesky(std::int64_t n, double* a, std::int64_t lda);
// Solves A X = B in place from cholesky()'s factor; B is n x nrhs column-major.
void cholesky_solve(std::int64_t n, std::int64_t nrhs, const double* factor, std::int64_t lda, double* b,
                    std::int64_t ldb);
// A^{-1} (lower triangle) in place from cholesky()'s factor.
void cholesky_inverse(std::int64_t n, double* factor, std::int64_t lda);

// B (rows x n, column-major) <- B L^{-T} for the lower-triangular factor L (n x n), i.e. the rows
// of B become L^{-1} applied to them.
void solve_right_lower_transposed(std::int64_t rows, std::int64_t n, const double* factor, std::int64_t lda, double* b,
                                  std::int64_t ldb);

// Eigendecomposition of the symmetric A (lower triangle read) by divide and conquer: eigenvalues
// ascending into w, orthonormal eigenvectors into A's columns. False if it did not converge.
bool symmetric_eigen(std::int64_t n, double* a, std::int64_t lda, double* w);

// Symmetric indefinite (Bunch-Kaufman) factorization in place; false when exactly singular.
bool ldlt(std::int64_t n, double* a, std::int64_t lda, std::vector<int>& pivots);
void ldlt_solve(std::int64_t n, std::int64_t nrhs, const double* factor, std::int64_t lda,
                const std::vector<int>& pivots, double* b, std::int64_t ldb);

}  // namespace mlprims::linalg
