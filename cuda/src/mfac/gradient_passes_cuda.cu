// The CUDA implementation of GradientPasses (mfac/gradient_passes.hpp, mfac/backend.hpp): G stays on the GPU,
// Gram matrices come from cuBLAS syrk on gradients widened to double, and two custom kernels do
// the passes (projection G v, combination a + beta b - G^T c), accumulating in double. The small
// m x m systems are solved on the host by the shared solver; only m-sized data crosses PCIe in a
// product (the dense diagonal blocks of a block-diagonal F excepted, which are solved on the host).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/cuda_common.cuh"
#include "core/cuda_context.hpp"
#include "core/math/scaled_norm.hpp"
#include "linalg/cublas_calls.hpp"
#include "mfac/backend.hpp"
#include "mfac/gradient_passes.hpp"

namespace mlprims::mfac::detail {
namespace {

using mlprims::detail::blocks_for;
using mlprims::detail::cublas_check;
using mlprims::detail::cuda_check;
using mlprims::detail::CudaContext;
using mlprims::detail::DeviceBuffer;
using mlprims::detail::DeviceGuard;
using mlprims::linalg::blas_int;

constexpr int kThreads = 256;
constexpr std::int64_t kProjectSegment = 4096;  // columns per thread block of the projection
constexpr int kCombineColumns = 4;              // columns per thread of the combination
constexpr std::int64_t kCombineSegment = kThreads * kCombineColumns;
constexpr int kCoefficientTile = 64;  // rows of coefficients staged in shared memory

// A run of columns within one block, the unit of work of a thread block.
struct Segment {
  std::int64_t begin;
  std::int64_t end;
  int block;
};

struct DeviceRows {
  const char* data;
  std::int64_t row_stride;  // elements
  std::int64_t rows;
  std::int64_t cols;
};

template <class T>
__device__ inline double element(const DeviceRows& g, std::int64_t i, std::int64_t j) {
  return widen(reinterpret_cast<const T*>(g.data) + i * g.row_stride, j);
}

struct Add {
  __device__ double operator()(double a, double b) const { return a + b; }
};
struct Largest {  // fmax: a NaN never wins (the sums of squares carry it)
  __device__ double operator()(double a, double b) const { return fmax(a, b); }
};

// Reduces `count` per-thread values over the thread block with `op`; totals (shared memory) hold
// the results for every thread afterwards.
template <int kCount, class Op = Add>
__device__ void block_reduce(double (&values)[kCount], double* totals, Op op = Op()) {
  __shared__ double partial[kThreads / 32][kCount > 0 ? kCount : 1];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int c = 0; c < kCount; ++c) {
    double v = values[c];
    for (int offset = 16; offset > 0; offset /= 2) v = op(v, __shfl_down_sync(0xffffffffu, v, offset));
    if (lane == 0) partial[warp][c] = v;
  }
  __syncthreads();
  if (threadIdx.x < kCount) {
    double total = partial[0][threadIdx.x];
    for (int w = 1; w < kThreads / 32; ++w) total = op(total, partial[w][threadIdx.x]);
    totals[threadIdx.x] = total;
  }
  __syncthreads();
}

template <int kCount>
__device__ void block_sums(double (&values)[kCount], double* totals) {
  block_reduce<kCount, Add>(values, totals);
}

// Norms without overflow or underflow for finite values: each thread block writes, per row, the
// pair (unit, sum of (x / unit)^2) with unit the power of two just above the block's largest |x|
// (partials[2 (row_block) + {0, 1}]); the host merges the pairs (merge_norm_partials).
// `largest` holds the thread's largest magnitude per row on entry; values(c, row) gives the
// thread's values again for the second pass.
template <int kCount, class Values>
__device__ void write_norm_partials(double (&largest)[kCount], int per_thread, Values values, double* partials,
                                    std::int64_t first_row_block) {
  __shared__ double units[kCount > 0 ? kCount : 1];
  block_reduce<kCount, Largest>(largest, units);
  double scales[kCount];
  double sums[kCount];
  for (int r = 0; r < kCount; ++r) {
    scales[r] = mlprims::detail::normalizing_power_of_two(units[r]);
    sums[r] = 0.0;
  }
  for (int c = 0; c < per_thread; ++c) {
    for (int r = 0; r < kCount; ++r) {
      const double scaled = scales[r] * values(c, r);
      sums[r] += scaled * scaled;
    }
  }
  __shared__ double totals[kCount > 0 ? kCount : 1];
  block_sums<kCount>(sums, totals);
  if (threadIdx.x < kCount) {
    partials[2 * (first_row_block + threadIdx.x)] = 1.0 / scales[threadIdx.x];
    partials[2 * (first_row_block + threadIdx.x) + 1] = totals[threadIdx.x];
  }
}

// q[(segment.block * K + r) * m + i] += sum over the segment's columns j of G[i, j] v[r, j], for
// kRows rows from blockIdx.y * kRows.
template <class T, int K, int kRows>
__global__ void project_kernel(DeviceRows g, const Segment* segments, const double* v, double* q) {
  const Segment s = segments[blockIdx.x];
  const std::int64_t first = static_cast<std::int64_t>(blockIdx.y) * kRows;
  const int rows = static_cast<int>(min(static_cast<std::int64_t>(kRows), g.rows - first));
  double acc[kRows * K];
  for (int c = 0; c < kRows * K; ++c) acc[c] = 0.0;
  for (std::int64_t j = s.begin + threadIdx.x; j < s.end; j += blockDim.x) {
    double x[K];
    for (int r = 0; r < K; ++r) x[r] = v[r * g.cols + j];
    for (int row = 0; row < kRows; ++row) {
      if (row >= rows) break;
      const double value = element<T>(g, first + row, j);
      for (int r = 0; r < K; ++r) acc[row * K + r] += value * x[r];
    }
  }
  __shared__ double totals[kRows * K];
  block_sums<kRows * K>(acc, totals);
  if (threadIdx.x < kRows * K) {
    const int row = threadIdx.x / K, r = threadIdx.x % K;
    if (row < rows)
      atomicAdd(&q[(static_cast<std::int64_t>(s.block) * K + r) * g.rows + first + row], totals[threadIdx.x]);
  }
}

struct CombineArguments {
  const double* a;
  const double* b;
  double b_scale;
  const double* coefficients;  // device, blocks x K x m, or nullptr
  double out_scale;
  bool accumulate;
  double* out;
  double* norm_partials;  // device, segments x 2K (unit, sum of squares) pairs, or nullptr
};

// out = out_scale (a + b_scale b - G_b^T c_b) (+ out) on the segment's columns, kCombineColumns
// per thread; the norms of out's and b's rows over these columns go to norm_partials.
template <class T, int K>
__global__ void combine_kernel(DeviceRows g, const Segment* segments, CombineArguments p) {
  const Segment s = segments[blockIdx.x];
  const std::int64_t d = g.cols, m = g.rows;
  double acc[kCombineColumns * K];
  for (int c = 0; c < kCombineColumns * K; ++c) acc[c] = 0.0;
  __shared__ double tile[K][kCoefficientTile];
  if (p.coefficients != nullptr) {
    const double* c_block = p.coefficients + static_cast<std::int64_t>(s.block) * K * m;
    for (std::int64_t i0 = 0; i0 < m; i0 += kCoefficientTile) {
      const int tile_rows = static_cast<int>(min(static_cast<std::int64_t>(kCoefficientTile), m - i0));
      __syncthreads();
      for (int t = threadIdx.x; t < K * tile_rows; t += blockDim.x)
        tile[t / tile_rows][t % tile_rows] = c_block[(t / tile_rows) * m + i0 + t % tile_rows];
      __syncthreads();
      for (int c = 0; c < kCombineColumns; ++c) {
        const std::int64_t j = s.begin + threadIdx.x + static_cast<std::int64_t>(c) * blockDim.x;
        if (j >= s.end) break;
        for (int i = 0; i < tile_rows; ++i) {
          const double value = element<T>(g, i0 + i, j);
          for (int r = 0; r < K; ++r) acc[c * K + r] += tile[r][i] * value;
        }
      }
    }
  }
  double largest[2 * K];
  for (int c = 0; c < 2 * K; ++c) largest[c] = 0.0;
  for (int c = 0; c < kCombineColumns; ++c) {
    const std::int64_t j = s.begin + threadIdx.x + static_cast<std::int64_t>(c) * blockDim.x;
    for (int r = 0; r < K; ++r) {
      if (j >= s.end) {
        acc[c * K + r] = 0.0;  // no column: contributes nothing to the norms
        continue;
      }
      const std::int64_t at = r * d + j;
      double value = p.a[at];
      if (p.b != nullptr) value += p.b_scale * p.b[at];
      value = (value - acc[c * K + r]) * p.out_scale;
      if (p.accumulate) value += p.out[at];
      p.out[at] = value;
      acc[c * K + r] = value;
      largest[r] = fmax(largest[r], fabs(value));
      if (p.b != nullptr) largest[K + r] = fmax(largest[K + r], fabs(p.b[at]));
    }
  }
  if (p.norm_partials == nullptr) return;  // the same for the whole block
  const auto values = [&](int c, int row) {
    if (row < K) return acc[c * K + row];
    const std::int64_t j = s.begin + threadIdx.x + static_cast<std::int64_t>(c) * blockDim.x;
    return p.b != nullptr && j < s.end ? p.b[(row - K) * d + j] : 0.0;
  };
  write_norm_partials<2 * K>(largest, kCombineColumns, values, p.norm_partials,
                             static_cast<std::int64_t>(blockIdx.x) * 2 * K);
}

// out (row-major rows x width) = G[:, begin:end) as double; flags non-finite values.
template <class T>
__global__ void widen_kernel(DeviceRows g, std::int64_t begin, std::int64_t width, double* out, int* nonfinite) {
  const std::int64_t n = g.rows * width;
  for (std::int64_t t = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; t < n;
       t += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = t / width, c = t % width;
    const double value = element<T>(g, i, begin + c);
    out[t] = value;
    if (!isfinite(value)) *nonfinite = 1;
  }
}

// out[c] = sum_i w[c + i * rows] y[c + i * rows] (rows x n column-major matrices).
__global__ void row_dots_kernel(const double* w, const double* y, std::int64_t rows, std::int64_t n, double* out) {
  for (std::int64_t c = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; c < rows;
       c += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    double sum = 0.0;
    for (std::int64_t i = 0; i < n; ++i) sum += w[c + i * rows] * y[c + i * rows];
    out[c] = sum;
  }
}

template <class T>
__global__ void gather_columns_kernel(DeviceRows g, const std::int64_t* columns, std::int64_t count, double* out) {
  const std::int64_t n = count * g.rows;
  for (std::int64_t t = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; t < n;
       t += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t column = t / g.rows, i = t % g.rows;
    out[t] = element<T>(g, i, columns[column]);
  }
}

// Norm partials (write_norm_partials) of row blockIdx.y of v (k x d) over this block's columns:
// partials[2 (blockIdx.y gridDim.x + blockIdx.x) + {0, 1}].
__global__ void norms_kernel(const double* v, std::int64_t d, double* partials) {
  const double* row = v + blockIdx.y * d;
  const std::int64_t first = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  double largest[1] = {0.0};
  int count = 0;
  for (std::int64_t j = first; j < d; j += step, ++count) largest[0] = fmax(largest[0], fabs(row[j]));
  const auto values = [&](int c, int) { return row[first + c * step]; };
  write_norm_partials<1>(largest, count, values, partials,
                         static_cast<std::int64_t>(blockIdx.y) * gridDim.x + blockIdx.x);
}

// norms[r] (host) = the norm from the pairs of row r, rows x blocks pairs laid out row_block-wise
// as written by write_norm_partials: pair (row, block) at (block * rows + row) when `blocks_outer`,
// else at (row * blocks + block).
void merge_norm_partials(const std::vector<double>& pairs, std::int64_t rows, std::int64_t blocks, bool blocks_outer,
                         double* norms) {
  for (std::int64_t r = 0; r < rows; ++r) {
    mlprims::detail::ScaledSumOfSquares total;
    for (std::int64_t b = 0; b < blocks; ++b) {
      const std::int64_t at = 2 * (blocks_outer ? b * rows + r : r * blocks + b);
      total.merge(mlprims::detail::ScaledSumOfSquares::from_parts(pairs[at], pairs[at + 1]));
    }
    norms[r] = total.norm();
  }
}

// Rows [first, first + k) of a (d,) or (rows, d) float32/float64 view <-> k x d doubles.
struct StridedView {
  char* data;
  DType dtype;
  std::int64_t row_stride;
  std::int64_t column_stride;
};

__global__ void load_kernel(StridedView x, std::int64_t first, std::int64_t k, std::int64_t d, double* to) {
  for (std::int64_t t = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; t < k * d;
       t += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t r = t / d, j = t % d;
    to[t] = mlprims::detail::load_as_double(x.data, x.dtype, (first + r) * x.row_stride + j * x.column_stride);
  }
}

__global__ void store_kernel(const double* from, std::int64_t first, std::int64_t k, std::int64_t d, StridedView out) {
  for (std::int64_t t = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; t < k * d;
       t += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t r = t / d, j = t % d;
    mlprims::detail::store_from_double(out.data, out.dtype, (first + r) * out.row_stride + j * out.column_stride,
                                       from[t]);
  }
}

__global__ void store_row_kernel(const double* from, std::int64_t d, DType dtype, char* row) {
  for (std::int64_t j = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; j < d;
       j += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    if (dtype == DType::kFloat64) {
      reinterpret_cast<double*>(row)[j] = from[j];
    } else if (dtype == DType::kFloat32) {
      reinterpret_cast<float*>(row)[j] = double_to_float(from[j]);
    } else {
      reinterpret_cast<std::uint16_t*>(row)[j] = double_to_bfloat16(from[j]);
    }
  }
}

template <class T>
__global__ void widen_row_kernel(const char* row, std::int64_t d, double* to) {
  for (std::int64_t j = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; j < d;
       j += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    to[j] = widen(reinterpret_cast<const T*>(row), j);
  }
}

// Calls f(std::integral_constant<int, K>{}) for K = k, 1..8 (WoodburySolver passes at most 8).
template <class F>
void with_rhs_count(int k, F&& f) {
  switch (k) {
    case 1:
      return f(std::integral_constant<int, 1>{});
    case 2:
      return f(std::integral_constant<int, 2>{});
    case 3:
      return f(std::integral_constant<int, 3>{});
    case 4:
      return f(std::integral_constant<int, 4>{});
    case 5:
      return f(std::integral_constant<int, 5>{});
    case 6:
      return f(std::integral_constant<int, 6>{});
    case 7:
      return f(std::integral_constant<int, 7>{});
    case 8:
      return f(std::integral_constant<int, 8>{});
    default:
      throw Error("M-FAC CUDA: at most 8 right-hand sides per pass (internal error)");
  }
}

class CudaPasses final : public GradientPasses {
 public:
  // Over gradients in the caller's GPU memory (stream: the caller's, for all work).
  CudaPasses(const GradientRows& g, const Device& device, cudaStream_t stream)
      : GradientPasses(g), context_(device.index, stream) {}

