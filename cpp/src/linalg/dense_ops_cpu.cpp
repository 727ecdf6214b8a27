#include "linalg/backend.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "core/math/scaled_norm.hpp"
#include "linalg/blas.hpp"
#include "linalg/dense.hpp"
#include "linalg/lapack.hpp"

namespace mlprims::linalg {
namespace {

// Column-major rows x cols (ld) to packed column-major, and back.
template <class T>
std::vector<T> packed(std::int64_t rows, std::int64_t cols, const T* a, std::int64_t lda) {
  std::vector<T> out(static_cast<std::size_t>(rows * cols));
  for (std::int64_t j = 0; j < cols; ++j) std::memcpy(out.data() + j * rows, a + j * lda, rows * sizeof(T));
  return out;
}

template <class T>
void unpack(std::int64_t rows, std::int64_t cols, const std::vector<T>& from, T* a, std::int64_t lda) {
  for (std::int64_t j = 0; j < cols; ++j) std::memcpy(a + j * lda, from.data() + j * rows, rows * sizeof(T));
}

}  // namespace

template <class T>
void* CpuDenseOps<T>::allocate_bytes(std::size_t bytes) const {
  return std::malloc(bytes);
}
template <class T>
void CpuDenseOps<T>::free_bytes(void* data) const {
  std::free(data);
}
template <class T>
void CpuDenseOps<T>::upload(const void* host, void* to, std::size_t bytes) const {
  std::memcpy(to, host, bytes);
}
template <class T>
void CpuDenseOps<T>::download(const void* from, void* host, std::size_t bytes) const {
  std::memcpy(host, from, bytes);
}
template <class T>
void CpuDenseOps<T>::copy(const void* from, void* to, std::size_t bytes) const {
  std::memmove(to, from, bytes);
}

template <class T>
void CpuDenseOps<T>::gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
                          const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
                          std::int64_t ldc) const {
  // Column-major C = op(A) op(B) is row-major C^T = op(B)^T op(A)^T.
  linalg::gemm<T>(transpose_b, transpose_a, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc);
}

template <class T>
void CpuDenseOps<T>::transpose(std::int64_t rows, std::int64_t cols, const T* a, std::int64_t lda, T* out,
                               std::int64_t ldo) const {
  for (std::int64_t j = 0; j < cols; ++j) {
    for (std::int64_t i = 0; i < rows; ++i) out[j + i * ldo] = a[i + j * lda];
  }
}

template <class T>
void CpuDenseOps<T>::orthonormalize(std::int64_t m, std::int64_t n, T* a, std::int64_t lda) const {
  // The row-major m x n matrix that linalg wants is the transpose of the packed column-major one.
  const std::vector<T> columns = packed(m, n, a, lda);
  std::vector<T> rows(columns.size());
  linalg::transpose(n, m, columns.data(), rows.data());
  linalg::orthonormalize_columns_keeping_signs(m, n, rows.data());
  std::vector<T> after(columns.size());
  linalg::transpose(m, n, rows.data(), after.data());
  unpack(m, n, after, a, lda);
}

template <class T>
void CpuDenseOps<T>::gram(std::int64_t rows, std::int64_t n, const T* a, std::int64_t lda, double* out) const {
  std::vector<double> wide(static_cast<std::size_t>(rows * n));
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t i = 0; i < rows; ++i) wide[j * rows + i] = a[i + j * lda];
  }
  linalg::syrk_lower(true, n, rows, 1.0, wide.data(), rows, 0.0, out, n);
}

