// Log-sum-exp reductions of an affinely transformed matrix, the normalizers of softmax-like
// kernels:  rows:    out_i = log sum_j exp(scale * C_ij + bias_j)
//           columns: out_j = log sum_i exp(scale * C_ij + bias_i)
// computed with the maximum factored out, so that no term overflows and the sum underflows only
// when every term does (then -inf). NaN in C or the bias gives NaN; +inf gives +inf.
#pragma once

#include <cstdint>

namespace mlprims::linalg {

// log sum_j exp(scale * c_j + bias_j) over one row of m values (bias may be null: zeros).
double log_sum_exp_row(std::int64_t m, const double* c, double scale, const double* bias);

// C is row-major n x m with `ld` elements between rows; bias has m (rows) or n (columns) entries,
// or is null; out has n (rows) or m (columns) entries. `threads` OpenMP threads at most.
template <class T>
void log_sum_exp_rows(std::int64_t n, std::int64_t m, const T* C, std::int64_t ld, double scale, const double* bias,
                      double* out, int threads);
template <class T>
void log_sum_exp_columns(std::int64_t n, std::int64_t m, const T* C, std::int64_t ld, double scale, const double* bias,
                         double* out, int threads);

}  // namespace mlprims::linalg
