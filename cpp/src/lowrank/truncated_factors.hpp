// The tuned CPU truncated SVD of a row-major matrix, exact or randomized (the fused one-read Gram
// pass, the float32 Gram route): the strategy the closed form (weighted_closed_form.hpp) uses on the host.
#pragma once

#include <cstdint>
#include <vector>

#include "lowrank/dense_ops_svd.hpp"
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

// truncated_factors behind the TruncatedSvd signature (weighted_closed_form.hpp), for ops in host
// memory: `a` is column-major rows x cols, i.e. the row-major cols x rows matrix W.
template <class T>
BackendFactors<T> cpu_truncated_factors(const DenseOps<T>& ops, std::int64_t rows, std::int64_t cols, const T* a,
                                        std::int64_t rank, const SvdOptions& options);

}  // namespace mlprims::lowrank::detail
