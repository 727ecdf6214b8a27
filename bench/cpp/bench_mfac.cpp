// Micro-benchmarks of M-FAC on the CPU: setup (Gram + Cholesky), the two-pass product, the refined
// product and a sliding-window step, for m float32 gradients of dimension d. Bytes processed count
// one read of G per pass.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "mlprims/core/tensor.hpp"
#include "mlprims/mfac.hpp"

namespace {

using mlprims::DType;
using mlprims::TensorView;
namespace mfac = mlprims::mfac;

constexpr double kDamp = 1e-5;

std::vector<float> gradients(std::int64_t m, std::int64_t d) {
  std::mt19937_64 generator(11);
  std::normal_distribution<float> normal;
  std::vector<float> g(static_cast<std::size_t>(m * d));
  for (float& value : g) value = normal(generator);
  return g;
}

void bm_setup(benchmark::State& state) {
  const std::int64_t m = state.range(0), d = state.range(1);
  const std::vector<float> g = gradients(m, d);
  const TensorView grads(g.data(), DType::kFloat32, {m, d});
  for (auto _ : state) benchmark::DoNotOptimize(mfac::FisherInverse(grads, kDamp));
  state.SetBytesProcessed(state.iterations() * m * d * 4);
}

void bm_ihvp(benchmark::State& state, bool refine) {
  const std::int64_t m = state.range(0), d = state.range(1);
  const std::vector<float> g = gradients(m, d);
  const mfac::FisherInverse finv(TensorView(g.data(), DType::kFloat32, {m, d}), kDamp);
  std::vector<float> y(static_cast<std::size_t>(d));
  const TensorView x(g.data(), DType::kFloat32, {d}), out(y.data(), DType::kFloat32, {d});  // x = g_1
  for (auto _ : state) benchmark::DoNotOptimize(finv.ihvp(x, out, refine));
  state.SetBytesProcessed(state.iterations() * 2 * m * d * 4);
}

void bm_sliding_step(benchmark::State& state) {
  const std::int64_t m = state.range(0), d = state.range(1);
  const std::vector<float> g = gradients(m + 1, d);
  mfac::SlidingFisherInverse window(d, m, kDamp, DType::kFloat32);
  for (std::int64_t i = 0; i < m; ++i) window.update(TensorView(g.data() + i * d, DType::kFloat32, {d}));
  std::vector<float> y(static_cast<std::size_t>(d));
  std::int64_t next = 0;
  for (auto _ : state) {
    const TensorView gradient(g.data() + (next++ % (m + 1)) * d, DType::kFloat32, {d});
    benchmark::DoNotOptimize(window.update_ihvp(gradient, TensorView(y.data(), DType::kFloat32, {d})));
  }
  state.SetBytesProcessed(state.iterations() * 2 * m * d * 4);
}

}  // namespace

BENCHMARK(bm_setup)->Args({64, 1 << 20})->Args({256, 1 << 20})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_ihvp, plain, false)->Args({64, 1 << 20})->Args({256, 1 << 20})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_ihvp, refined, true)->Args({64, 1 << 20})->Args({256, 1 << 20})->Unit(benchmark::kMillisecond);
BENCHMARK(bm_sliding_step)->Args({64, 1 << 20})->Args({256, 1 << 18})->Unit(benchmark::kMillisecond);
