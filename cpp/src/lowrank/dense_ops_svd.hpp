// The truncated SVD written on DenseOps: the one the CUDA back end runs (the host implementation
// of DenseOps runs the same code in the CPU tests). The CPU entry points use the tuned
// truncated_factors.hpp instead, behind the same signature (TruncatedSvd in weighted_closed_form.hpp).
//
// Same methods and plan as the CPU path (svd_plan.hpp): exact SVD, randomized block Krylov with
// every block kept, or subspace iteration, and the same Rayleigh-Ritz: float32 through the
// eigendecomposition of the basis' Gram matrix in double, float64 through the SVD of W^T Q. The
// CPU path's fused one-read Gram pass has no counterpart: on a GPU, W^T (W Q) is two GEMMs.
//
// W (m x n, row-major) is, read column-major, A = W^T (n x m); the code works with A.
#pragma once

#include <cstdint>
#include <vector>

#include "lowrank/backend.hpp"
#include "mlprims/lowrank.hpp"

namespace mlprims::lowrank::detail {

// A (rows x cols, column-major, in the back end's memory) ~ u diag(s) v^T.
template <class T>
struct BackendFactors {
  BackendArray<T> u;  // rows x rank, ld rows
  BackendArray<T> v;  // cols x rank, ld cols
  std::vector<T> s;   // host, descending
  SvdMethod method = SvdMethod::kExact;
};

// Rank-`rank` factors of the column-major rows x cols matrix a (ld rows), 1 <= rank <= min.
template <class T>
BackendFactors<T> dense_ops_truncated_factors(const DenseOps<T>& ops, std::int64_t rows, std::int64_t cols, const T* a,
                                              std::int64_t rank, const SvdOptions& options);

}  // namespace mlprims::lowrank::detail
