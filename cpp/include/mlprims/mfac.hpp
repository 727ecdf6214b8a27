// M-FAC: products with the inverse of a damped empirical Fisher matrix built from m gradients,
// without ever forming a d x d matrix (Frantar, Kurtic & Alistarh, NeurIPS 2021).
//
//   G (m x d) holds the gradients g_1..g_m as rows;  F = damp I + (1/m) G^T G.
//   By Woodbury, F^{-1} = (I - G^T K^{-1} G) / damp with K = m damp I + G G^T (m x m).
//
// Setup is one Gram product (BLAS syrk) and an m x m Cholesky factorization (Bunch-Kaufman LDL^T
// if Cholesky fails); a product F^{-1} x is two passes over G. Gradients may be stored as float32,
// float64 or bfloat16; every sum (Gram matrix, passes, solves) accumulates in float64.
// refine=true computes the product in a form that does not cancel (three passes), then refines it
// iteratively (three passes per step) until the backward error reaches ~1e-16 in float64.
// refine=false: backward error <= c u cond(F), u = 2^-53, cond(F) = 1 + sigma_max(G)^2 / (m damp),
// c ~ 2 (sqrt(m) + sqrt(d)) (the rounding of G x, of the m x m solve and of the cancellation, all
// amplified by ||K|| / (m damp)); float32 results add 2^-24.
#pragma once

#include <cstdint>
#include <memory>

#include "mlprims/core/tensor.hpp"

namespace mlprims::mfac {

// How a product F^{-1} x was obtained. With refinement the residual r = x - F y is computed, and
// with it the backward error ||r|| / (||F|| ||y|| + ||x||), where ||F|| is a lower bound from a few
// power iterations on the m x m system (so the estimate errs on the high side). Refinement stops
// when that estimate reaches 4 eps, or when the residual stops halving. The figures describe the
// array returned (for float32 out: y rounded to float32, measured in two more passes) and use
// scaled norms (right at any finite magnitude on the CPU).
struct SolveInfo {
  int refinement_steps = 0;       // corrections applied after the first solve
  double relative_residual = -1;  // ||x - F y|| / ||x|| (largest over right-hand sides); -1 without refinement
  double backward_error = -1;     // the estimate above (largest over right-hand sides); -1 without refinement
};

struct FisherOptions {
  // Block-diagonal F: each run of block_size consecutive coordinates has its own inverse (the
  // last block is shorter when block_size does not divide d); 0 means one block (the full F).
  std::int64_t block_size = 0;
  // Kept for compatibility and ignored: NaN/inf in the gradients, or a Gram matrix that overflows
  // float64, is always a ValueError (the check is part of the Gram product and costs nothing; a
  // non-finite G would make every product NaN).
  bool check_finite = true;
};

// Static inverse for pruning. `grads` (m, d) is used in place, not copied: it must stay alive and
// unchanged while this object is used. CPU or CUDA memory.
class FisherInverse {
 public:
  FisherInverse(const TensorView& grads, double damp, FisherOptions options = {});
  ~FisherInverse();
  FisherInverse(FisherInverse&&) noexcept;
  FisherInverse& operator=(FisherInverse&&) noexcept;
  FisherInverse(const FisherInverse&) = delete;
  FisherInverse& operator=(const FisherInverse&) = delete;

  std::int64_t dim() const;
  std::int64_t num_grads() const;
  double damp() const;
  std::int64_t block_size() const;  // 0 for the full matrix
  const Device& device() const;

  // out = F^{-1} x for x of shape (d,) or (k, d); out has x's shape, float32 or float64.
  SolveInfo ihvp(const TensorView& x, const TensorView& out, bool refine = false) const;
  // out (d,) = diag(F^{-1}), float32 or float64. Cost: one solve with G, O(m^2 d).
  void diagonal(const TensorView& out) const;
  // out[t] = F^{-1}[rows[t], cols[t]] for 1-D int64 index arrays of one length; O(m^2) per distinct
  // column index plus O(m) per entry.
  void entries(const TensorView& rows, const TensorView& cols, const TensorView& out) const;

  struct Impl;

 private:
  friend void obs_prune(const TensorView&, const FisherInverse&, double, const TensorView&, const TensorView&);
  std::unique_ptr<Impl> impl_;
};

// Inverse over the last `window` gradients, for optimization. A gradient that is not finite, not
// finite once rounded to `dtype`, or with ||g||^2 beyond ~2.2e307 (the Gram matrix) is a
// ValueError that leaves the window unchanged. Owns its gradient buffer
// (window x dim in `dtype`: float32, float64 or bfloat16) on `device`. While the window fills,
// F is built from the gradients present: F = damp I + (1/c) sum of the c gradients so far.
// Replacing a gradient changes K by a symmetric rank-2 matrix: its Cholesky factor is updated and
// downdated in O(window^2) and refactored from the exact Gram matrix every `refactor_interval`
// updates (default: window) or when a downdate loses positive definiteness.
class SlidingFisherInverse {
 public:
  SlidingFisherInverse(std::int64_t dim, std::int64_t window, double damp, DType dtype = DType::kFloat32,
                       Device device = Device::cpu(), std::int64_t refactor_interval = 0);
  ~SlidingFisherInverse();
  SlidingFisherInverse(SlidingFisherInverse&&) noexcept;
  SlidingFisherInverse& operator=(SlidingFisherInverse&&) noexcept;
  SlidingFisherInverse(const SlidingFisherInverse&) = delete;
  SlidingFisherInverse& operator=(const SlidingFisherInverse&) = delete;

  std::int64_t dim() const;
  std::int64_t window() const;
  double damp() const;
  std::int64_t size() const;  // gradients held now (<= window)
  DType dtype() const;
  const Device& device() const;

  // Adds g (d,) and evicts the oldest gradient once the window is full.
  void update(const TensorView& g);
  // out = F^{-1} x as FisherInverse::ihvp; ValueError while empty.
  SolveInfo ihvp(const TensorView& x, const TensorView& out, bool refine = false) const;
  // update(g) then out = F^{-1} g, in two passes over the window (the update's pass included).
  SolveInfo update_ihvp(const TensorView& g, const TensorView& out, bool refine = false);
  void reset();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Optimal Brain Surgeon step with the M-FAC inverse (Frantar et al. 2021, sec. 5): scores
// w_j^2 / (2 [F^{-1}]_jj); the floor(sparsity d) lowest are dropped (ties by index) and the rest
// updated by dw = F^{-1}(-v), v_q = w_q / [F^{-1}]_qq on the dropped set Q (0 elsewhere); then the
// dropped weights are set to exactly 0. weights (d,) float32/float64; pruned (d,) same dtype;
// mask (d,) bool, true where kept. sparsity in [0, 1).
void obs_prune(const TensorView& weights, const FisherInverse& finv, double sparsity, const TensorView& pruned,
               const TensorView& mask);

}  // namespace mlprims::mfac
