// The truncated SVD and the weighted closed form on a DenseOps back end (the CUDA back end; the
// host implementation of DenseOps runs the same code in the CPU tests).
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

#include "lowrank/dense_ops.hpp"
#include "mlprims/lowrank.hpp"

namespace mlprims::lowrank::detail {

// A (rows x cols) ~ u diag(s) v^T.
template <class T>
struct DeviceFactors {
  BackendArray<T> u;  // rows x rank, ld rows
  BackendArray<T> v;  // cols x rank, ld cols
  std::vector<T> s;   // host, descending
  SvdMethod method = SvdMethod::kExact;
};

// Rank-`rank` factors of the column-major rows x cols matrix a (ld rows), 1 <= rank <= min.
template <class T>
DeviceFactors<T> device_truncated_factors(const DenseOps<T>& ops, std::int64_t rows, std::int64_t cols, const T* a,
                                          std::int64_t rank, const SvdOptions& options);

// The weighted closed-form problem of mlprims/lowrank.hpp, its inputs checked.
template <class T>
struct DeviceProblem {
  std::int64_t m = 0, n = 0;
  const T* w = nullptr;              // W, row-major m x n, back end memory
  double w_norm = 0.0;               // ||W||_F
  std::vector<double> row_weights;   // host, m values; empty: none
  std::vector<double> col_weights;   // host, n values; empty: none
  BackendArray<T> left_root;         // m x m lower Cholesky root of left_gram (upper part 0); empty: none
  BackendArray<T> right_root;        // n x n, of right_gram
};

// Writes left (m x rank), right (rank x n) and singular_values (rank) (row-major, back end memory)
// per options.placement; returns the weighted error and sets `method` to the SVD used.
template <class T>
double device_weighted_factors(const DenseOps<T>& ops, const DeviceProblem<T>& problem, std::int64_t rank,
                               const SvdOptions& options, T* left, T* right, T* singular_values, SvdMethod& method);

}  // namespace mlprims::lowrank::detail
