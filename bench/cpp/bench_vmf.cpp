// Micro-benchmarks of the von Mises-Fisher fit and log-density (n x p data, float64).
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "mlprims/core/tensor.hpp"
#include "mlprims/vmf.hpp"

namespace {

using mlprims::DType;
using mlprims::TensorView;

std::vector<double> unit_rows(std::int64_t n, std::int64_t p) {
  std::mt19937_64 generator(7);
  std::normal_distribution<double> normal;
  std::vector<double> x(static_cast<std::size_t>(n * p));
  for (std::int64_t i = 0; i < n; ++i) {
    double norm = 0.0;
    for (std::int64_t j = 0; j < p; ++j) {
      x[i * p + j] = 1.0 + 0.1 * normal(generator);
      norm += x[i * p + j] * x[i * p + j];
    }
    for (std::int64_t j = 0; j < p; ++j) x[i * p + j] /= std::sqrt(norm);
  }
  return x;
}

void bm_fit(benchmark::State& state) {
  const std::int64_t n = 4096, p = state.range(0);
  std::vector<double> x = unit_rows(n, p), mu(p);
  const TensorView points(x.data(), DType::kFloat64, {n, p}), direction(mu.data(), DType::kFloat64, {p});
  for (auto _ : state) benchmark::DoNotOptimize(mlprims::vmf::fit(points, nullptr, direction));
  state.SetBytesProcessed(state.iterations() * n * p * 8);
}

void bm_log_prob(benchmark::State& state) {
  const std::int64_t n = 4096, p = state.range(0);
  std::vector<double> x = unit_rows(n, p), out(n);
  std::vector<double> mu(x.begin(), x.begin() + p);
  const TensorView points(x.data(), DType::kFloat64, {n, p});
  for (auto _ : state) {
    mlprims::vmf::log_prob(points, TensorView(mu.data(), DType::kFloat64, {p}), 100.0,
                           TensorView(out.data(), DType::kFloat64, {n}));
  }
  state.SetBytesProcessed(state.iterations() * n * p * 8);
}

void bm_kappa_mle(benchmark::State& state) {
  const std::int64_t p = state.range(0);
  const double rbar = mlprims::vmf::mean_resultant_length(0.5 * static_cast<double>(p), p);
  for (auto _ : state) benchmark::DoNotOptimize(mlprims::vmf::kappa_mle(rbar, p));
}

}  // namespace

BENCHMARK(bm_fit)->Arg(3)->Arg(768)->Arg(8192)->Unit(benchmark::kMicrosecond);
BENCHMARK(bm_log_prob)->Arg(3)->Arg(768)->Arg(8192)->Unit(benchmark::kMicrosecond);
BENCHMARK(bm_kappa_mle)->Arg(3)->Arg(768)->Arg(32768);
