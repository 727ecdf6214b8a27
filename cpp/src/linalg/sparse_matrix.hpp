// A sparse matrix in compressed sparse row form and its products with vectors, threaded over rows.
// The transpose is built once (csr_transpose) when both products are needed, so that each product
// is a gather over rows and no two threads add into the same output.
#pragma once

#include <cstdint>
#include <vector>

namespace mlprims::linalg {

struct CsrMatrix {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::vector<std::int64_t> row_start;  // rows + 1 offsets into column/value
  std::vector<std::int64_t> column;     // column of each stored entry (sorted within a row is not required)
  std::vector<double> value;

  std::int64_t nnz() const { return static_cast<std::int64_t>(value.size()); }
};

// y = A x (x has A.cols entries, y A.rows).
void csr_multiply(const CsrMatrix& A, const double* x, double* y, int threads);

// A^T as a CSR matrix (entries of each row in increasing column order).
CsrMatrix csr_transpose(const CsrMatrix& A);

}  // namespace mlprims::linalg