  // Over an owned, zeroed window buffer. The window follows its callers' streams (load()).
  CudaPasses(std::int64_t window, std::int64_t dim, DType dtype, const Device& device)
      : GradientPasses(GradientRows{}), context_(device.index, nullptr), follows_callers_(true) {
    storage_ = context_.zeros<char>(window * dim * static_cast<std::int64_t>(dtype_size(dtype)));
    g_ = GradientRows::window(storage_.data(), dtype, dim);
  }

  void project(Select select, int k, const double* v, double* q) const override {
    const DeviceGuard guard(context_.device());
    const std::int64_t m = g_.rows;
    const std::size_t size = blocks_.size() * static_cast<std::size_t>(k * m);
    const std::vector<Segment>& segments = segments_for(select, kProjectSegment);
    if (segments.empty() || m == 0) return;
    const VectorBuffer q_device = allocate(static_cast<std::int64_t>(size));
    cuda_check(cudaMemsetAsync(q_device.data(), 0, size * sizeof(double), context_.stream()),
               "project: cudaMemsetAsync");
    launch_project(select, k, v, q_device.data());
    std::vector<double> host(size);
    download(q_device.data(), host.data(), static_cast<std::int64_t>(size));
    for (std::size_t i = 0; i < size; ++i) q[i] += host[i];
  }

