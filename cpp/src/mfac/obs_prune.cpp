// One Optimal Brain Surgeon pruning step with the M-FAC inverse.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "core/checks.hpp"
#include "core/vector_io.hpp"
#include "mfac/engines.hpp"
#include "mfac/fisher_impl.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/mfac.hpp"

namespace mlprims::mfac {

using mlprims::detail::ArgRef;
namespace checks = mlprims::detail;

void obs_prune(const TensorView& weights, const FisherInverse& finv, double sparsity, const TensorView& pruned,
               const TensorView& mask) {
  const char* name = "obs_prune";
  const ArgRef weights_arg{name, "weights"}, pruned_arg{name, "pruned"}, mask_arg{name, "mask"};
  const std::int64_t d = finv.dim();
  checks::require_floating(weights, weights_arg);
  if (weights.ndim() != 1 || weights.shape(0) != d) {
    throw ValueError(weights_arg.prefix() + " must have shape (" + std::to_string(d) +
                     ",) to match the Fisher inverse's dimension " + std::to_string(d) + ", got " +
                     shape_str(weights.shape()));
  }
  checks::require_same_device(weights, finv.device(), weights_arg);
  if (!(sparsity >= 0.0 && sparsity < 1.0)) {
    throw ValueError(std::string(name) + ": 'sparsity' must be in [0, 1), got " +
                     mlprims::detail::format_double(sparsity));
  }
  checks::require_dtype(pruned, weights.dtype(), pruned_arg);
  checks::require_shape(pruned, weights.shape(), pruned_arg);
  checks::require_same_device(pruned, finv.device(), pruned_arg);
  checks::require_writable(pruned, pruned_arg);
  checks::require_dtype(mask, DType::kBool, mask_arg);
  checks::require_shape(mask, weights.shape(), mask_arg);
  checks::require_same_device(mask, finv.device(), mask_arg);
  checks::require_writable(mask, mask_arg);

  const std::vector<double> w = checks::read_vector(weights);
  for (const double value : w) {
    if (!std::isfinite(value)) throw ValueError(weights_arg.prefix() + " must be finite (found NaN or inf)");
  }
  const detail::FisherEngine& engine = *finv.impl_->engine;
  const std::vector<double> diagonal = engine.diagonal();

  // The floor(sparsity d) lowest scores w^2 / (2 diag), ties broken by index.
  const auto dropped_count = static_cast<std::int64_t>(std::floor(sparsity * static_cast<double>(d)));
  std::vector<double> scores(static_cast<std::size_t>(d));
  for (std::int64_t j = 0; j < d; ++j) scores[j] = w[j] * w[j] / (2.0 * diagonal[j]);
  std::vector<std::int64_t> order(static_cast<std::size_t>(d));
  std::iota(order.begin(), order.end(), 0);
  const auto lower = [&](std::int64_t a, std::int64_t b) {
    return scores[a] < scores[b] || (scores[a] == scores[b] && a < b);
  };
  std::nth_element(order.begin(), order.begin() + dropped_count, order.end(), lower);

  // dw = F^{-1}(-v), v_q = w_q / diag_q on the dropped set.
  std::vector<double> v(static_cast<std::size_t>(d), 0.0);
  std::vector<std::uint8_t> keep(static_cast<std::size_t>(d), 1);
  for (std::int64_t t = 0; t < dropped_count; ++t) {
    const std::int64_t q = order[t];
    v[q] = -w[q] / diagonal[q];
    keep[q] = 0;
  }
  std::vector<double> result = w;
  if (dropped_count > 0) {
    const std::vector<double> dw = engine.solve(v);
    for (std::int64_t j = 0; j < d; ++j) result[j] = keep[j] ? w[j] + dw[j] : 0.0;
  }
  checks::write_vector(result, pruned);
  checks::write_flags(keep, mask);
}

}  // namespace mlprims::mfac
