#include "core/gaussian_sampler.hpp"

#include <array>
#include <cmath>

namespace mlprims::detail {
namespace {

// 128 layers of equal area under f(x) = exp(-x^2 / 2): the base layer (a rectangle of width
// x[0] = V / f(R) plus the tail beyond R) and 127 rectangles with right edges x[1] = R > x[2] >
// ... > x[127], x[128] = 0.
constexpr int kLayers = 128;
constexpr double kTailStart = 3.442619855899;       // R
constexpr double kLayerArea = 9.91256303526217e-3;  // V

struct ZigguratTables {
  std::array<double, kLayers + 1> edge{};     // x[i]
  std::array<double, kLayers> inner_ratio{};  // x[i + 1] / x[i]: below it, a sample is accepted at once

  ZigguratTables() {
    const auto density = [](double x) { return std::exp(-0.5 * x * x); };
    edge[0] = kLayerArea / density(kTailStart);
    edge[1] = kTailStart;
    for (int i = 2; i < kLayers; ++i) {
      edge[i] = std::sqrt(-2.0 * std::log(kLayerArea / edge[i - 1] + density(edge[i - 1])));
    }
    edge[kLayers] = 0.0;
    for (int i = 0; i < kLayers; ++i) inner_ratio[i] = edge[i + 1] / edge[i];
  }
};

const ZigguratTables& tables() {
  static const ZigguratTables instance;
  return instance;
}

}  // namespace

double GaussianSampler::operator()() {
  const ZigguratTables& t = tables();
  for (;;) {
    const std::uint64_t bits = next_bits();
    const int layer = static_cast<int>(bits & (kLayers - 1));
    const double u = 2.0 * (static_cast<double>(bits >> 11) * 0x1.0p-53) - 1.0;  // [-1, 1)
    if (std::abs(u) < t.inner_ratio[layer]) return u * t.edge[layer];
    if (layer == 0) return tail(u < 0.0);
    // The wedge between layers: accept x under the density, with a uniform between the
    // densities at the layer's two edges.
    const double x = u * t.edge[layer];
    const double outer = std::exp(-0.5 * (t.edge[layer] * t.edge[layer] - x * x));
    const double inner = std::exp(-0.5 * (t.edge[layer + 1] * t.edge[layer + 1] - x * x));
    if (inner + next_uniform() * (outer - inner) < 1.0) return x;
  }
}

double GaussianSampler::tail(bool negative) {
  // Marsaglia's tail method: x = R + e1 / R for exponentials e1, e2, accepted when 2 e2 > e1^2 / R^2.
  for (;;) {
    const double x = std::log(1.0 - next_uniform()) / kTailStart;  // -e1 / R, log of (0, 1]
    const double y = std::log(1.0 - next_uniform());               // -e2
    if (-2.0 * y >= x * x) return negative ? x - kTailStart : kTailStart - x;
  }
}

}  // namespace mlprims::detail