  void combine(const Combination& c) const override {
    const DeviceGuard guard(context_.device());
    const std::int64_t m = g_.rows;
    const std::vector<Segment>& segments = segments_for(c.select, kCombineSegment);
    if (c.norms != nullptr) std::fill(c.norms, c.norms + 2 * c.k, 0.0);
    if (segments.empty()) return;
    VectorBuffer coefficients, norm_partials;
    CombineArguments p{c.a, c.b, c.b_scale, nullptr, c.out_scale, c.accumulate, c.out, nullptr};
    if (c.coefficients != nullptr && m > 0) {
      const auto size = static_cast<std::int64_t>(blocks_.size()) * c.k * m;
      coefficients = allocate(size);
      upload(c.coefficients, coefficients.data(), size);
      p.coefficients = coefficients.data();
    }
    const auto pair_count = static_cast<std::int64_t>(segments.size()) * 2 * c.k;
    if (c.norms != nullptr) {
      norm_partials = allocate(2 * pair_count);
      p.norm_partials = norm_partials.data();
    }
    const DeviceSegments& device_segments = device_segments_for(c.select, kCombineSegment);
    with_storage_type(g_.dtype, [&](auto tag) {
      using T = typename decltype(tag)::type;
      with_rhs_count(c.k, [&](auto count) {
        constexpr int K = decltype(count)::value;
        combine_kernel<T, K><<<static_cast<unsigned int>(segments.size()), kThreads, 0, context_.stream()>>>(
            rows_view(), device_segments.data(), p);
      });
    });
    cuda_check(cudaGetLastError(), "combine: kernel launch");
    if (c.out_projection != nullptr) project(c.select, c.k, c.out, c.out_projection);
    if (c.norms != nullptr) {
      std::vector<double> pairs(static_cast<std::size_t>(2 * pair_count));
      download(norm_partials.data(), pairs.data(), 2 * pair_count);
      merge_norm_partials(pairs, 2 * c.k, static_cast<std::int64_t>(segments.size()), true, c.norms);
    }
  }

