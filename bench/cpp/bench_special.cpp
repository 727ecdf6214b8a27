// Micro-benchmarks of log I_v(x) and log K_v(x) per region of (v, x), float64, through the
// public array API on 2^20 elements (threads: mlprims' setting; MLPRIMS_THREADS=1 by default
// here so that figures are per core).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <vector>

#include "mlprims/core/tensor.hpp"
#include "mlprims/core/threading.hpp"
#include "mlprims/special.hpp"

namespace {

using mlprims::DType;
using mlprims::TensorView;

struct Range {
  double v_low, v_high, x_low, x_high;
};

// Log-uniform (v, x) samples in a box; v_low = 0 draws v uniformly.
void fill(const Range& r, std::vector<double>& v, std::vector<double>& x) {
  std::mt19937_64 generator(42);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double a = unit(generator), b = unit(generator);
    v[i] = r.v_low == 0.0 ? r.v_high * a : r.v_low * std::pow(r.v_high / r.v_low, a);
    x[i] = r.x_low * std::pow(r.x_high / r.x_low, b);
  }
}

const Range kRanges[] = {
    {0.0, 17.0, 1e-3, 17.0},  // 0: near the origin (power series, Temme/quadrature)
    {0.0, 30.0, 1e3, 1e6},    // 1: large argument
    {1e2, 1e4, 1e2, 1e4},     // 2: uniform (Debye) with v ~ x
    {1e2, 1e5, 1e-3, 10.0},   // 3: large order, small argument
    {1e-2, 1e5, 1e-3, 1e6},   // 4: everything mixed
};

template <void (*F)(const TensorView&, const TensorView&, const TensorView&)>
void bm_bessel(benchmark::State& state) {
  static const bool threads_set = [] {
    const char* threads = std::getenv("MLPRIMS_THREADS");
    mlprims::set_num_threads(threads ? std::atoi(threads) : 1);
    return true;
  }();
  (void)threads_set;
  const std::int64_t n = 1 << 20;
  std::vector<double> v(n), x(n), out(n);
  fill(kRanges[state.range(0)], v, x);
  const TensorView tv(v.data(), DType::kFloat64, {n}), tx(x.data(), DType::kFloat64, {n}),
      to(out.data(), DType::kFloat64, {n});
  for (auto _ : state) {
    F(tv, tx, to);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}

}  // namespace

BENCHMARK_TEMPLATE(bm_bessel, mlprims::special::log_iv)->DenseRange(0, 4)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_bessel, mlprims::special::log_kv)->DenseRange(0, 4)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_bessel, mlprims::special::iv_ratio)->DenseRange(1, 4)->Unit(benchmark::kMillisecond);
