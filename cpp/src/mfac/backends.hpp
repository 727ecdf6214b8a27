// The engines behind mlprims/mfac.hpp: CPU implementations (WoodburySolver) and CUDA ones.
// Arguments reach them validated.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "mfac/gradient_rows.hpp"
#include "mlprims/core/tensor.hpp"
#include "mlprims/mfac.hpp"

namespace mlprims::mfac::detail {

class FisherEngine {
 public:
  virtual ~FisherEngine() = default;
  virtual SolveInfo ihvp(const TensorView& x, const TensorView& out, bool refine) const = 0;
  virtual std::vector<double> diagonal() const = 0;  // diag(F^{-1}), d values on the host
  // F^{-1} x for one host vector of d values, refined (for obs_prune).
  virtual std::vector<double> solve(const std::vector<double>& x) const = 0;
  virtual std::vector<double> entries(const std::vector<std::int64_t>& rows,
                                      const std::vector<std::int64_t>& cols) const = 0;
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

// Throws ValueError naming FisherInverse's 'grads' when check_finite finds NaN/inf.
std::unique_ptr<FisherEngine> make_cpu_fisher(const GradientRows& g, double damp, std::int64_t block_size,
                                              bool check_finite);
std::unique_ptr<SlidingEngine> make_cpu_sliding(std::int64_t dim, std::int64_t window, double damp, DType dtype,
                                                std::int64_t refactor_interval);

std::unique_ptr<FisherEngine> make_cuda_fisher(const GradientRows& g, const Device& device, void* stream, double damp,
                                               std::int64_t block_size, bool check_finite);
std::unique_ptr<SlidingEngine> make_cuda_sliding(std::int64_t dim, std::int64_t window, double damp, DType dtype,
                                                 const Device& device, std::int64_t refactor_interval);

}  // namespace mlprims::mfac::detail