  bool gram(const BlockRange& block, double* out) const override {
    const DeviceGuard guard(context_.device());
    const std::int64_t m = g_.rows;
    const std::int64_t n = block.dense ? block.width() : m;
    const VectorBuffer result = allocate(n * n);
    cuda_check(cudaMemsetAsync(result.data(), 0, n * n * sizeof(double), context_.stream()), "gram: cudaMemsetAsync");
    const DeviceBuffer<int> nonfinite = context_.zeros<int>(1);
    // Chunks of at most 2^25 widened values (256 MB).
    const std::int64_t chunk =
        block.dense ? block.width()
                    : std::max<std::int64_t>(1024, (std::int64_t{1} << 25) / std::max<std::int64_t>(m, 1));
    const VectorBuffer columns = allocate(m * std::min(chunk, block.width()));
    const double one = 1.0;
    for (std::int64_t begin = block.begin; begin < block.end; begin += chunk) {
      const std::int64_t width = std::min(chunk, block.end - begin);
      widen(begin, width, columns.data(), nonfinite.data());
      // The widened chunk is row-major m x width, i.e. column-major A = (width x m) with ld width.
      if (block.dense) {
        // G_b^T G_b = A A^T (width x width).
        cublas_check(cublasDsyrk(context_.blas(), CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, blas_int(n, "gram: n"),
                                 blas_int(m, "gram: m"), &one, columns.data(), blas_int(width, "gram: width"), &one,
                                 result.data(), blas_int(n, "gram: n")),
                     "gram: cublasDsyrk");
      } else {
        // G_b G_b^T = A^T A (m x m).
        cublas_check(cublasDsyrk(context_.blas(), CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, blas_int(m, "gram: m"),
                                 blas_int(width, "gram: width"), &one, columns.data(), blas_int(width, "gram: width"),
                                 &one, result.data(), blas_int(n, "gram: n")),
                     "gram: cublasDsyrk");
      }
    }
    download(result.data(), out, n * n);
    return nonfinite.to_host()[0] == 0;
  }

