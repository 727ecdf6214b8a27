// F^{-1} x on the CPU for F = damp I + (1/scale) G^T G, block-diagonal in runs of consecutive
// columns. Each block is either
//   Woodbury: K_b = scale damp I + G_b G_b^T (m x m), F_b^{-1} x = (x - G_b^T K_b^{-1} G_b x)/damp,
//   dense:    F_b itself (b x b, used when the block has no more columns than G has rows).
// Passes over G stream column chunks small enough to stay in cache, so that a pass can write a
// vector and immediately project it (two passes per solve and per refinement step). Both the
// static FisherInverse and the SlidingFisherInverse use it.
#pragma once

#include <cstdint>
#include <vector>

#include "mfac/gradient_rows.hpp"
#include "mfac/symmetric_factor.hpp"
#include "mlprims/core/tensor.hpp"
#include "mlprims/mfac.hpp"

namespace mlprims::mfac::detail {

struct Block {
  std::int64_t begin = 0;  // first column
  std::int64_t end = 0;    // one past the last column
  bool dense = false;
  SymmetricFactor factor;  // of K_b (Woodbury) or F_b (dense)
  std::int64_t width() const { return end - begin; }
};

class WoodburySolver {
 public:
  // g: the gradients (rows used: all of g.rows); scale: the 1/scale in front of G^T G (the number
  // of gradients). block_size 0 means one block. max_rows bounds g.rows over the solver's life (the
  // sliding window grows); force_woodbury keeps the m x m form even for blocks narrower than m.
  // Factors are not built yet.
  WoodburySolver(const GradientRows& g, double damp, double scale, std::int64_t block_size, std::int64_t max_rows,
                 bool force_woodbury);

  // Builds every block's factor from G; returns false if G holds NaN/inf (check_finite).
  bool build_factors(bool check_finite);

  // out = F^{-1} x, x and out (d,) or (k, d), float32/float64.
  SolveInfo solve(const TensorView& x, const TensorView& out, bool refine) const;
  // Same on double vectors: y (k x d) = F^{-1} x (k x d). `projection`, when given, is G x already
  // computed (k x m, one Woodbury block only), which saves the first pass.
  SolveInfo solve(const double* x, double* y, int k, bool refine, const double* projection = nullptr) const;
  // q (k x m per block) = G_b x_b.
  void project(const double* x, int k, double* q) const;

  void diagonal(double* out) const;  // diag(F^{-1}), d values
  // F^{-1}[rows[t], cols[t]].
  std::vector<double> entries(const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& cols) const;

  // For the sliding window: a single Woodbury block whose rows and scale change.
  void reset_rows(const GradientRows& g, double scale);
  Block& only_block() { return blocks_.front(); }
  const Block& only_block() const { return blocks_.front(); }
  const GradientRows& gradients() const { return g_; }
  double damp() const { return damp_; }
  double scale() const { return scale_; }
  // A lower bound on ||F|| (set by build_factors; the sliding window sets its own).
  double norm_bound() const { return norm_bound_; }
  void set_norm_bound(double value) { norm_bound_ = value; }

 private:
  std::int64_t block_of(std::int64_t column) const;
  // Builds the block's matrix and factor; returns a lower bound on ||F_b||.
  double build_block(Block& block, bool& finite);

  // One pass over the columns of the chunks of `blocks` (woodbury, dense or both, as `select` says):
  // acc = coefficients_b^T G over a chunk (coefficients: k x m per block, or none), finish(block,
  // begin, end, acc, norms) writes the chunk's outputs and may add to 2k sums (`norms`), and then G times `project_source` over the chunk is added to project_out (k x m per block).
  enum class Select { kWoodbury, kDense, kAll };
  template <class Finish>
  void sweep(Select select, int k, const double* coefficients, Finish&& finish, const double* project_source,
             double* project_out, double* norms) const;
  void solve_woodbury_blocks(double* projections, int k) const;  // in place, k x m per block
  void solve_dense_blocks(double* vectors, int k) const;         // in place on k x d vectors

  // target = F^{-1} source (target += ... when accumulate) on the Woodbury blocks, given
  // q = G source (k x m per block; overwritten). Plain: one pass, target = (source - G^T K^{-1} q)/damp.
  // Accurate: two passes through v = damp F^{-1} source (written to `scratch`, which may be
  // `target` unless accumulating, or `source`), see the .cpp. The last pass adds G target to
  // target_projection when given.
  void apply_woodbury(const double* source, double* q, double* target, double* scratch, int k, bool accumulate,
                      bool accurate, double* target_projection) const;
  // The same on the dense blocks (from their b x b factors); projects with one more pass.
  void apply_dense(const double* source, double* target, int k, bool accumulate, double* target_projection) const;

  GradientRows g_;
  double damp_;
  double scale_;
  double norm_bound_ = 0.0;
  std::vector<Block> blocks_;
  std::vector<double> factor_storage_;
};

}  // namespace mlprims::mfac::detail
