// The closed-form weighted low-rank problems of mlprims/lowrank.hpp (diagonal and Gram weights;
// none: the truncated SVD), written once over DenseOps for every back end: the weights checked and
// applied (scaling, Cholesky roots of the Gram matrices with the documented shift), the truncated
// SVD of the weighted matrix, its error, the factors unweighted, rows and columns of weight zero
// fitted without weights, and the singular values placed. Only the truncated SVD differs: the
// device algorithm (dense_ops_svd.hpp) on CUDA, the tuned CPU one (truncated_factors.hpp) on the host.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "lowrank/backend.hpp"
#include "lowrank/dense_ops_svd.hpp"
#include "mlprims/core/tensor.hpp"
#include "mlprims/lowrank.hpp"

namespace mlprims::lowrank::detail {

// Rank-`rank` factors of the column-major rows x cols matrix `a` in ops' memory.
template <class T>
using TruncatedSvd = BackendFactors<T> (*)(const DenseOps<T>& ops, std::int64_t rows, std::int64_t cols, const T* a,
                                           std::int64_t rank, const SvdOptions& options);

// The problem with its inputs checked. W (m x n, row-major) is, read column-major, A = W^T (n x m).
template <class T>
struct WeightedProblem {
  std::int64_t m = 0, n = 0;
  const T* w = nullptr;             // W, row-major m x n, back end memory
  double w_norm = 0.0;              // ||W||_F
  std::vector<double> row_weights;  // host, m values; empty: none
  std::vector<double> col_weights;  // host, n values; empty: none
  BackendArray<T> left_root;        // m x m lower Cholesky root of left_gram (upper part 0); empty: none
  BackendArray<T> right_root;       // n x n, of right_gram
};

// How a singular value s is split between the factors: left = u (s * left), right = (s * right) v^T.
struct SingularValueSplit {
  double left, right;
};
inline SingularValueSplit split_singular_value(Placement placement, double s) {
  switch (placement) {
    case Placement::kLeft:
      return {s, 1.0};
    case Placement::kRight:
      return {1.0, s};
    case Placement::kBalanced:
      return {std::sqrt(s), std::sqrt(s)};
  }
  return {s, 1.0};
}

// W and the outputs in ops' memory (checked by the caller: check_problem); the weights in CPU
// memory or on W's device. Element-wise weights are not handled here (elementwise_solve.hpp).
template <class T>
LowRankResult solve_weighted(const DenseOps<T>& ops, TruncatedSvd<T> svd, const char* function, const TensorView& W,
                             std::int64_t rank, const Weights& weights, const SvdOptions& options,
                             const TensorView& left, const TensorView& right, const TensorView& singular_values);

}  // namespace mlprims::lowrank::detail