  void woodbury_quadratic(const BlockRange& block, const SymmetricFactor& factor, double* out) const override {
    const DeviceGuard guard(context_.device());
    const std::int64_t m = g_.rows;
    // With K = L L^T: g^T K^{-1} g = ||L^{-1} g||^2 (triangular solve); after the LDL^T fallback,
    // g^T K^{-1} g from the explicit inverse.
    std::vector<double> matrix(static_cast<std::size_t>(m * m));
    if (factor.cholesky) {
      std::copy(factor.data, factor.data + m * m, matrix.begin());
    } else {
      invert(factor, matrix.data());
      for (std::int64_t j = 0; j < m; ++j) {
        for (std::int64_t i = 0; i < j; ++i) matrix[j * m + i] = matrix[i * m + j];  // both triangles
      }
    }
    const VectorBuffer device_matrix = allocate(m * m);
    upload(matrix.data(), device_matrix.data(), m * m);
    const std::int64_t chunk = std::max<std::int64_t>(1024, (std::int64_t{1} << 24) / std::max<std::int64_t>(m, 1));
    const std::int64_t most = std::min(chunk, block.width());
    const VectorBuffer columns = allocate(m * most), solved = allocate(factor.cholesky ? 1 : m * most);
    const VectorBuffer results = allocate(most);
    const DeviceBuffer<int> unused_flag = context_.zeros<int>(1);  // widen_kernel's, not needed here
    const double one = 1.0, zero = 0.0;
    for (std::int64_t begin = block.begin; begin < block.end; begin += chunk) {
      const std::int64_t width = std::min(chunk, block.end - begin);
      widen(begin, width, columns.data(), unused_flag.data());  // column-major W = (width x m), ld width
      const double* right = columns.data();
      if (factor.cholesky) {
        // W <- W L^{-T}: row c becomes (L^{-1} g_c)^T.
        cublas_check(
            cublasDtrsm(context_.blas(), CUBLAS_SIDE_RIGHT, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, CUBLAS_DIAG_NON_UNIT,
                        blas_int(width, "diagonal: width"), blas_int(m, "diagonal: m"), &one, device_matrix.data(),
                        blas_int(m, "diagonal: m"), columns.data(), blas_int(width, "diagonal: width")),
            "diagonal: cublasDtrsm");
      } else {
        // Y = W K^{-1}: row c becomes (K^{-1} g_c)^T.
        cublas_check(
            cublasDsymm(context_.blas(), CUBLAS_SIDE_RIGHT, CUBLAS_FILL_MODE_LOWER, blas_int(width, "diagonal: width"),
                        blas_int(m, "diagonal: m"), &one, device_matrix.data(), blas_int(m, "diagonal: m"),
                        columns.data(), blas_int(width, "diagonal: width"), &zero, solved.data(),
                        blas_int(width, "diagonal: width")),
            "diagonal: cublasDsymm");
        right = solved.data();
      }
      row_dots_kernel<<<blocks_for(width, kThreads), kThreads, 0, context_.stream()>>>(columns.data(), right, width, m,
                                                                                       results.data());
      cuda_check(cudaGetLastError(), "diagonal: kernel launch");
      download(results.data(), out + (begin - block.begin), width);
    }
  }

