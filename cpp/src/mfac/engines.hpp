// The engines behind mlprims/mfac.hpp. One implementation of each (WoodburySolver over a
// GradientPasses backend, the sliding window over the same), built over CPU or CUDA passes.
// Arguments reach them validated.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "mfac/gradient_passes.hpp"
#include "mlprims/core/tensor.hpp"
#include "mlprims/mfac.hpp"

namespace mlprims::mfac::detail {

class FisherEngine {
 public:
  virtual ~FisherEngine() = default;
  virtual SolveInfo ihvp(const TensorView& x, const TensorView& out, bool refine) const = 0;
  virtual std::vector<double> diagonal() const = 0;  // diag(F^{-1}), d values on the host
  virtual std::vector<double> entries(const std::vector<std::int64_t>& rows,
                                      const std::vector<std::int64_t>& cols) const = 0;
  // F^{-1} x for one host vector of d values, refined (for obs_prune).
  virtual std::vector<double> solve(const std::vector<double>& x) const = 0;
};

class SlidingEngine {
 public:
  virtual ~SlidingEngine() = default;
  virtual void update(const TensorView& g) = 0;
  virtual SolveInfo ihvp(const TensorView& x, const TensorView& out, bool refine) const = 0;
  virtual SolveInfo update_ihvp(const TensorView& g, const TensorView& out, bool refine) = 0;
  virtual void reset() = 0;
  virtual std::int64_t size() const = 0;
};

// Throws ValueError naming FisherInverse's 'grads' when G holds NaN/inf or its Gram matrix
// overflows.
std::unique_ptr<FisherEngine> make_fisher_engine(std::unique_ptr<GradientPasses> passes, double damp,
                                                 std::int64_t block_size);
// `window_passes` owns a zeroed buffer of `window` rows (make_cpu_window, make_cuda_window in
// backend.hpp).
std::unique_ptr<SlidingEngine> make_sliding_engine(std::unique_ptr<GradientPasses> window_passes, std::int64_t window,
                                                   double damp, std::int64_t refactor_interval);

}  // namespace mlprims::mfac::detail
