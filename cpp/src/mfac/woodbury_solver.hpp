// F^{-1} x for F = damp I + (1/scale) G^T G, block-diagonal in runs of consecutive columns, on
// any backend (GradientPasses). Each block is either
//   Woodbury: K_b = scale damp I + G_b G_b^T (m x m), F_b^{-1} x = (x - G_b^T K_b^{-1} G_b x)/damp,
//   dense:    F_b itself (b x b, used when the block has no more columns than G has rows).
// The factors live on the host; vectors of length d stay in the backend's memory. Both the static
// FisherInverse and the SlidingFisherInverse use it.
#pragma once

#include <cstdint>
#include <vector>

#include "mfac/gradient_passes.hpp"
#include "mfac/symmetric_factor.hpp"
#include "mlprims/core/tensor.hpp"
#include "mlprims/mfac.hpp"

namespace mlprims::mfac::detail {

// Why factors could not be built.
enum class FactorStatus { kOk, kNonFiniteGradients, kGramOverflows };

// The largest diagonal entry of K (or of a dense block of F) that the solver accepts.
extern const double kLargestDiagonal;

class WoodburySolver {
 public:
  // `passes` reads G (all of its current rows) and must outlive the solver; scale is the divisor of
  // G^T G (the number of gradients). block_size 0 means one block. max_rows bounds the rows over
  // the solver's life (the sliding window grows); force_woodbury keeps the m x m form even for
  // blocks narrower than m. Factors are not built yet.
  WoodburySolver(GradientPasses& passes, double damp, double scale, std::int64_t block_size, std::int64_t max_rows,
                 bool force_woodbury);

  // Builds every block's factor from G; stops at the first block whose G holds NaN/inf or whose
  // Gram matrix overflows (diagonal above kLargestDiagonal), and says which.
  FactorStatus build_factors();

  // out = F^{-1} x, x and out (d,) or (k, d), float32/float64, in the backend's memory. With
  // refine, the figures describe out as returned (for float32, y rounded to float32).
  SolveInfo solve(const TensorView& x, const TensorView& out, bool refine) const;
  // The same on k x d doubles in the backend's memory (figures of the double y). `projection`,
  // when given, is G x already computed (host, k x m per block), which saves the first pass.
  SolveInfo solve(const double* x, double* y, int k, bool refine, const double* projection = nullptr) const;
  // solve(x, y, ...) on x scaled by a power of two to norm ~1 (so that no intermediate overflows
  // or underflows), y scaled back and stored into rows [first, first + k) of out; with refine and
  // a float32 out, the figures are measured again on the stored (rounded) rows. x, projection
  // (G x, or nullptr) and y are scratch: they are rescaled in place.
  SolveInfo solve_into(double* x, double* y, int k, bool refine, double* projection, const TensorView& out,
                       std::int64_t first) const;
  // The figures (relative residual, backward error) of a given y for x: two passes over G.
  SolveInfo measure(const double* x, const double* y, int k) const;

  std::vector<double> diagonal() const;  // diag(F^{-1}), d values on the host
  // F^{-1}[rows[t], cols[t]] (0 across blocks).
  std::vector<double> entries(const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& cols) const;

  // For the sliding window: one Woodbury block whose number of rows and scale change, and whose
  // factor the window maintains itself.
  void set_rows(std::int64_t rows, double scale);
  SymmetricFactor& only_factor() { return factors_.front(); }
  const SymmetricFactor& only_factor() const { return factors_.front(); }
  double damp() const { return damp_; }
  // A lower bound on ||F|| (set by build_factors; the sliding window sets its own).
  void set_norm_bound(double value) { norm_bound_ = value; }

 private:
  std::int64_t block_of(std::int64_t column) const;
  // Builds the block's matrix and factor; returns a lower bound on ||F_b||.
  double build_block(std::size_t b, FactorStatus& status);
  std::size_t projection_size(int k) const;
  // r = x - F y given gy = G y (host, k x m per block); r_projection (host, when given) = G r and
  // norms (host, 2k, when given) = ||r_j||, then ||y_j||.
  void residual(const double* x, const double* y, const double* gy, int k, double* r, double* r_projection,
                double* norms) const;
  // v's rows (k x d, backend memory) times factors[j], one d-length pass per row not scaled by 1.
  void scale_rows(double* v, int k, const std::vector<double>& factors) const;
  // Folds one right-hand side's ||x||, ||r||, ||y|| into info's figures (largest so far; NaN wins).
  void add_figures(double x_norm, double residual_norm, double y_norm, SolveInfo& info) const;

  void solve_woodbury_blocks(double* projections, int k) const;  // host, in place, k x m per block
  void solve_dense_blocks(double* vectors, int k) const;         // host, in place on k x d vectors
  // target = F^{-1} source (target += ... when accumulate) on the Woodbury blocks, given
  // q = G source (host, k x m per block; overwritten). Plain: one pass. Accurate: two passes
  // through v = damp F^{-1} source (written to `scratch`: `target` unless accumulating, or
  // `source`), see the .cpp. The last pass adds G target to target_projection when given.
  void apply_woodbury(const double* source, double* q, double* target, double* scratch, int k, bool accumulate,
                      bool accurate, double* target_projection) const;
  // The same on the dense blocks, through the host.
  void apply_dense(const double* source, double* target, int k, bool accumulate, double* target_projection) const;

  GradientPasses& passes_;
  double damp_;
  double scale_;
  double norm_bound_ = 0.0;
  std::int64_t step_;                     // block width (the last block may be narrower)
  std::vector<SymmetricFactor> factors_;  // one per block, of K_b (Woodbury) or F_b (dense)
  std::vector<double> factor_storage_;
  bool any_dense_ = false, any_woodbury_ = false;
};

}  // namespace mlprims::mfac::detail