  std::vector<double> gather_columns(const std::vector<std::int64_t>& columns) const override {
    const DeviceGuard guard(context_.device());
    const std::int64_t m = g_.rows;
    const auto count = static_cast<std::int64_t>(columns.size());
    std::vector<double> values(static_cast<std::size_t>(count * m));
    if (count == 0 || m == 0) return values;
    const DeviceBuffer<std::int64_t> indices = context_.upload(columns);
    const VectorBuffer gathered = allocate(count * m);
    with_storage_type(g_.dtype, [&](auto tag) {
      using T = typename decltype(tag)::type;
      gather_columns_kernel<T><<<blocks_for(count * m, kThreads), kThreads, 0, context_.stream()>>>(
          rows_view(), indices.data(), count, gathered.data());
    });
    cuda_check(cudaGetLastError(), "entries: kernel launch");
    download(gathered.data(), values.data(), count * m);
    return values;
  }

  // Stream-ordered, freed on the stream current at release: the buffers may outlive this object's
  // derived part (the base class's cache goes last), so the free reads a shared copy of the stream.
  VectorBuffer allocate_memory(std::int64_t count) const override {
    auto* p = static_cast<double*>(mlprims::detail::device_allocate(static_cast<std::size_t>(count) * sizeof(double),
                                                                    context_.device(), context_.stream()));
    const int device = context_.device();
    return VectorBuffer(
        p, [device, stream = current_stream_](double* data) { mlprims::detail::device_free(data, device, *stream); },
        count);
  }

