// The CUDA back end against the CPU one: same math, so the results must agree to a few ulps.
// Every test skips without a CUDA device.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <type_traits>
#include <vector>

#include "core/cuda_context.hpp"
#include "dense_ops_contract.hpp"
#include "linalg/backend.hpp"
#include "mlprims/core/build_info.hpp"
#include "mlprims/core/tensor.hpp"
#include "mlprims/lowrank.hpp"
#include "mlprims/special.hpp"
#include "mlprims/vmf.hpp"

using mlprims::Device;
using mlprims::DType;
using mlprims::TensorView;

namespace {

#define REQUIRE_GPU() \
  if (mlprims::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible"

// A device copy of host data on device 0, freed on scope exit.
template <class T>
class DeviceArray : public mlprims::detail::DeviceBuffer<T> {
 public:
  explicit DeviceArray(const std::vector<T>& host)
      : mlprims::detail::DeviceBuffer<T>(static_cast<std::int64_t>(host.size()), 0, nullptr) {
    this->upload(host.data(), this->count());
  }
};

// Bytes in use from device 0's stream-ordered pool (after the queued frees have run).
std::size_t pool_bytes_in_use() {
  cudaMemPool_t pool = nullptr;
  EXPECT_EQ(cudaDeviceGetDefaultMemPool(&pool, 0), cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::uint64_t used = 0;
  EXPECT_EQ(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &used), cudaSuccess);
  return static_cast<std::size_t>(used);
}

std::vector<double> log_uniform(std::size_t n, double low, double high, unsigned seed) {
  std::mt19937_64 generator(seed);
  std::uniform_real_distribution<double> unit(std::log10(low), std::log10(high));
  std::vector<double> values(n);
  for (double& value : values) value = std::pow(10.0, unit(generator));
  return values;
}

double guarded_error(double a, double b) {
  if (a == b) return 0.0;
  return std::fabs(a - b) / std::max(1.0, std::fabs(b));
}

}  // namespace

// ---- the contract of the shared CUDA core: buffers and contexts ----

TEST(CudaCore, BuffersAreFreedOnEveryPathIncludingExceptions) {
  REQUIRE_GPU();
  using mlprims::detail::DeviceBuffer;
  const std::size_t baseline = pool_bytes_in_use();
  try {
    DeviceBuffer<double> buffer(1 << 20, 0, nullptr);
    DeviceBuffer<double> moved(std::move(buffer));  // the moved-from buffer owns nothing
    EXPECT_TRUE(buffer.empty());
    DeviceBuffer<double> assigned(16, 0, nullptr);
    assigned = std::move(moved);  // frees the 16 doubles, takes the 1 MiWord
    EXPECT_EQ(assigned.count(), 1 << 20);
    EXPECT_GE(pool_bytes_in_use(), baseline + (std::size_t{1} << 23));
    throw std::runtime_error("unwinding");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(pool_bytes_in_use(), baseline);
}

TEST(CudaCore, BufferWorkIsOrderedOnItsStream) {
  REQUIRE_GPU();
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  {
    const mlprims::detail::CudaContext context(0, stream);
    const std::int64_t n = 1 << 22;
    const std::vector<float> ones(static_cast<std::size_t>(n), 1.0f);
    const auto buffer = context.upload(ones);
    EXPECT_EQ(buffer.stream(), stream);
    // Queued without waiting: the zeroing must land before the download on the same stream.
    buffer.zero();
    const std::vector<float> back = buffer.to_host();
    EXPECT_EQ(std::count(back.begin(), back.end(), 0.0f), n);
  }
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

TEST(CudaCore, ContextsLeaseDistinctHandlesAndReuseReleasedOnes) {
  REQUIRE_GPU();
  cublasHandle_t first_handle = nullptr;
  {
    const mlprims::detail::CudaContext first(0, nullptr), second(0, nullptr);
    first_handle = first.blas();
    EXPECT_NE(first_handle, nullptr);
    EXPECT_NE(first_handle, second.blas());  // one handle serves one context at a time
    EXPECT_NE(first.solver(), second.solver());
  }
  const mlprims::detail::CudaContext later(0, nullptr);
  const cublasHandle_t reused = later.blas();
  // Both went back to the pool (`second` first, `first` last); the pool hands out the last one
  // released instead of creating a new handle.
  EXPECT_EQ(reused, first_handle);
}

TEST(CudaCore, FollowMovesTheWorkToTheNewStreamAfterTheOld) {
  REQUIRE_GPU();
  cudaStream_t a = nullptr, b = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&a, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking), cudaSuccess);
  {
    mlprims::detail::CudaContext context(0, a);
    const std::int64_t n = 1 << 24;
    auto buffer = context.allocate<std::uint8_t>(n);
    ASSERT_EQ(cudaMemsetAsync(buffer.data(), 7, static_cast<std::size_t>(n), a), cudaSuccess);
    context.follow(b);
    buffer.set_stream(b);
    EXPECT_EQ(context.stream(), b);
    // Read on b: it sees the memset queued on a.
    const std::vector<std::uint8_t> back = buffer.to_host();
    EXPECT_EQ(std::count(back.begin(), back.end(), std::uint8_t{7}), n);
  }
  EXPECT_EQ(cudaStreamDestroy(a), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(b), cudaSuccess);
}

TEST(Cuda, BesselFunctionsMatchTheCpu) {
  REQUIRE_GPU();
  const std::int64_t n = 200000;
  std::vector<double> v = log_uniform(n, 1e-2, 1e5, 1), x = log_uniform(n, 1e-300, 1e9, 2);
  for (std::int64_t i = 0; i < n; i += 17) v[i] = 0.0;
  DeviceArray<double> dv(v), dx(x), dout{std::vector<double>(n)};
  const TensorView gv(dv.data(), DType::kFloat64, {n}, {}, Device::cuda()),
      gx(dx.data(), DType::kFloat64, {n}, {}, Device::cuda()),
      gout(dout.data(), DType::kFloat64, {n}, {}, Device::cuda());
  std::vector<double> cpu(n);
  const TensorView hv(v.data(), DType::kFloat64, {n}), hx(x.data(), DType::kFloat64, {n}),
      hout(cpu.data(), DType::kFloat64, {n});
  using Function = void (*)(const TensorView&, const TensorView&, const TensorView&);
  for (Function f : {static_cast<Function>(mlprims::special::log_iv), static_cast<Function>(mlprims::special::log_kv),
                     static_cast<Function>(mlprims::special::iv_ratio)}) {
    f(gv, gx, gout);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    f(hv, hx, hout);
    const std::vector<double> gpu = dout.to_host();
    double worst = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
      if (std::isnan(cpu[i])) {
        EXPECT_TRUE(std::isnan(gpu[i])) << i;
        continue;
      }
      worst = std::max(worst, guarded_error(gpu[i], cpu[i]));
    }
    EXPECT_LE(worst, 1e-14);
  }
}

