// CUDA runtime queries and small host<->device vector moves.
#include <vector>

#include "core/cuda_common.cuh"
#include "core/cuda_device.hpp"
#include "core/vector_io.hpp"

namespace mlprims::detail {

int cuda_runtime_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return count;
}

namespace {

__global__ void gather_to_double(const char* data, DType dtype, std::int64_t stride, std::int64_t n, double* out) {
  const std::int64_t j = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (j >= n) return;
  out[j] = load_as_double(data, dtype, j * stride);
}

__global__ void scatter_from_double(const double* values, std::int64_t n, char* data, DType dtype,
                                    std::int64_t stride) {
  const std::int64_t j = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (j >= n) return;
  store_from_double(data, dtype, j * stride, values[j]);
}

}  // namespace

std::vector<double> read_vector_cuda(const TensorView& t) {
  const std::int64_t n = t.shape(0);
  if (n == 0) return {};
  const DeviceGuard guard(t);
  const DeviceBuffer<double> buffer(n, t.device().index, stream_of(t));
  gather_to_double<<<blocks_for(n, 256), 256, 0, buffer.stream()>>>(static_cast<const char*>(t.data()), t.dtype(),
                                                                    t.stride(0), n, buffer.data());
  cuda_check(cudaGetLastError(), "read_vector: kernel launch");
  return buffer.to_host();
}

void write_vector_cuda(const std::vector<double>& values, const TensorView& out) {
  const auto n = static_cast<std::int64_t>(values.size());
  if (n == 0) return;
  const DeviceGuard guard(out);
  const DeviceBuffer<double> buffer(n, out.device().index, stream_of(out));
  buffer.upload(values.data(), n);
  scatter_from_double<<<blocks_for(n, 256), 256, 0, buffer.stream()>>>(buffer.data(), n, static_cast<char*>(out.data()),
                                                                       out.dtype(), out.stride(0));
  cuda_check(cudaGetLastError(), "write_vector: kernel launch");
}

// The two below copy strided 1-D arrays with a pitched copy (one element per "row"), no kernel.
std::vector<std::int64_t> read_indices_cuda(const TensorView& t) {
  DeviceGuard guard(t);
  const std::int64_t n = t.shape(0);
  std::vector<std::int64_t> values(static_cast<std::size_t>(n));
  if (n == 0) return values;
  cudaStream_t stream = stream_of(t);
  constexpr std::size_t element = sizeof(std::int64_t);
  cuda_check(cudaMemcpy2DAsync(values.data(), element, t.data(), static_cast<std::size_t>(t.stride(0)) * element,
                               element, static_cast<std::size_t>(n), cudaMemcpyDeviceToHost, stream),
             "read_indices: cudaMemcpy2DAsync");
  cuda_check(cudaStreamSynchronize(stream), "read_indices: cudaStreamSynchronize");
  return values;
}

void write_flags_cuda(const std::vector<std::uint8_t>& flags, const TensorView& out) {
  DeviceGuard guard(out);
  const std::int64_t n = out.shape(0);
  if (n == 0) return;
  cudaStream_t stream = stream_of(out);
  std::vector<std::uint8_t> normalized(flags.size());
  for (std::size_t j = 0; j < flags.size(); ++j) normalized[j] = flags[j] != 0 ? 1 : 0;
  cuda_check(cudaMemcpy2DAsync(out.data(), static_cast<std::size_t>(out.stride(0)), normalized.data(), 1, 1,
                               static_cast<std::size_t>(n), cudaMemcpyHostToDevice, stream),
             "write_flags: cudaMemcpy2DAsync");
  cuda_check(cudaStreamSynchronize(stream), "write_flags: cudaStreamSynchronize");
}

}  // namespace mlprims::detail