  void copy(const double* from, double* to, std::int64_t count) const override {
    const DeviceGuard guard(context_.device());
    cuda_check(cudaMemcpyAsync(to, from, count * sizeof(double), cudaMemcpyDeviceToDevice, context_.stream()),
               "M-FAC: cudaMemcpyAsync");
  }

  void download(const double* from, double* host, std::int64_t count) const override {
    const DeviceGuard guard(context_.device());
    cuda_check(cudaMemcpyAsync(host, from, count * sizeof(double), cudaMemcpyDeviceToHost, context_.stream()),
               "M-FAC: cudaMemcpyAsync");
    cuda_check(cudaStreamSynchronize(context_.stream()), "M-FAC: cudaStreamSynchronize");
  }

  void upload(const double* host, double* to, std::int64_t count) const override {
    const DeviceGuard guard(context_.device());
    cuda_check(cudaMemcpyAsync(to, host, count * sizeof(double), cudaMemcpyHostToDevice, context_.stream()),
               "M-FAC: cudaMemcpyAsync");
    // `host` is pageable and may be reused by the caller at once.
    cuda_check(cudaStreamSynchronize(context_.stream()), "M-FAC: cudaStreamSynchronize");
  }

  void norms(const double* v, int k, double* out) const override {
    const DeviceGuard guard(context_.device());
    const dim3 grid(std::min<unsigned int>(blocks_for(g_.cols, kThreads), 1024), static_cast<unsigned int>(k));
    const std::int64_t pair_count = static_cast<std::int64_t>(grid.x) * k;
    const VectorBuffer partials = allocate(2 * pair_count);
    norms_kernel<<<grid, kThreads, 0, context_.stream()>>>(v, g_.cols, partials.data());
    cuda_check(cudaGetLastError(), "M-FAC: kernel launch");
    std::vector<double> pairs(static_cast<std::size_t>(2 * pair_count));
    download(partials.data(), pairs.data(), 2 * pair_count);
    merge_norm_partials(pairs, k, grid.x, false, out);
  }

  void load(const TensorView& x, std::int64_t first, int k, double* to) const override {
    const DeviceGuard guard(context_.device());
    if (follows_callers_) {
      follow(static_cast<cudaStream_t>(x.stream()));
    } else {
      context_.wait_for(static_cast<cudaStream_t>(x.stream()));
    }
    const std::int64_t d = g_.cols;
    load_kernel<<<blocks_for(k * d, kThreads), kThreads, 0, context_.stream()>>>(view_of(x), first, k, d, to);
    cuda_check(cudaGetLastError(), "M-FAC: kernel launch");
  }

  void store(const double* from, std::int64_t first, int k, const TensorView& out) const override {
    const DeviceGuard guard(context_.device());
    const std::int64_t d = g_.cols;
    store_kernel<<<blocks_for(k * d, kThreads), kThreads, 0, context_.stream()>>>(from, first, k, d, view_of(out));
    cuda_check(cudaGetLastError(), "M-FAC: kernel launch");
    // The result is complete before the caller's stream goes on.
    cuda_check(cudaStreamSynchronize(context_.stream()), "M-FAC: cudaStreamSynchronize");
  }

  void store_row(std::int64_t slot, const double* from) override {
    const DeviceGuard guard(context_.device());
    char* row = storage_.data() + static_cast<std::size_t>(slot * g_.cols) * dtype_size(g_.dtype);
    store_row_kernel<<<blocks_for(g_.cols, kThreads), kThreads, 0, context_.stream()>>>(from, g_.cols, g_.dtype, row);
    cuda_check(cudaGetLastError(), "M-FAC: kernel launch");
  }

  void widen_row(std::int64_t slot, double* to) const override {
    const DeviceGuard guard(context_.device());
    const char* row = storage_.data() + static_cast<std::size_t>(slot * g_.cols) * dtype_size(g_.dtype);
    with_storage_type(g_.dtype, [&](auto tag) {
      using T = typename decltype(tag)::type;
      widen_row_kernel<T><<<blocks_for(g_.cols, kThreads), kThreads, 0, context_.stream()>>>(row, g_.cols, to);
    });
    cuda_check(cudaGetLastError(), "M-FAC: kernel launch");
  }

 private:
  using DeviceSegments = DeviceBuffer<Segment>;

