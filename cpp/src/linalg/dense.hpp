// Dense factorizations on row-major matrices, float and double (SVD, QR, well-conditioned bases,
// triangular solves). LAPACK
// is column-major: a row-major m x n array is the column-major n x m transpose, which each
// wrapper takes into account. Call outside OpenMP parallel regions (BLAS threads itself).
#pragma once

#include <cstdint>

namespace mlprims::linalg {

// out (cols x rows, row-major) = a^T for the row-major rows x cols matrix a. A row-major matrix
// transposed is the same matrix column-major, so this also converts between the two layouts.
template <class T>
void transpose(std::int64_t rows, std::int64_t cols, const T* a, T* out) {
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int64_t j = 0; j < cols; ++j) out[j * rows + i] = a[i * cols + j];
  }
}

// Thin SVD of the row-major m x n matrix a (destroyed), p = min(m, n): a = U diag(s) Vt with U
// m x p (row-major, ld p) and Vt p x n (row-major, ld n); s descending. False if LAPACK's
// divide-and-conquer did not converge.
template <class T>
bool svd_thin(std::int64_t m, std::int64_t n, T* a, T* s, T* u, T* vt);

// Replaces the row-major m x l matrix y (m >= l) by an orthonormal basis of its columns (Q of its
// Householder QR factorization).
template <class T>
void orthonormalize_columns(std::int64_t m, std::int64_t l, T* y);

// orthonormalize_columns, then each column negated where it points against the column it came
// from: nearly orthonormal columns keep their directions (the Householder fallback may flip them).
template <class T>
void orthonormalize_columns_keeping_signs(std::int64_t m, std::int64_t l, T* y);

// Replaces the row-major m x l matrix y (m >= l) by a well-conditioned, not orthonormal, basis of
// its columns (P L of an LU factorization with partial pivoting), at BLAS-3 speed.
template <class T>
void well_conditioned_basis(std::int64_t m, std::int64_t l, T* y);

// x (column-major n x k, ld ldx) <- L^{-1} x, or L^{-T} x when `transposed`, for the
// lower-triangular column-major n x n factor L (ld ldf; the upper triangle is not read).
template <class T>
void solve_lower(bool transposed, std::int64_t n, std::int64_t k, const T* factor, std::int64_t ldf, T* x,
                 std::int64_t ldx);

}  // namespace mlprims::linalg
