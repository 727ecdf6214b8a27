#include "linalg/sparse_matrix.hpp"

#include <algorithm>

#include "core/parallel.hpp"

namespace mlprims::linalg {

void csr_multiply(const CsrMatrix& A, const double* x, double* y, int threads) {
  const int used = std::min(threads, detail::threads_for(A.nnz() + A.rows, 1 << 14));
#pragma omp parallel for num_threads(used) schedule(static)
  for (std::int64_t i = 0; i < A.rows; ++i) {
    double sum = 0.0;
    for (std::int64_t k = A.row_start[i]; k < A.row_start[i + 1]; ++k) sum += A.value[k] * x[A.column[k]];
    y[i] = sum;
  }
}

CsrMatrix csr_transpose(const CsrMatrix& A) {
  CsrMatrix T;
  T.rows = A.cols;
  T.cols = A.rows;
  T.row_start.assign(static_cast<std::size_t>(A.cols + 1), 0);
  for (std::int64_t k = 0; k < A.nnz(); ++k) ++T.row_start[A.column[k] + 1];
  for (std::int64_t j = 0; j < A.cols; ++j) T.row_start[j + 1] += T.row_start[j];
  T.column.resize(A.column.size());
  T.value.resize(A.value.size());
  std::vector<std::int64_t> next(T.row_start.begin(), T.row_start.end() - 1);
  for (std::int64_t i = 0; i < A.rows; ++i) {
    for (std::int64_t k = A.row_start[i]; k < A.row_start[i + 1]; ++k) {
      const std::int64_t slot = next[A.column[k]]++;
      T.column[slot] = i;
      T.value[slot] = A.value[k];
    }
  }
  return T;
}

}  // namespace mlprims::linalg