template <class T>
bool CpuDenseOps<T>::svd(std::int64_t m, std::int64_t n, T* a, std::int64_t lda, std::vector<T>& host_s, T* u,
                         T* vt) const {
  // The packed column-major A is the row-major A^T (n x m) = U' S V'^T; then A = V' S U'^T, and
  // LAPACK's row-major V'^T (n x m) and U' (n x n) are the column-major U and V^T of A.
  std::vector<T> at = packed(m, n, a, lda);
  std::vector<T> u_prime(static_cast<std::size_t>(n * n)), vt_prime(static_cast<std::size_t>(n * m));
  host_s.assign(static_cast<std::size_t>(n), T(0));
  if (!linalg::svd_thin(n, m, at.data(), host_s.data(), u_prime.data(), vt_prime.data())) return false;
  std::memcpy(u, vt_prime.data(), vt_prime.size() * sizeof(T));
  std::memcpy(vt, u_prime.data(), u_prime.size() * sizeof(T));
  return true;
}

template <class T>
bool CpuDenseOps<T>::symmetric_eigen(std::int64_t n, double* a, std::vector<double>& host_eigenvalues) const {
  host_eigenvalues.assign(static_cast<std::size_t>(n), 0.0);
  return linalg::symmetric_eigen(n, a, n, host_eigenvalues.data());
}

template <class T>
bool CpuDenseOps<T>::cholesky(std::int64_t n, double* a) const {
  return linalg::cholesky(n, a, n);
}

template <class T>
void CpuDenseOps<T>::solve_lower(bool transposed, std::int64_t n, std::int64_t k, const T* factor, std::int64_t ldf,
                                 T* x, std::int64_t ldx) const {
  linalg::solve_lower(transposed, n, k, factor, ldf, x, ldx);
}

template <class T>
void CpuDenseOps<T>::scale(std::int64_t rows, std::int64_t cols, T* a, std::int64_t lda, const T* row_scale,
                           const T* col_scale) const {
  for (std::int64_t j = 0; j < cols; ++j) {
    for (std::int64_t i = 0; i < rows; ++i) {
      T value = a[i + j * lda];
      if (row_scale != nullptr) value *= row_scale[i];
      if (col_scale != nullptr) value *= col_scale[j];
      a[i + j * lda] = value;
    }
  }
}

// One vectorized read in the common case: the squares in double, and a probe (x * 0 is 0 for finite
// x, NaN otherwise) that finds NaN and inf without a branch. Only when the sum leaves
// [2^-900, 2^900] (entries beyond ~1e154 or below ~1e-162 in float64) are the squares summed again
// for a times a power of two.
template <class T>
double CpuDenseOps<T>::frobenius_norm(std::int64_t rows, std::int64_t cols, const T* a, std::int64_t lda,
                                      bool& finite) const {
  T probe = 0;
  double sum = 0.0;
  for (std::int64_t j = 0; j < cols; ++j) {
    const T* column = a + j * lda;
#pragma omp simd reduction(+ : probe, sum)
    for (std::int64_t i = 0; i < rows; ++i) {
      probe += column[i] * T(0);
      sum += static_cast<double>(column[i]) * static_cast<double>(column[i]);
    }
  }
  finite = probe == T(0);
  if (!finite) return std::numeric_limits<double>::quiet_NaN();
  if (sum >= 0x1p-900 && sum <= 0x1p900) return std::sqrt(sum);
  double largest = 0.0;
  for (std::int64_t j = 0; j < cols; ++j) {
    for (std::int64_t i = 0; i < rows; ++i) largest = std::max(largest, std::fabs(static_cast<double>(a[i + j * lda])));
  }
  if (largest == 0.0) return 0.0;
  const double scale = mlprims::detail::normalizing_power_of_two(largest);
  sum = 0.0;
  for (std::int64_t j = 0; j < cols; ++j) {
    for (std::int64_t i = 0; i < rows; ++i) {
      const double scaled = scale * static_cast<double>(a[i + j * lda]);
      sum += scaled * scaled;
    }
  }
  return std::sqrt(sum) / scale;
}

template <class T>
void CpuDenseOps<T>::narrow(std::int64_t count, const double* from, T* to) const {
  for (std::int64_t i = 0; i < count; ++i) to[i] = static_cast<T>(from[i]);
}

template class CpuDenseOps<float>;
template class CpuDenseOps<double>;

}  // namespace mlprims::linalg