  // The window's work moves to the caller's stream, after what it queued on the previous one;
  // its own buffers are then freed in order there. Gradient views (FisherInverse) keep the stream
  // they were built on and only wait for their inputs' streams: they may serve several threads.
  void follow(cudaStream_t stream) const {
    if (stream == context_.stream()) return;
    context_.follow(stream);
    *current_stream_ = stream;
    storage_.set_stream(stream);
    for (auto& [key, segments] : device_segments_) segments.set_stream(stream);
  }

  DeviceRows rows_view() const { return DeviceRows{g_.data, g_.row_stride, g_.rows, g_.cols}; }

  static StridedView view_of(const TensorView& t) {
    return StridedView{static_cast<char*>(t.data()), t.dtype(), t.ndim() == 1 ? 0 : t.stride(0),
                       t.stride(t.ndim() - 1)};
  }

  void widen(std::int64_t begin, std::int64_t width, double* out, int* flag) const {
    with_storage_type(g_.dtype, [&](auto tag) {
      using T = typename decltype(tag)::type;
      widen_kernel<T><<<blocks_for(g_.rows * width, kThreads), kThreads, 0, context_.stream()>>>(rows_view(), begin,
                                                                                                 width, out, flag);
    });
    cuda_check(cudaGetLastError(), "M-FAC: kernel launch");
  }

  void launch_project(Select select, int k, const double* v, double* q_device) const {
    const DeviceSegments& segments = device_segments_for(select, kProjectSegment);
    with_storage_type(g_.dtype, [&](auto tag) {
      using T = typename decltype(tag)::type;
      with_rhs_count(k, [&](auto count) {
        constexpr int K = decltype(count)::value;
        constexpr int kRows = K == 1 ? 8 : (K == 2 ? 4 : (K <= 4 ? 2 : 1));
        const dim3 grid(static_cast<unsigned int>(segments.count()),
                        static_cast<unsigned int>((g_.rows + kRows - 1) / kRows));
        project_kernel<T, K, kRows>
            <<<grid, kThreads, 0, context_.stream()>>>(rows_view(), segments.data(), v, q_device);
      });
    });
    cuda_check(cudaGetLastError(), "project: kernel launch");
  }

  // The selected blocks cut into segments of at most `width` columns (host copy).
  const std::vector<Segment>& segments_for(Select select, std::int64_t width) const {
    const auto key = std::make_pair(static_cast<int>(select), width);
    auto found = host_segments_.find(key);
    if (found != host_segments_.end()) return found->second;
    std::vector<Segment> segments;
    for (std::size_t b = 0; b < blocks_.size(); ++b) {
      const BlockRange& block = blocks_[b];
      if (select != Select::kAll && (select == Select::kDense) != block.dense) continue;
      for (std::int64_t begin = block.begin; begin < block.end; begin += width) {
        segments.push_back(Segment{begin, std::min(block.end, begin + width), static_cast<int>(b)});
      }
    }
    return host_segments_.emplace(key, std::move(segments)).first->second;
  }

  const DeviceSegments& device_segments_for(Select select, std::int64_t width) const {
    const auto key = std::make_pair(static_cast<int>(select), width);
    auto found = device_segments_.find(key);
    if (found != device_segments_.end()) return found->second;
    return device_segments_.emplace(key, context_.upload(segments_for(select, width))).first->second;
  }

  mutable CudaContext context_;  // declared first: the buffers below are freed before it
  // The stream for frees of buffers that may outlive this object (allocate_memory).
  std::shared_ptr<cudaStream_t> current_stream_ = std::make_shared<cudaStream_t>(context_.stream());
  bool follows_callers_ = false;
  mutable DeviceBuffer<char> storage_;  // the sliding window's rows (empty for a view)
  mutable std::map<std::pair<int, std::int64_t>, std::vector<Segment>> host_segments_;
  mutable std::map<std::pair<int, std::int64_t>, DeviceSegments> device_segments_;
};

}  // namespace

std::unique_ptr<GradientPasses> make_cuda_passes(const GradientRows& g, const Device& device, void* stream) {
  return std::make_unique<CudaPasses>(g, device, static_cast<cudaStream_t>(stream));
}

std::unique_ptr<GradientPasses> make_cuda_window(std::int64_t window, std::int64_t dim, DType dtype,
                                                 const Device& device) {
  return std::make_unique<CudaPasses>(window, dim, dtype, device);
}

}  // namespace mlprims::mfac::detail