TEST(Cuda, Float32AndBroadcasting) {
  REQUIRE_GPU();
  std::vector<float> v = {0.0f, 1.5f, 40.0f}, x = {0.5f, 2.0f, 30.0f, 900.0f};
  DeviceArray<float> dv(v), dx(x), dout{std::vector<float>(12)};
  mlprims::special::log_kv(TensorView(dv.data(), DType::kFloat32, {3, 1}, {}, Device::cuda()),
                           TensorView(dx.data(), DType::kFloat32, {4}, {}, Device::cuda()),
                           TensorView(dout.data(), DType::kFloat32, {3, 4}, {}, Device::cuda()));
  const std::vector<float> out = dout.to_host();
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) {
      EXPECT_FLOAT_EQ(out[i * 4 + j], static_cast<float>(mlprims::special::log_kv(v[i], x[j])));
    }
  }
}

TEST(Cuda, VonMisesFisherMatchesTheCpu) {
  REQUIRE_GPU();
  const std::int64_t n = 1000, p = 64;
  std::mt19937_64 generator(3);
  std::normal_distribution<double> normal;
  std::vector<double> X(n * p);
  for (std::int64_t i = 0; i < n; ++i) {
    double norm = 0.0;
    for (std::int64_t j = 0; j < p; ++j) norm += (X[i * p + j] = 1.0 + normal(generator)) * X[i * p + j];
    for (std::int64_t j = 0; j < p; ++j) X[i * p + j] /= std::sqrt(norm);
  }
  DeviceArray<double> dX(X), dmu{std::vector<double>(p)}, dout{std::vector<double>(n)};
  std::vector<double> mu(p), out(n);
  const auto gpu_fit = mlprims::vmf::fit(TensorView(dX.data(), DType::kFloat64, {n, p}, {}, Device::cuda()), nullptr,
                                         TensorView(dmu.data(), DType::kFloat64, {p}, {}, Device::cuda()));
  const auto cpu_fit = mlprims::vmf::fit(TensorView(X.data(), DType::kFloat64, {n, p}), nullptr,
                                         TensorView(mu.data(), DType::kFloat64, {p}));
  EXPECT_NEAR(gpu_fit.kappa / cpu_fit.kappa, 1.0, 1e-12);
  const std::vector<double> gpu_mu = dmu.to_host();
  for (std::int64_t j = 0; j < p; ++j) EXPECT_NEAR(gpu_mu[j], mu[j], 1e-13);
  mlprims::vmf::log_prob(TensorView(dX.data(), DType::kFloat64, {n, p}, {}, Device::cuda()),
                         TensorView(dmu.data(), DType::kFloat64, {p}, {}, Device::cuda()), cpu_fit.kappa,
                         TensorView(dout.data(), DType::kFloat64, {n}, {}, Device::cuda()));
  mlprims::vmf::log_prob(TensorView(X.data(), DType::kFloat64, {n, p}), TensorView(mu.data(), DType::kFloat64, {p}),
                         cpu_fit.kappa, TensorView(out.data(), DType::kFloat64, {n}));
  const std::vector<double> gpu_out = dout.to_host();
  for (std::int64_t i = 0; i < n; ++i) EXPECT_LE(guarded_error(gpu_out[i], out[i]), 1e-12) << i;
}

