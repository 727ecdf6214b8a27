// The Fortran BLAS/LAPACK symbols mlprims calls. With the scipy-openblas32 wheel (the default,
// MLPRIMS_BLAS=wheel) every symbol carries a "scipy_" prefix; MLPRIMS_BLAS=system links plain
// names. Integers are 32-bit (LP64) in both.
#pragma once

#if defined(MLPRIMS_BLAS_SCIPY_PREFIX)
#define MLPRIMS_BLAS(name) scipy_##name##_
#define MLPRIMS_OPENBLAS(name) scipy_openblas_##name
#else
#define MLPRIMS_BLAS(name) name##_
#define MLPRIMS_OPENBLAS(name) openblas_##name
#endif

extern "C" {

void MLPRIMS_BLAS(dgemm)(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                         const double* alpha, const double* a, const int* lda, const double* b, const int* ldb,
                         const double* beta, double* c, const int* ldc);
void MLPRIMS_BLAS(sgemm)(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                         const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                         const float* beta, float* c, const int* ldc);

void MLPRIMS_BLAS(dsyrk)(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha,
                         const double* a, const int* lda, const double* beta, double* c, const int* ldc);
void MLPRIMS_BLAS(dpotrf)(const char* uplo, const int* n, double* a, const int* lda, int* info);
void MLPRIMS_BLAS(dpotrs)(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda, double* b,
                          const int* ldb, int* info);
void MLPRIMS_BLAS(dpotri)(const char* uplo, const int* n, double* a, const int* lda, int* info);
void MLPRIMS_BLAS(dsytrf)(const char* uplo, const int* n, double* a, const int* lda, int* ipiv, double* work,
                          const int* lwork, int* info);
void MLPRIMS_BLAS(dsyevd)(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                          double* work, const int* lwork, int* iwork, const int* liwork, int* info);
void MLPRIMS_BLAS(dsytrs)(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda,
                          const int* ipiv, double* b, const int* ldb, int* info);

// Dense factorizations for the low-rank module, single and double precision.
#define MLPRIMS_DENSE_SYMBOLS(T, p)                                                                                  \
  void MLPRIMS_BLAS(p##gesdd)(const char* jobz, const int* m, const int* n, T* a, const int* lda, T* s, T* u,        \
                              const int* ldu, T* vt, const int* ldvt, T* work, const int* lwork, int* iwork,         \
                              int* info);                                                                            \
  void MLPRIMS_BLAS(p##getrf)(const int* m, const int* n, T* a, const int* lda, int* ipiv, int* info);               \
  void MLPRIMS_BLAS(p##geqrf)(const int* m, const int* n, T* a, const int* lda, T* tau, T* work, const int* lwork,   \
                              int* info);                                                                            \
  void MLPRIMS_BLAS(p##orgqr)(const int* m, const int* n, const int* k, T* a, const int* lda, const T* tau, T* work, \
                              const int* lwork, int* info);                                                          \
  void MLPRIMS_BLAS(p##trsm)(const char* side, const char* uplo, const char* transa, const char* diag, const int* m, \
                             const int* n, const T* alpha, const T* a, const int* lda, T* b, const int* ldb);
MLPRIMS_DENSE_SYMBOLS(float, s)
MLPRIMS_DENSE_SYMBOLS(double, d)
#undef MLPRIMS_DENSE_SYMBOLS

// OpenBLAS thread control and configuration; weak so that a system BLAS without them links.
void MLPRIMS_OPENBLAS(set_num_threads)(int threads) __attribute__((weak));
int MLPRIMS_OPENBLAS(get_num_threads)(void) __attribute__((weak));
char* MLPRIMS_OPENBLAS(get_config)(void) __attribute__((weak));

}  // extern "C"
