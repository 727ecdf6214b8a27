// CUDA engine for elementwise functions, the twin of core/elementwise_cpu.hpp: operands are
// broadcast over the output's shape (up to 8 dimensions after merging), read as double, and
// `Function` (a struct with a __device__ double operator()(const double* args)) is applied.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/broadcast.hpp"
#include "core/cuda_common.cuh"

namespace mlprims::detail {

constexpr int kMaxCudaDims = 8;

template <int N>
struct CudaOperands {
  int ndim;
  std::int64_t shape[kMaxCudaDims];
  std::int64_t strides[N + 1][kMaxCudaDims];  // inputs, then the output
  const char* inputs[N];
  DType input_dtypes[N];
  char* out;
  DType out_dtype;
};

template <int N, class Function>
__global__ void elementwise_kernel(CudaOperands<N> ops, std::int64_t total, Function function) {
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total; i += step) {
    std::int64_t offsets[N + 1] = {};
    std::int64_t rest = i;
    for (int d = ops.ndim - 1; d >= 0; --d) {
      const std::int64_t index = rest % ops.shape[d];
      rest /= ops.shape[d];
      for (int k = 0; k <= N; ++k) offsets[k] += index * ops.strides[k][d];
    }
    double args[N];
    for (int k = 0; k < N; ++k) args[k] = load_as_double(ops.inputs[k], ops.input_dtypes[k], offsets[k]);
    store_from_double(ops.out, ops.out_dtype, offsets[N], function(args));
  }
}

template <int N, class Function>
void run_elementwise_cuda(const std::array<const TensorView*, N>& inputs, const TensorView& out, Function function) {
  const std::int64_t total = out.numel();
  if (total == 0) return;
  DeviceGuard guard(out);
  Shape shape = out.shape();
  std::array<ElementwiseOperand, N + 1> aligned;
  for (int k = 0; k < N; ++k) aligned[k] = align_to_output(*inputs[k], shape);
  aligned[N] = align_to_output(out, shape);
  std::vector<ElementwiseOperand*> all;
  for (auto& op : aligned) all.push_back(&op);
  coalesce(shape, all);
  if (shape.size() > kMaxCudaDims) {
    throw ValueError("elementwise: more than 8 non-mergeable dimensions, got shape " + shape_str(out.shape()));
  }
  CudaOperands<N> ops{};
  ops.ndim = static_cast<int>(shape.size());
  for (int d = 0; d < ops.ndim; ++d) {
    ops.shape[d] = shape[d];
    for (int k = 0; k <= N; ++k) ops.strides[k][d] = aligned[k].strides[d];
  }
  for (int k = 0; k < N; ++k) {
    ops.inputs[k] = aligned[k].data;
    ops.input_dtypes[k] = aligned[k].dtype;
  }
  ops.out = aligned[N].data;
  ops.out_dtype = aligned[N].dtype;
  constexpr int kThreads = 256;
  elementwise_kernel<N><<<blocks_for(total, kThreads), kThreads, 0, stream_of(out)>>>(ops, total, function);
  cuda_check(cudaGetLastError(), "elementwise kernel launch");
}

}  // namespace mlprims::detail
