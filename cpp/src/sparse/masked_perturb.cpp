// Seed-regenerated Gaussian perturbations of masked coordinates (MeZO, Sparse MeZO): z at a
// position is a pure function of (seed, position), so the four evaluations of a zeroth-order step
// and the update see the same z without storing it.
#include <cmath>
#include <string>

#include "core/checks.hpp"
#include "core/counter_random.hpp"
#include "core/float_elements.hpp"
#include "core/gaussian_sampler.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/sparse.hpp"
#include "sparse/argument_checks.hpp"
#include "sparse/masked_positions.hpp"

namespace mlprims::sparse {

double position_normal(std::uint64_t seed, std::int64_t position) {
  // The position's own SplitMix64 stream, from which the ziggurat draws (one draw 98.8% of the
  // time, rarely more): exact normals at a few ns each, independent across positions.
  mlprims::detail::GaussianSampler sampler(mlprims::detail::counter_bits(seed, static_cast<std::uint64_t>(position)));
  return sampler();
}

void masked_perturb(const TensorView& param, const Support& mask, std::uint64_t seed, double scale, double decay) {
  constexpr const char* kFunction = "sparse.masked_perturb_";
  detail::require_weights(param, {kFunction, "params"});
  mlprims::detail::require_writable(param, {kFunction, "params"});
  for (auto [name, value] : {std::pair{"scale", scale}, std::pair{"decay", decay}}) {
    if (!std::isfinite(value)) {
      throw ValueError(std::string(kFunction) + ": '" + name + "' must be finite, got " +
                       mlprims::detail::format_double(value));
    }
  }
  const detail::MaskedPositions positions(mask, param.numel(), {kFunction, "masks"});
  mlprims::detail::visit_float_type(param.dtype(), [&](auto tag) {
    using P = decltype(tag);
    P* w = param.data_as<P>();
    detail::update_each(
        w, positions,
        [&](double* weight, const std::int64_t* p, std::int64_t, int count) {
          for (int i = 0; i < count; ++i) weight[i] = decay * weight[i] + scale * position_normal(seed, p[i]);
        },
        std::int64_t{1} << 13);
  });
}

}  // namespace mlprims::sparse
