// Low-rank factorization W ~ A B (A m x r, B r x n): truncated SVD and the weighted problems that
// have a closed form, minimize || L^T (W - A B) R ||_F with
//   row/column weights   L = diag(row_weights), R = diag(col_weights)  (they multiply the residual;
//                        FWSVD puts sqrt(Fisher row sums) here),
//   Gram weights         L L^T = left_gram, R R^T = right_gram (Cholesky roots; the objective is
//                        tr(E^T left_gram E) + ... with E = W - A B; SVD-LLM's right_gram = X X^T
//                        makes it ||E X||_F^2).
// Closed form: the SVD of M = L^T W R, A = L^{-T} U_r S_r^a, B = S_r^b V_r^T R^{-1}.
// Element-wise weights (minimize sum_ij w_ij (W - A B)_ij^2) have no closed form: alternating
// least squares from the closed form for the best rank-one approximation of sqrt(w).
//
// CPU or CUDA (W's device; the outputs must be there too), float32 or float64 (the computation runs
// in W's dtype; Gram roots are computed in float64). Arrays are C-contiguous (row-major). On CUDA:
// the closed forms run on the GPU, on W's stream; element-wise weights run on the host (W and the
// weights are copied there, the factors back); weights may be in CPU memory or on W's device.
#pragma once

#include <cstdint>
#include <functional>

#include "mlprims/core/iteration.hpp"
#include "mlprims/core/tensor.hpp"

namespace mlprims::lowrank {

enum class SvdMethod : std::uint8_t {
  kAuto,        // float32: kKrylov when its basis is small against p = min(m, n), else
                // kRandomized when 3 (rank + oversample) <= p, else kExact; always kExact for
                // p < 256. float64: kExact (float64 is asked for accuracy; see truncated_svd)
  kExact,       // LAPACK divide-and-conquer SVD of the whole matrix
  kRandomized,  // oversampled range finder with power iterations (subspace iteration; Halko,
                // Martinsson & Tropp 2011)
  kKrylov,      // randomized block Krylov (Musco & Musco 2015): the same passes over W as
                // kRandomized, every block kept; the default where its basis fits. A basis that
                // would not fit in min(m, n) columns runs kExact instead (reported in the result)
};

// Which factor carries the singular values: A = U S, B = V^T (kLeft); A = U, B = S V^T (kRight);
// sqrt(S) on both (kBalanced).
enum class Placement : std::uint8_t { kLeft, kRight, kBalanced };

struct SvdOptions {
  SvdMethod method = SvdMethod::kAuto;
  // Extra columns per block: -1 means 10 (kKrylov) or 10 + rank / 2 (kRandomized). kKrylov blocks
  // have rank + oversample columns where that is at most 40, else ceil(rank / 2) + oversample, at
  // least 40 (40 where that is at most 44 and m >= n), widened to rank + oversample when the Ritz
  // values show a singular value repeated more often than a block holds.
  std::int64_t oversample = -1;
  // Products with the Gram matrix: -1 means 5 (kKrylov with blocks of rank + oversample) or 8
  // (kKrylov with half-rank blocks; 9 where min(m, n) > 2048), one less where the basis would
  // exceed 0.6 min(m, n) columns and one block less would not; 10 for kRandomized (W W^T,
  // renormalized after each).
  int power_iters = -1;
  std::uint64_t seed = 0;  // of the Gaussian test matrix
  Placement placement = Placement::kLeft;
};

// What every low-rank function reports. `error` is the objective at the factors returned:
// ||W - left right||_F for truncated_svd, || L^T (W - left right) R ||_F for the closed forms (from
// sqrt(||L^T W R||^2 - sum s_i^2) or the residual), sqrt(sum_ij w_ij (W - left right)_ij^2) for
// element-wise weights. iterations and converged are the ALS sweeps of element-wise weights (0
// and true for the closed forms).
struct LowRankResult : IterationReport {
  SvdMethod method = SvdMethod::kExact;  // the method used (never kAuto)
  double left_shift = 0.0;               // added to left_gram's diagonal before its Cholesky root (0 if none)
  double right_shift = 0.0;
};

// left (m, rank), right (rank, n), singular_values (rank,) in W's dtype; 1 <= rank <= min(m, n).
LowRankResult truncated_svd(const TensorView& W, std::int64_t rank, const SvdOptions& options, const TensorView& left,
                            const TensorView& right, const TensorView& singular_values);

// Weights for weighted_svd; empty views (data() == nullptr) mean "none". On each side at most one
// of the diagonal and the Gram weight.
struct Weights {
  TensorView row_weights;  // (m,), >= 0
  TensorView col_weights;  // (n,), >= 0
  TensorView left_gram;    // (m, m), symmetric positive semi-definite
  TensorView right_gram;   // (n, n), symmetric positive semi-definite
  TensorView elementwise;  // (m, n), >= 0, multiplies the squared residual; not with the others
};

// Zero row (column) weights: such a row of W does not enter the objective, so any finite choice is
// optimal. Zero-weight columns of `right` are the least-squares fits of W's columns by the columns
// of `left` restricted to the rows with nonzero weight; then zero-weight rows of `left` are the
// least-squares fits of W's rows by the rows of the final `right`. A Gram matrix that is singular or indefinite to
// rounding gets the smallest shift delta I, delta = 1e-12 ||G||_max * 10^j (j = 0, 1, ...), that lets Cholesky succeed;
// one that needs 1e-6 ||G||_max or more is indefinite: ValueError. Element-wise weights: weighted_error is sqrt(sum_ij
// w_ij (W - left right)_ij^2), never above the closed-form start's; rows (columns) whose weights are all 0 keep the
// start's values, which are fitted to W without weights as above. The computation runs in float64 for both dtypes.
// `iteration` applies to element-wise weights (alternating least squares): max_iter sweeps (each
// updates all rows of A, then all columns of B; default 200; 0: the start), tol on the objective's
// estimated remaining decrease relative to the objective (default 1e-8), the callback after every
// sweep with (sweep, weighted error). W is always checked finite (the check is part of its norm).
LowRankResult weighted_svd(const TensorView& W, std::int64_t rank, const Weights& weights, const SvdOptions& options,
                           const TensorView& left, const TensorView& right, const TensorView& singular_values,
                           const IterativeOptions& iteration = {});

// FWSVD as published (Hsu et al., ICLR 2022): each input feature i of the layer gets the weight
// sqrt(sum of fisher over the other axis), then weighted_svd with those row (input_axis 0, the
// paper's (in, out) layout) or column (input_axis 1, torch nn.Linear's (out, in)) weights. fisher
// has W's shape, finite and >= 0 (float32/float64).
LowRankResult fwsvd(const TensorView& W, const TensorView& fisher, std::int64_t rank, int input_axis,
                    const SvdOptions& options, const TensorView& left, const TensorView& right,
                    const TensorView& singular_values);

}  // namespace mlprims::lowrank
