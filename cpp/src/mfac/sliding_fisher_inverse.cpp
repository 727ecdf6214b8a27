#include <string>

#include "core/checks.hpp"
#include "mfac/argument_checks.hpp"
#include "mfac/backend.hpp"
#include "mfac/engines.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/mfac.hpp"

namespace mlprims::mfac {

struct SlidingFisherInverse::Impl {
  std::int64_t dim = 0, window = 0;
  double damp = 0.0;
  DType dtype = DType::kFloat32;
  Device device;
  std::unique_ptr<detail::SlidingEngine> engine;
};

SlidingFisherInverse::SlidingFisherInverse(std::int64_t dim, std::int64_t window, double damp, DType dtype,
                                           Device device, std::int64_t refactor_interval)
    : impl_(std::make_unique<Impl>()) {
  const char* name = "SlidingFisherInverse";
  if (dim < 1) throw ValueError(std::string(name) + ": 'dim' must be >= 1, got " + std::to_string(dim));
  if (window < 1) throw ValueError(std::string(name) + ": 'window' must be >= 1, got " + std::to_string(window));
  if (refactor_interval < 0) {
    throw ValueError(std::string(name) + ": 'refactor_interval' must be >= 0 (0: the window), got " +
                     std::to_string(refactor_interval));
  }
  detail::check_damp(damp, name);
  if (dtype != DType::kFloat32 && dtype != DType::kFloat64 && dtype != DType::kBFloat16) {
    throw TypeError(std::string(name) + ": 'dtype' must be float32, float64 or bfloat16, got " + dtype_name(dtype));
  }
  impl_->dim = dim;
  impl_->window = window;
  impl_->damp = damp;
  impl_->dtype = dtype;
  impl_->device = device;
  std::unique_ptr<detail::GradientPasses> passes;
  if (device.is_cuda()) {
    mlprims::detail::require_usable_cuda_device(device, {name, "device"});
#if defined(MLPRIMS_WITH_CUDA)
    passes = detail::make_cuda_window(window, dim, dtype, device);
#endif
  } else {
    passes = detail::make_cpu_window(window, dim, dtype);
  }
  impl_->engine = detail::make_sliding_engine(std::move(passes), window, damp, refactor_interval);
}

SlidingFisherInverse::~SlidingFisherInverse() = default;
SlidingFisherInverse::SlidingFisherInverse(SlidingFisherInverse&&) noexcept = default;
SlidingFisherInverse& SlidingFisherInverse::operator=(SlidingFisherInverse&&) noexcept = default;

std::int64_t SlidingFisherInverse::dim() const { return impl_->dim; }
std::int64_t SlidingFisherInverse::window() const { return impl_->window; }
double SlidingFisherInverse::damp() const { return impl_->damp; }
std::int64_t SlidingFisherInverse::size() const { return impl_->engine->size(); }
DType SlidingFisherInverse::dtype() const { return impl_->dtype; }
const Device& SlidingFisherInverse::device() const { return impl_->device; }

void SlidingFisherInverse::update(const TensorView& g) {
  detail::check_gradient(g, impl_->dim, impl_->device, "SlidingFisherInverse.update");
  impl_->engine->update(g);
}

SolveInfo SlidingFisherInverse::ihvp(const TensorView& x, const TensorView& out, bool refine) const {
  detail::check_vectors(x, out, impl_->dim, impl_->device, "SlidingFisherInverse.ihvp");
  return impl_->engine->ihvp(x, out, refine);
}

SolveInfo SlidingFisherInverse::update_ihvp(const TensorView& g, const TensorView& out, bool refine) {
  detail::check_gradient(g, impl_->dim, impl_->device, "SlidingFisherInverse.update_ihvp");
  detail::check_vectors(g, out, impl_->dim, impl_->device, "SlidingFisherInverse.update_ihvp", "g");
  return impl_->engine->update_ihvp(g, out, refine);
}

void SlidingFisherInverse::reset() { impl_->engine->reset(); }

}  // namespace mlprims::mfac
