#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/checks.hpp"
#include "core/vector_io.hpp"
#include "mfac/argument_checks.hpp"
#include "mfac/backend.hpp"
#include "mfac/engines.hpp"
#include "mfac/fisher_impl.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/mfac.hpp"

namespace mlprims::mfac {

using mlprims::detail::ArgRef;
namespace checks = mlprims::detail;

FisherInverse::FisherInverse(const TensorView& grads, double damp, FisherOptions options)
    : impl_(std::make_unique<Impl>()) {
  const char* name = "FisherInverse";
  const detail::GradientRows g = detail::checked_gradients(grads, ArgRef{name, "grads"});
  detail::check_damp(damp, name);
  if (options.block_size < 0) {
    throw ValueError(std::string(name) + ": 'block_size' must be >= 1, got " + std::to_string(options.block_size));
  }
  impl_->m = g.rows;
  impl_->d = g.cols;
  impl_->damp = damp;
  impl_->block_size = options.block_size >= g.cols ? 0 : options.block_size;
  impl_->device = grads.device();
  std::unique_ptr<detail::GradientPasses> passes;
#if defined(MLPRIMS_WITH_CUDA)
  if (grads.device().is_cuda()) passes = detail::make_cuda_passes(g, grads.device(), grads.stream());
#endif
  if (!passes) passes = detail::make_cpu_passes(g);
  impl_->engine = detail::make_fisher_engine(std::move(passes), damp, impl_->block_size);
}

FisherInverse::~FisherInverse() = default;
FisherInverse::FisherInverse(FisherInverse&&) noexcept = default;
FisherInverse& FisherInverse::operator=(FisherInverse&&) noexcept = default;

std::int64_t FisherInverse::dim() const { return impl_->d; }
std::int64_t FisherInverse::num_grads() const { return impl_->m; }
double FisherInverse::damp() const { return impl_->damp; }
std::int64_t FisherInverse::block_size() const { return impl_->block_size; }
const Device& FisherInverse::device() const { return impl_->device; }

SolveInfo FisherInverse::ihvp(const TensorView& x, const TensorView& out, bool refine) const {
  detail::check_vectors(x, out, impl_->d, impl_->device, "FisherInverse.ihvp");
  return impl_->engine->ihvp(x, out, refine);
}

void FisherInverse::diagonal(const TensorView& out) const {
  const ArgRef arg{"FisherInverse.diagonal", "out"};
  checks::require_floating(out, arg);
  checks::require_shape(out, {impl_->d}, arg);
  checks::require_same_device(out, impl_->device, arg);
  checks::require_writable(out, arg);
  checks::write_vector(impl_->engine->diagonal(), out);
}

void FisherInverse::entries(const TensorView& rows, const TensorView& cols, const TensorView& out) const {
  const char* name = "FisherInverse.entries";
  const ArgRef rows_arg{name, "rows"}, cols_arg{name, "cols"}, out_arg{name, "out"};
  checks::require_dtype(rows, DType::kInt64, rows_arg);
  checks::require_ndim(rows, 1, rows_arg);
  checks::require_dtype(cols, DType::kInt64, cols_arg);
  checks::require_shape(cols, rows.shape(), cols_arg);
  checks::require_floating(out, out_arg);
  checks::require_shape(out, rows.shape(), out_arg);
  checks::require_writable(out, out_arg);
  checks::require_same_device(rows, impl_->device, rows_arg);
  checks::require_same_device(cols, impl_->device, cols_arg);
  checks::require_same_device(out, impl_->device, out_arg);
  const std::vector<std::int64_t> r = checks::read_indices(rows), c = checks::read_indices(cols);
  for (std::size_t t = 0; t < r.size(); ++t) {
    for (const auto& [index, arg] : {std::pair{r[t], rows_arg}, std::pair{c[t], cols_arg}}) {
      if (index < 0 || index >= impl_->d) {
        throw ValueError(arg.prefix() + " must hold indices in [0, " + std::to_string(impl_->d) + "), got " +
                         std::to_string(index));
      }
    }
  }
  checks::write_vector(impl_->engine->entries(r, c), out);
}

}  // namespace mlprims::mfac
