// Micro-benchmarks of the low-rank primitives on a decaying spectrum (a Gaussian W with column k
// scaled by k^-0.3, float32 like the models it compresses): truncated_svd per method, and the closed
// forms with row weights and with a Gram weight. Sizes are arguments: {m, n, rank}.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "mlprims/core/tensor.hpp"
#include "mlprims/lowrank.hpp"

namespace {

using mlprims::DType;
using mlprims::TensorView;
namespace lowrank = mlprims::lowrank;

// m x n row-major, entries of a Gaussian matrix scaled column by column by k^-0.3: a spectrum
// that decays like trained weight matrices' (bench/python/lowrank.py uses the same law).
std::vector<float> decaying_matrix(std::int64_t m, std::int64_t n) {
  std::mt19937_64 generator(3);
  std::normal_distribution<float> normal;
  std::vector<float> w(static_cast<std::size_t>(m * n));
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) w[i * n + j] = normal(generator) * std::pow(float(j + 1), -0.3f);
  }
  return w;
}

struct Outputs {
  std::vector<float> left, right, s;
  Outputs(std::int64_t m, std::int64_t n, std::int64_t rank)
      : left(static_cast<std::size_t>(m * rank)),
        right(static_cast<std::size_t>(rank * n)),
        s(static_cast<std::size_t>(rank)) {}
  TensorView left_view(std::int64_t m, std::int64_t rank) {
    return TensorView(left.data(), DType::kFloat32, {m, rank});
  }
  TensorView right_view(std::int64_t rank, std::int64_t n) {
    return TensorView(right.data(), DType::kFloat32, {rank, n});
  }
  TensorView s_view(std::int64_t rank) { return TensorView(s.data(), DType::kFloat32, {rank}); }
};

void bm_truncated_svd(benchmark::State& state, lowrank::SvdMethod method) {
  const std::int64_t m = state.range(0), n = state.range(1), rank = state.range(2);
  std::vector<float> w = decaying_matrix(m, n);
  Outputs out(m, n, rank);
  lowrank::SvdOptions options;
  options.method = method;
  const TensorView W(w.data(), DType::kFloat32, {m, n});
  double error = 0.0;
  for (auto _ : state) {
    error = lowrank::truncated_svd(W, rank, options, out.left_view(m, rank), out.right_view(rank, n), out.s_view(rank))
                .error;
  }
  state.counters["error"] = error;
}

void bm_row_weights(benchmark::State& state) {
  const std::int64_t m = state.range(0), n = state.range(1), rank = state.range(2);
  std::vector<float> w = decaying_matrix(m, n), rows(static_cast<std::size_t>(m));
  for (std::int64_t i = 0; i < m; ++i) rows[i] = 0.5f + float(i % 7) / 7.0f;
  Outputs out(m, n, rank);
  lowrank::Weights weights;
  weights.row_weights = TensorView(rows.data(), DType::kFloat32, {m});
  const TensorView W(w.data(), DType::kFloat32, {m, n});
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        lowrank::weighted_svd(W, rank, weights, {}, out.left_view(m, rank), out.right_view(rank, n), out.s_view(rank)));
  }
}

void bm_left_gram(benchmark::State& state) {
  const std::int64_t m = state.range(0), n = state.range(1), rank = state.range(2);
  std::vector<float> w = decaying_matrix(m, n);
  // An activation covariance X^T X / k of k = 2m Gaussian samples: well conditioned, dense.
  std::mt19937_64 generator(5);
  std::normal_distribution<double> normal;
  const std::int64_t k = 2 * m;
  std::vector<double> x(static_cast<std::size_t>(k * m));
  for (double& value : x) value = normal(generator);
  std::vector<float> gram(static_cast<std::size_t>(m * m));
  for (std::int64_t a = 0; a < m; ++a) {
    for (std::int64_t b = 0; b <= a; ++b) {
      double sum = 0.0;
      for (std::int64_t t = 0; t < k; ++t) sum += x[t * m + a] * x[t * m + b];
      gram[a * m + b] = gram[b * m + a] = static_cast<float>(sum / k);
    }
  }
  Outputs out(m, n, rank);
  lowrank::Weights weights;
  weights.left_gram = TensorView(gram.data(), DType::kFloat32, {m, m});
  const TensorView W(w.data(), DType::kFloat32, {m, n});
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        lowrank::weighted_svd(W, rank, weights, {}, out.left_view(m, rank), out.right_view(rank, n), out.s_view(rank)));
  }
}

}  // namespace

BENCHMARK_CAPTURE(bm_truncated_svd, auto, lowrank::SvdMethod::kAuto) -> Args({768, 3072, 64}) -> Args({1024, 1024, 256})
    -> Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_truncated_svd, exact, lowrank::SvdMethod::kExact)
    ->Args({768, 3072, 64})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_row_weights)->Args({768, 3072, 64})->Unit(benchmark::kMillisecond);
BENCHMARK(bm_left_gram)->Args({768, 3072, 64})->Unit(benchmark::kMillisecond);
