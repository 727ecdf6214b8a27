// cuBLAS and cuSOLVER entry points overloaded on the element type (float, double), so that code
// templated on T calls one name, and the 32-bit size check those libraries need. The one place
// the CUDA back end names typed cuBLAS/cuSOLVER routines that exist for both precisions.
#pragma once

#include <cublas_v2.h>
#include <cusolverDn.h>

#include <climits>
#include <cstdint>
#include <string>

#include "mlprims/core/error.hpp"

namespace mlprims::linalg {

// cuBLAS/cuSOLVER take 32-bit sizes; larger ones are a ValueError naming the caller and the size.
inline int blas_int(std::int64_t value, const std::string& what) {
  if (value < 0 || value > INT_MAX) {
    throw ValueError(what + " = " + std::to_string(value) + " exceeds the 32-bit sizes of cuBLAS/cuSOLVER");
  }
  return static_cast<int>(value);
}

inline cublasStatus_t gemm_call(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                const float* alpha, const float* a, int lda, const float* b, int ldb, const float* beta,
                                float* c, int ldc) {
  return cublasSgemm(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline cublasStatus_t gemm_call(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                const double* alpha, const double* a, int lda, const double* b, int ldb,
                                const double* beta, double* c, int ldc) {
  return cublasDgemm(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline cublasStatus_t trsm_call(cublasHandle_t h, cublasOperation_t trans, int m, int n, const float* alpha,
                                const float* a, int lda, float* b, int ldb) {
  return cublasStrsm(h, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_LOWER, trans, CUBLAS_DIAG_NON_UNIT, m, n, alpha, a, lda, b,
                     ldb);
}
inline cublasStatus_t trsm_call(cublasHandle_t h, cublasOperation_t trans, int m, int n, const double* alpha,
                                const double* a, int lda, double* b, int ldb) {
  return cublasDtrsm(h, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_LOWER, trans, CUBLAS_DIAG_NON_UNIT, m, n, alpha, a, lda, b,
                     ldb);
}
inline cusolverStatus_t geqrf_size(cusolverDnHandle_t h, int m, int n, float* a, int lda, int* size) {
  return cusolverDnSgeqrf_bufferSize(h, m, n, a, lda, size);
}
inline cusolverStatus_t geqrf_size(cusolverDnHandle_t h, int m, int n, double* a, int lda, int* size) {
  return cusolverDnDgeqrf_bufferSize(h, m, n, a, lda, size);
}
inline cusolverStatus_t geqrf_call(cusolverDnHandle_t h, int m, int n, float* a, int lda, float* tau, float* work,
                                   int lwork, int* info) {
  return cusolverDnSgeqrf(h, m, n, a, lda, tau, work, lwork, info);
}
inline cusolverStatus_t geqrf_call(cusolverDnHandle_t h, int m, int n, double* a, int lda, double* tau, double* work,
                                   int lwork, int* info) {
  return cusolverDnDgeqrf(h, m, n, a, lda, tau, work, lwork, info);
}
inline cusolverStatus_t orgqr_size(cusolverDnHandle_t h, int m, int n, const float* a, int lda, const float* tau,
                                   int* size) {
  return cusolverDnSorgqr_bufferSize(h, m, n, n, a, lda, tau, size);
}
inline cusolverStatus_t orgqr_size(cusolverDnHandle_t h, int m, int n, const double* a, int lda, const double* tau,
                                   int* size) {
  return cusolverDnDorgqr_bufferSize(h, m, n, n, a, lda, tau, size);
}
inline cusolverStatus_t orgqr_call(cusolverDnHandle_t h, int m, int n, float* a, int lda, const float* tau, float* work,
                                   int lwork, int* info) {
  return cusolverDnSorgqr(h, m, n, n, a, lda, tau, work, lwork, info);
}
inline cusolverStatus_t orgqr_call(cusolverDnHandle_t h, int m, int n, double* a, int lda, const double* tau,
                                   double* work, int lwork, int* info) {
  return cusolverDnDorgqr(h, m, n, n, a, lda, tau, work, lwork, info);
}
inline cusolverStatus_t gesvd_size(cusolverDnHandle_t h, int m, int n, float*, int* size) {
  return cusolverDnSgesvd_bufferSize(h, m, n, size);
}
inline cusolverStatus_t gesvd_size(cusolverDnHandle_t h, int m, int n, double*, int* size) {
  return cusolverDnDgesvd_bufferSize(h, m, n, size);
}
inline cusolverStatus_t gesvd_call(cusolverDnHandle_t h, int m, int n, float* a, int lda, float* s, float* u, int ldu,
                                   float* vt, int ldvt, float* work, int lwork, int* info) {
  return cusolverDnSgesvd(h, 'S', 'S', m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, nullptr, info);
}
inline cusolverStatus_t gesvd_call(cusolverDnHandle_t h, int m, int n, double* a, int lda, double* s, double* u,
                                   int ldu, double* vt, int ldvt, double* work, int lwork, int* info) {
  return cusolverDnDgesvd(h, 'S', 'S', m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, nullptr, info);
}

}  // namespace mlprims::linalg
