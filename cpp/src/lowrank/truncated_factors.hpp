// The rank-r truncated SVD of a row-major matrix held in a work buffer, exact or randomized; the
// common core of truncated_svd and the closed-form weighted problems.
#pragma once

#include <cstdint>
#include <vector>

#include "mlprims/lowrank.hpp"

namespace mlprims::lowrank::detail {

template <class T>
struct TruncatedFactors {
  std::vector<T> u;   // m x rank, row-major
  std::vector<T> s;   // rank, descending
  std::vector<T> vt;  // rank x n, row-major
  SvdMethod method = SvdMethod::kExact;
};

// m x n row-major `a` (read only). options.placement is not applied here.
template <class T>
TruncatedFactors<T> truncated_factors(std::int64_t m, std::int64_t n, const T* a, std::int64_t rank,
                                      const SvdOptions& options);

// ||a - u diag(s) vt||_F for factors from truncated_factors (u diag(s) vt is an orthogonal
// projection of a): sqrt(||a||^2 - sum s_i^2), one read of a, when that difference keeps its
// accuracy (it is at least 1e-2 (float) or 1e-6 (double) of ||a||^2); else from the residual,
// formed a block of rows at a time. Accumulated in double. squared_norm: ||a||^2 if known, else < 0.
template <class T>
double truncation_error(std::int64_t m, std::int64_t n, const T* a, const TruncatedFactors<T>& f,
                        double squared_norm = -1.0);

}  // namespace mlprims::lowrank::detail
