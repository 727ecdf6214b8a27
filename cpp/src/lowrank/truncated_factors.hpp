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

// Frobenius norm of a - u diag(s) vt, accumulated in double, a block of rows at a time.
template <class T>
double residual_norm(std::int64_t m, std::int64_t n, const T* a, const TruncatedFactors<T>& f);

}  // namespace mlprims::lowrank::detail
