// CUDA back end of mlprims/vmf.hpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/cuda_common.cuh"
#include "core/elementwise_cuda.cuh"
#include "core/vector_io.hpp"
#include "vmf/backend.hpp"
#include "vmf/math/vmf_math.hpp"

namespace mlprims::vmf::detail {
namespace {

using mlprims::detail::cuda_check;
using mlprims::detail::DeviceBuffer;
using mlprims::detail::load_as_double;
using mlprims::detail::stream_of;

struct NormalizerOp {
  NormalizerFunction function;
  double p;
  __device__ double operator()(const double* args) const {
    return function == NormalizerFunction::kLogNormalizer ? log_normalizer(args[0], p)
                                                          : mean_resultant_length(args[0], p);
  }
};

using MatrixView = mlprims::detail::MatrixReader;
MatrixView matrix_view(const TensorView& t) { return MatrixView::of(t); }

// Rows are ranked by |squared norm - 1| (NaN ranks highest) through one 64-bit key:
// the float bits of the deviation above the row index, so atomicMax finds the worst row.
__device__ unsigned long long row_key(double squared_norm, std::int64_t row) {
  const float deviation = isnan(squared_norm) ? INFINITY : static_cast<float>(fabs(squared_norm - 1.0));
  return (static_cast<unsigned long long>(__float_as_uint(deviation)) << 32) | static_cast<unsigned int>(row);
}

__device__ double warp_sum(double value) {
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_down_sync(0xffffffffu, value, offset);
  return value;
}

// One warp per row: out[i] = log_c + kappa * direction.X[i].
__global__ void log_prob_kernel(MatrixView x, std::int64_t n, std::int64_t p, const double* direction, double kappa,
                                double log_c, char* out, DType out_dtype, std::int64_t out_stride,
                                unsigned long long* worst) {
  const int lane = threadIdx.x % 32;
  const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * blockDim.x / 32;
  for (std::int64_t i = (blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x) / 32; i < n; i += warps) {
    double dot = 0.0, squared_norm = 0.0;
    for (std::int64_t j = lane; j < p; j += 32) {
      const double value = x(i, j);
      dot += value * direction[j];
      squared_norm += value * value;
    }
    dot = warp_sum(dot);
    squared_norm = warp_sum(squared_norm);
    if (lane == 0) {
      mlprims::detail::store_from_double(out, out_dtype, i * out_stride, log_c + kappa * dot);
      atomicMax(worst, row_key(squared_norm, i));
    }
  }
}

// One warp per row: squared norms, weight checks and the total weight.
__global__ void row_check_kernel(MatrixView x, std::int64_t n, std::int64_t p, MatrixView weights, bool weighted,
                                 unsigned long long* worst, unsigned long long* bad_weight, double* total) {
  const int lane = threadIdx.x % 32;
  const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * blockDim.x / 32;
  for (std::int64_t i = (blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x) / 32; i < n; i += warps) {
    const double weight = weighted ? weights(i, 0) : 1.0;
    if (!(weight >= 0.0 && isfinite(weight))) {
      if (lane == 0) atomicMin(bad_weight, static_cast<unsigned long long>(i));
      continue;
    }
    double squared_norm = 0.0;
    for (std::int64_t j = lane; j < p; j += 32) {
      const double value = x(i, j);
      squared_norm += value * value;
    }
    squared_norm = warp_sum(squared_norm);
    if (lane == 0) {
      atomicMax(worst, row_key(squared_norm, i));
      atomicAdd(total, weight);
    }
  }
}

// One thread per column and chunk of rows: sum[j] += w_i X[i, j] (bad weights skipped).
__global__ void column_sum_kernel(MatrixView x, std::int64_t n, std::int64_t p, MatrixView weights, bool weighted,
                                  std::int64_t rows_per_chunk, double* sum) {
  const std::int64_t j = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (j >= p) return;
  const std::int64_t first = blockIdx.y * rows_per_chunk;
  const std::int64_t last = first + rows_per_chunk < n ? first + rows_per_chunk : n;
  double partial = 0.0;
  for (std::int64_t i = first; i < last; ++i) {
    const double weight = weighted ? weights(i, 0) : 1.0;
    if (weight >= 0.0 && isfinite(weight)) partial += weight * x(i, j);
  }
  atomicAdd(&sum[j], partial);
}

// The worst row's index from its key, and its squared norm read back from X.
WorstRow decode_worst(unsigned long long key, const TensorView& X) {
  WorstRow worst;
  worst.index = static_cast<std::int64_t>(key & 0xffffffffull);
  TensorView row(static_cast<const char*>(X.data()) + worst.index * X.stride(0) * dtype_size(X.dtype()), X.dtype(),
                 {X.shape(1)}, {X.stride(1)}, X.device());
  row.set_stream(X.stream());
  worst.squared_norm = 0.0;
  for (double value : mlprims::detail::read_vector(row)) worst.squared_norm += value * value;
  return worst;
}

constexpr int kThreads = 256;

unsigned int warp_blocks(std::int64_t rows) { return mlprims::detail::blocks_for(rows * 32, kThreads); }

}  // namespace

void normalizer_cuda(NormalizerFunction function, const TensorView& kappa, double p, const TensorView& out) {
  mlprims::detail::run_elementwise_cuda<1>({&kappa}, out, NormalizerOp{function, p});
}

WorstRow log_prob_cuda(const TensorView& X, const std::vector<double>& direction, double kappa, double log_c,
                       const TensorView& out) {
  mlprims::detail::DeviceGuard guard(X);
  cudaStream_t stream = stream_of(out);
  const std::int64_t n = X.shape(0), p = X.shape(1);
  const DeviceBuffer<double> device_direction(p, X.device().index, stream);
  const DeviceBuffer<unsigned long long> worst(1, X.device().index, stream);
  worst.zero();
  device_direction.upload(direction.data(), p);
  log_prob_kernel<<<warp_blocks(n), kThreads, 0, stream>>>(matrix_view(X), n, p, device_direction.data(), kappa, log_c,
                                                           static_cast<char*>(out.data()), out.dtype(), out.stride(0),
                                                           worst.data());
  cuda_check(cudaGetLastError(), "log_prob: kernel launch");
  return decode_worst(worst.to_host()[0], X);
}

WeightedSum weighted_sum_cuda(const TensorView& X, const TensorView* weights) {
  mlprims::detail::DeviceGuard guard(X);
  cudaStream_t stream = stream_of(X);
  const std::int64_t n = X.shape(0), p = X.shape(1);
  // sums: the p column sums, then the total weight; keys: the worst row's, then the bad weight's index.
  const DeviceBuffer<double> sums(p + 1, X.device().index, stream);
  sums.zero();
  const unsigned long long none = std::numeric_limits<unsigned long long>::max();
  const std::vector<unsigned long long> initial_keys{0, none};
  const DeviceBuffer<unsigned long long> keys_device(2, X.device().index, stream);
  keys_device.upload(initial_keys.data(), 2);
  double* sum = sums.data();
  double* total = sum + p;
  unsigned long long* worst = keys_device.data();
  unsigned long long* bad_weight = worst + 1;
  const MatrixView weights_view = weights ? matrix_view(*weights) : MatrixView{};
  const bool weighted = weights != nullptr;
  row_check_kernel<<<warp_blocks(n), kThreads, 0, stream>>>(matrix_view(X), n, p, weights_view, weighted, worst,
                                                            bad_weight, total);
  cuda_check(cudaGetLastError(), "fit: kernel launch");
  // Chunks of rows along grid.y (at most 65535 of them).
  const std::int64_t rows_per_chunk = std::max<std::int64_t>(256, (n + 65534) / 65535);
  const dim3 grid(static_cast<unsigned int>((p + kThreads - 1) / kThreads),
                  static_cast<unsigned int>((n + rows_per_chunk - 1) / rows_per_chunk));
  column_sum_kernel<<<grid, kThreads, 0, stream>>>(matrix_view(X), n, p, weights_view, weighted, rows_per_chunk, sum);
  cuda_check(cudaGetLastError(), "fit: kernel launch");

  WeightedSum result;
  result.sum = sums.to_host();
  result.total_weight = result.sum.back();
  result.sum.pop_back();
  const std::vector<unsigned long long> keys = keys_device.to_host();
  result.bad_weight_index = keys[1] == none ? -1 : static_cast<std::int64_t>(keys[1]);
  result.worst_row = decode_worst(keys[0], X);
  return result;
}

}  // namespace mlprims::vmf::detail
