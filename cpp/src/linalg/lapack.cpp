#include "linalg/lapack.hpp"

#include <limits>
#include <string>

#include "linalg/blas.hpp"
#include "linalg/blas_symbols.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::linalg {
namespace {

int as_int(std::int64_t value, const char* what) { return blas_int(value, what); }

void check_arguments(int info, const char* routine) {
  if (info < 0) {
    throw Error(std::string(routine) + ": invalid argument " + std::to_string(-info) + " (internal error)");
  }
}

}  // namespace

void syrk_lower(bool transpose, std::int64_t n, std::int64_t k, double alpha, const double* a, std::int64_t lda,
                double beta, double* c, std::int64_t ldc) {
  const char uplo = 'L', trans = transpose ? 'T' : 'N';
  const int N = as_int(n, "n"), K = as_int(k, "k"), LDA = as_int(lda, "lda"), LDC = as_int(ldc, "ldc");
  if (N == 0) return;
  apply_blas_threads(static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(k));
  MLPRIMS_BLAS(dsyrk)(&uplo, &trans, &N, &K, &alpha, a, &LDA, &beta, c, &LDC);
}

void solve_right_lower_transposed(std::int64_t rows, std::int64_t n, const double* factor, std::int64_t lda, double* b,
                                  std::int64_t ldb) {
  const char side = 'R', uplo = 'L', trans = 'T', diag = 'N';
  const double one = 1.0;
  const int M = as_int(rows, "rows"), N = as_int(n, "n"), LDA = as_int(lda, "lda"), LDB = as_int(ldb, "ldb");
  if (M == 0 || N == 0) return;
  apply_blas_threads(static_cast<double>(rows) * static_cast<double>(n) * static_cast<double>(n));
  MLPRIMS_BLAS(dtrsm)(&side, &uplo, &trans, &diag, &M, &N, &one, factor, &LDA, b, &LDB);
}

bool cholesky(std::int64_t n, double* a, std::int64_t lda) {
  const char uplo = 'L';
  const int N = as_int(n, "n"), LDA = as_int(lda, "lda");
  int info = 0;
  if (N == 0) return true;
  apply_blas_threads(static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / 3.0);
  MLPRIMS_BLAS(dpotrf)(&uplo, &N, a, &LDA, &info);
  check_arguments(info, "dpotrf");
  return info == 0;
}

void cholesky_solve(std::int64_t n, std::int64_t nrhs, const double* factor, std::int64_t lda, double* b,
                    std::int64_t ldb) {
  const char uplo = 'L';
  const int N = as_int(n, "n"), NRHS = as_int(nrhs, "nrhs"), LDA = as_int(lda, "lda"), LDB = as_int(ldb, "ldb");
  int info = 0;
  if (N == 0 || NRHS == 0) return;
  apply_blas_threads(2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(nrhs));
  MLPRIMS_BLAS(dpotrs)(&uplo, &N, &NRHS, factor, &LDA, b, &LDB, &info);
  check_arguments(info, "dpotrs");
}

void cholesky_inverse(std::int64_t n, double* factor, std::int64_t lda) {
  const char uplo = 'L';
  const int N = as_int(n, "n"), LDA = as_int(lda, "lda");
  int info = 0;
  if (N == 0) return;
  apply_blas_threads(2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / 3.0);
  MLPRIMS_BLAS(dpotri)(&uplo, &N, factor, &LDA, &info);
  check_arguments(info, "dpotri");
}

bool symmetric_eigen(std::int64_t n, double* a, std::int64_t lda, double* w) {
  const char jobz = 'V', uplo = 'L';
  const int N = as_int(n, "n"), LDA = as_int(lda, "lda");
  if (N == 0) return true;
  int info = 0, query = -1, iwork_size = 0;
  double work_size = 0.0;
  apply_blas_threads(9.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n));
  MLPRIMS_BLAS(dsyevd)(&jobz, &uplo, &N, a, &LDA, w, &work_size, &query, &iwork_size, &query, &info);
  check_arguments(info, "dsyevd");
  const int lwork = static_cast<int>(work_size) + 1, liwork = iwork_size;
  std::vector<double> work(static_cast<std::size_t>(lwork));
  std::vector<int> iwork(static_cast<std::size_t>(liwork));
  MLPRIMS_BLAS(dsyevd)(&jobz, &uplo, &N, a, &LDA, w, work.data(), &lwork, iwork.data(), &liwork, &info);
  check_arguments(info, "dsyevd");
  return info == 0;
}

bool ldlt(std::int64_t n, double* a, std::int64_t lda, std::vector<int>& pivots) {
  const char uplo = 'L';
  const int N = as_int(n, "n"), LDA = as_int(lda, "lda");
  pivots.assign(static_cast<std::size_t>(N), 0);
  if (N == 0) return true;
  int info = 0, query = -1;
  double size = 0.0;
  apply_blas_threads(static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / 3.0);
  MLPRIMS_BLAS(dsytrf)(&uplo, &N, a, &LDA, pivots.data(), &size, &query, &info);
  check_arguments(info, "dsytrf");
  const int lwork = static_cast<int>(size) > 1 ? static_cast<int>(size) : 1;
  std::vector<double> work(static_cast<std::size_t>(lwork));
  MLPRIMS_BLAS(dsytrf)(&uplo, &N, a, &LDA, pivots.data(), work.data(), &lwork, &info);
  check_arguments(info, "dsytrf");
  return info == 0;
}

void ldlt_solve(std::int64_t n, std::int64_t nrhs, const double* factor, std::int64_t lda,
                const std::vector<int>& pivots, double* b, std::int64_t ldb) {
  const char uplo = 'L';
  const int N = as_int(n, "n"), NRHS = as_int(nrhs, "nrhs"), LDA = as_int(lda, "lda"), LDB = as_int(ldb, "ldb");
  int info = 0;
  if (N == 0 || NRHS == 0) return;
  apply_blas_threads(2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(nrhs));
  MLPRIMS_BLAS(dsytrs)(&uplo, &N, &NRHS, factor, &LDA, pivots.data(), b, &LDB, &info);
  check_arguments(info, "dsytrs");
}

}  // namespace mlprims::linalg