// ---- lowrank: the CUDA back end against the CPU path (the Python tests cover more cases) ----

template <class T>
struct LowrankRun {
  std::vector<T> left, right, s;
  mlprims::lowrank::LowRankResult result;
};

template <class T>
LowrankRun<T> run_lowrank(const std::vector<T>& w, std::int64_t m, std::int64_t n, std::int64_t rank,
                          const std::vector<double>& rows, mlprims::lowrank::SvdMethod method, bool on_gpu) {
  namespace lowrank = mlprims::lowrank;
  const DType dtype = std::is_same_v<T, double> ? DType::kFloat64 : DType::kFloat32;
  const mlprims::Device device = on_gpu ? mlprims::Device::cuda(0) : mlprims::Device::cpu();
  LowrankRun<T> out;
  out.left.assign(m * rank, T(0));
  out.right.assign(rank * n, T(0));
  out.s.assign(rank, T(0));
  DeviceArray<T> dw(w), dl(out.left), dr(out.right), ds(out.s);
  const auto view = [&](const std::vector<T>& host, const DeviceArray<T>& dev, mlprims::Shape shape) {
    return on_gpu ? TensorView(dev.data(), dtype, shape, {}, device)
                  : TensorView(const_cast<T*>(host.data()), dtype, shape);
  };
  lowrank::Weights weights;
  weights.row_weights = TensorView(rows.data(), DType::kFloat64, {m});  // CPU weights, also for a CUDA W
  lowrank::SvdOptions options;
  options.method = method;
  out.result = lowrank::weighted_svd(view(w, dw, {m, n}), rank, weights, options, view(out.left, dl, {m, rank}),
                                     view(out.right, dr, {rank, n}), view(out.s, ds, {rank}));
  if (on_gpu) {
    out.left = dl.to_host();
    out.right = dr.to_host();
    out.s = ds.to_host();
  }
  return out;
}

template <class T>
void expect_lowrank_agrees(double tolerance) {
  const std::int64_t m = 300, n = 500, rank = 20;
  std::mt19937_64 generator(5);
  std::normal_distribution<double> normal;
  std::vector<T> w(m * n);
  for (T& value : w) value = static_cast<T>(normal(generator));
  std::vector<double> rows = log_uniform(m, 0.1, 10.0, 6);
  rows[7] = 0.0;  // fitted without weights, by the same rule on both back ends
  using mlprims::lowrank::SvdMethod;
  const LowrankRun<T> cpu = run_lowrank(w, m, n, rank, rows, SvdMethod::kExact, false);
  for (SvdMethod method : {SvdMethod::kExact, SvdMethod::kKrylov, SvdMethod::kRandomized}) {
    const LowrankRun<T> gpu = run_lowrank(w, m, n, rank, rows, method, true);
    EXPECT_EQ(gpu.result.method, method);
    // Exact: the same numbers to rounding; the randomized methods: the same error to 1e-3.
    const double limit = method == SvdMethod::kExact ? tolerance : 1e-3;
    EXPECT_LE(guarded_error(gpu.result.error, cpu.result.error), limit);
    if (method != SvdMethod::kExact) continue;
    for (std::int64_t i = 0; i < rank; ++i) EXPECT_LE(guarded_error(gpu.s[i], cpu.s[i]), tolerance) << i;
    double worst = 0.0;  // || left right ||, elementwise, on both
    for (std::int64_t i = 0; i < m; i += 7) {
      for (std::int64_t j = 0; j < n; j += 11) {
        double a = 0.0, b = 0.0;
        for (std::int64_t k = 0; k < rank; ++k) {
          a += double(gpu.left[i * rank + k]) * double(gpu.right[k * n + j]);
          b += double(cpu.left[i * rank + k]) * double(cpu.right[k * n + j]);
        }
        worst = std::max(worst, std::fabs(a - b));
      }
    }
    EXPECT_LE(worst, 100 * tolerance);
  }
}

TEST(CudaLowrank, WeightedSvdMatchesTheCpuFloat64) {
  REQUIRE_GPU();
  expect_lowrank_agrees<double>(1e-10);
}

TEST(CudaLowrank, WeightedSvdMatchesTheCpuFloat32) {
  REQUIRE_GPU();
  expect_lowrank_agrees<float>(1e-4);
}

TEST(CudaLowrank, DenseOpsMeetTheContract) {
  REQUIRE_GPU();
  dense_ops_contract::check_all(*mlprims::linalg::make_cuda_dense_ops<double>(0, nullptr));
  dense_ops_contract::check_all(*mlprims::linalg::make_cuda_dense_ops<float>(0, nullptr));
}
