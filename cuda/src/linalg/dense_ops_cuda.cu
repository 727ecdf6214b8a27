// DenseOps (linalg/dense_ops.hpp) on a CUDA device: cuBLAS for products and triangular solves,
// cuSOLVER for QR, SVD, symmetric eigendecomposition and Cholesky, and a few element-wise kernels.
// Every operation is queued on the caller's stream; memory is stream-ordered (cudaMallocAsync), so
// buffers never need a device-wide synchronization. Only operations that return values to the host
// wait for the stream.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>

#include "core/cuda_common.cuh"
#include "core/cuda_context.hpp"
#include "core/math/scaled_norm.hpp"
#include "linalg/backend.hpp"
#include "linalg/cublas_calls.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::linalg {
namespace {

using mlprims::detail::blocks_for;
using mlprims::detail::cuda_check;
using mlprims::detail::CudaContext;
using mlprims::detail::DeviceGuard;

constexpr int kThreads = 256;

// cuBLAS/cuSOLVER failures name the operation.
void cublas_check(cublasStatus_t status, const char* what) {
  mlprims::detail::cublas_check(status, std::string("CUDA dense ops: ") + what);
}
void cusolver_check(cusolverStatus_t status, const char* what) {
  mlprims::detail::cusolver_check(status, std::string("CUDA dense ops: ") + what);
}

int as_int(std::int64_t value, const char* what) {
  return linalg::blas_int(value, std::string("CUDA dense ops: ") + what);
}

// ---- element-wise kernels (column-major, grid-stride) ----

template <class T>
__global__ void transpose_kernel(std::int64_t rows, std::int64_t cols, const T* a, std::int64_t lda, T* out,
                                 std::int64_t ldo) {
  const std::int64_t total = rows * cols;
  for (std::int64_t t = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = t % rows, j = t / rows;
    out[j + i * ldo] = a[i + j * lda];
  }
}

template <class T>
__global__ void scale_kernel(std::int64_t rows, std::int64_t cols, T* a, std::int64_t lda, const T* row_scale,
                             const T* col_scale) {
  const std::int64_t total = rows * cols;
  for (std::int64_t t = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = t % rows, j = t / rows;
    T value = a[i + j * lda];
    if (row_scale != nullptr) value *= row_scale[i];
    if (col_scale != nullptr) value *= col_scale[j];
    a[i + j * lda] = value;
  }
}

// largest[0] = max |a_ij| as the bits of a double (non-negative doubles order like their bit
// patterns), flags[0] = 1 if an element is NaN or inf.
template <class T>
__global__ void largest_magnitude_kernel(std::int64_t rows, std::int64_t cols, const T* a, std::int64_t lda,
                                         unsigned long long* largest, int* flags) {
  const std::int64_t total = rows * cols;
  double local = 0.0;
  bool finite = true;
  for (std::int64_t t = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const double magnitude = fabs(static_cast<double>(a[t % rows + (t / rows) * lda]));
    finite = finite && isfinite(magnitude);
    if (isfinite(magnitude)) local = fmax(local, magnitude);
  }
  for (int offset = 16; offset > 0; offset /= 2) local = fmax(local, __shfl_down_sync(0xffffffffu, local, offset));
  if (threadIdx.x % 32 == 0) atomicMax(largest, static_cast<unsigned long long>(__double_as_longlong(local)));
  if (!finite) flags[0] = 1;
}

// sums[0] += the squares of scale * a_ij (double), flags[0] = 1 if an element is NaN or inf.
template <class T>
__global__ void scaled_squares_kernel(std::int64_t rows, std::int64_t cols, const T* a, std::int64_t lda, double scale,
                                      double* sums, int* flags) {
  const std::int64_t total = rows * cols;
  double sum = 0.0;
  bool finite = true;
  for (std::int64_t t = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const double value = scale * static_cast<double>(a[t % rows + (t / rows) * lda]);
    finite = finite && isfinite(value);
    sum += value * value;
  }
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_down_sync(0xffffffffu, sum, offset);
  if (threadIdx.x % 32 == 0) atomicAdd(sums, sum);
  if (!finite) flags[0] = 1;
}

template <class From, class To>
__global__ void convert_kernel(std::int64_t count, const From* from, To* to) {
  for (std::int64_t t = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; t < count;
       t += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    to[t] = static_cast<To>(from[t]);
  }
}

// signs[j] = -1 where R_jj < 0 (R from geqrf in a's upper triangle), else 1.
template <class T>
__global__ void diagonal_signs_kernel(std::int64_t n, const T* a, std::int64_t lda, T* signs) {
  for (std::int64_t j = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; j < n;
       j += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    signs[j] = a[j + j * lda] < T(0) ? T(-1) : T(1);
  }
}

template <class T>
class CudaDenseOps final : public DenseOps<T> {
 public:
  CudaDenseOps(int device, cudaStream_t stream) : context_(device, stream) { info_ = this->template allocate<int>(1); }

  void* allocate_bytes(std::size_t bytes) const override {
    return mlprims::detail::device_allocate(bytes, context_.device(), context_.stream());
  }
  void free_bytes(void* data) const override {
    mlprims::detail::device_free(data, context_.device(), context_.stream());
  }
  void upload(const void* host, void* to, std::size_t bytes) const override {
    const DeviceGuard guard(context_.device());
    cuda_check(cudaMemcpyAsync(to, host, bytes, cudaMemcpyHostToDevice, context_.stream()), "CUDA dense ops: upload");
    // The host buffer may be freed on return: wait until the copy has read it.
    cuda_check(cudaStreamSynchronize(context_.stream()), "CUDA dense ops: upload");
  }
  void download(const void* from, void* host, std::size_t bytes) const override {
    const DeviceGuard guard(context_.device());
    cuda_check(cudaMemcpyAsync(host, from, bytes, cudaMemcpyDeviceToHost, context_.stream()),
               "CUDA dense ops: download");
    cuda_check(cudaStreamSynchronize(context_.stream()), "CUDA dense ops: download");
  }
  void copy(const void* from, void* to, std::size_t bytes) const override {
    const DeviceGuard guard(context_.device());
    cuda_check(cudaMemcpyAsync(to, from, bytes, cudaMemcpyDeviceToDevice, context_.stream()), "CUDA dense ops: copy");
  }

  void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
            std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) const override {
    if (m == 0 || n == 0) return;
    const DeviceGuard guard(context_.device());
    cublas_check(gemm_call(context_.blas(), transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                           transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N, as_int(m, "m"), as_int(n, "n"), as_int(k, "k"),
                           &alpha, a, as_int(lda, "lda"), b, as_int(ldb, "ldb"), &beta, c, as_int(ldc, "ldc")),
                 "gemm");
  }

  void transpose(std::int64_t rows, std::int64_t cols, const T* a, std::int64_t lda, T* out,
                 std::int64_t ldo) const override {
    if (rows * cols == 0) return;
    const DeviceGuard guard(context_.device());
    transpose_kernel<T>
        <<<blocks_for(rows * cols, kThreads), kThreads, 0, context_.stream()>>>(rows, cols, a, lda, out, ldo);
    cuda_check(cudaGetLastError(), "CUDA dense ops: transpose");
  }

  void orthonormalize(std::int64_t m, std::int64_t n, T* a, std::int64_t lda) const override {
    require_tall(m, n, "orthonormalize");
    const DeviceGuard guard(context_.device());
    const int mi = as_int(m, "m"), ni = as_int(n, "n"), ldi = as_int(lda, "lda");
    BackendArray<T> tau = this->template allocate<T>(n), signs = this->template allocate<T>(n);
    int qr_size = 0, q_size = 0;
    cusolver_check(geqrf_size(context_.solver(), mi, ni, a, ldi, &qr_size), "geqrf_bufferSize");
    cusolver_check(orgqr_size(context_.solver(), mi, ni, a, ldi, tau.data(), &q_size), "orgqr_bufferSize");
    BackendArray<T> work = this->template allocate<T>(std::max(qr_size, q_size));
    const int lwork = static_cast<int>(work.count());
    cusolver_check(geqrf_call(context_.solver(), mi, ni, a, ldi, tau.data(), work.data(), lwork, info_.data()),
                   "geqrf");
    diagonal_signs_kernel<T><<<blocks_for(n, kThreads), kThreads, 0, context_.stream()>>>(n, a, lda, signs.data());
    cuda_check(cudaGetLastError(), "CUDA dense ops: diagonal signs");
    cusolver_check(orgqr_call(context_.solver(), mi, ni, a, ldi, tau.data(), work.data(), lwork, info_.data()),
                   "orgqr");
    // Column j of Q times sign(R_jj): then q_j^T a_j = |R_jj| >= 0.
    scale(m, n, a, lda, nullptr, signs.data());
  }

  void gram(std::int64_t rows, std::int64_t n, const T* a, std::int64_t lda, double* out) const override {
    const DeviceGuard guard(context_.device());
    const double one = 1.0, zero = 0.0;
    const double* wide = nullptr;
    std::int64_t ld = lda;
    BackendArray<double> widened;
    if constexpr (std::is_same_v<T, double>) {
      wide = a;
    } else {
      widened = this->template allocate<double>(rows * n);
      widen_matrix(rows, n, a, lda, widened.data());
      wide = widened.data();
      ld = rows;
    }
    cublas_check(cublasDsyrk(context_.blas(), CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, as_int(n, "n"), as_int(rows, "rows"),
                             &one, wide, as_int(ld, "lda"), &zero, out, as_int(n, "n")),
                 "syrk");
  }

  bool svd(std::int64_t m, std::int64_t n, T* a, std::int64_t lda, std::vector<T>& host_s, T* u, T* vt) const override {
    require_tall(m, n, "svd");
    const DeviceGuard guard(context_.device());
    const int mi = as_int(m, "m"), ni = as_int(n, "n");
    int size = 0;
    cusolver_check(gesvd_size(context_.solver(), mi, ni, a, &size), "gesvd_bufferSize");
    BackendArray<T> work = this->template allocate<T>(size), s = this->template allocate<T>(n);
    cusolver_check(gesvd_call(context_.solver(), mi, ni, a, as_int(lda, "lda"), s.data(), u, mi, vt, ni, work.data(),
                              size, info_.data()),
                   "gesvd");
    host_s = this->download_vector(s.data(), n);
    return converged("gesvd");
  }

  bool symmetric_eigen(std::int64_t n, double* a, std::vector<double>& host_eigenvalues) const override {
    const DeviceGuard guard(context_.device());
    const int ni = as_int(n, "n");
    BackendArray<double> w = this->template allocate<double>(n);
    int size = 0;
    cusolver_check(cusolverDnDsyevd_bufferSize(context_.solver(), CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_LOWER, ni,
                                               a, ni, w.data(), &size),
                   "syevd_bufferSize");
    BackendArray<double> work = this->template allocate<double>(size);
    cusolver_check(cusolverDnDsyevd(context_.solver(), CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_LOWER, ni, a, ni,
                                    w.data(), work.data(), size, info_.data()),
                   "syevd");
    host_eigenvalues = this->download_vector(w.data(), n);
    return converged("syevd");
  }

  bool cholesky(std::int64_t n, double* a) const override {
    const DeviceGuard guard(context_.device());
    const int ni = as_int(n, "n");
    int size = 0;
    cusolver_check(cusolverDnDpotrf_bufferSize(context_.solver(), CUBLAS_FILL_MODE_LOWER, ni, a, ni, &size),
                   "potrf_bufferSize");
    BackendArray<double> work = this->template allocate<double>(size);
    cusolver_check(
        cusolverDnDpotrf(context_.solver(), CUBLAS_FILL_MODE_LOWER, ni, a, ni, work.data(), size, info_.data()),
        "potrf");
    return converged("potrf");
  }

  void solve_lower(bool transposed, std::int64_t n, std::int64_t k, const T* factor, std::int64_t ldf, T* x,
                   std::int64_t ldx) const override {
    if (n == 0 || k == 0) return;
    const DeviceGuard guard(context_.device());
    const T one = 1;
    cublas_check(trsm_call(context_.blas(), transposed ? CUBLAS_OP_T : CUBLAS_OP_N, as_int(n, "n"), as_int(k, "k"),
                           &one, factor, as_int(ldf, "ldf"), x, as_int(ldx, "ldx")),
                 "trsm");
  }

  void scale(std::int64_t rows, std::int64_t cols, T* a, std::int64_t lda, const T* row_scale,
             const T* col_scale) const override {
    if (rows * cols == 0 || (row_scale == nullptr && col_scale == nullptr)) return;
    const DeviceGuard guard(context_.device());
    scale_kernel<T><<<blocks_for(rows * cols, kThreads), kThreads, 0, context_.stream()>>>(rows, cols, a, lda,
                                                                                           row_scale, col_scale);
    cuda_check(cudaGetLastError(), "CUDA dense ops: scale");
  }

  // float32 squares cannot over- or underflow in double: one pass. float64: the largest magnitude
  // first, then the squares for a times a power of two.
  double frobenius_norm(std::int64_t rows, std::int64_t cols, const T* a, std::int64_t lda,
                        bool& finite) const override {
    const DeviceGuard guard(context_.device());
    BackendArray<double> sum = this->template allocate<double>(1);
    BackendArray<int> flag = this->template allocate<int>(1);
    cuda_check(cudaMemsetAsync(sum.data(), 0, sizeof(double), context_.stream()), "CUDA dense ops: memset");
    cuda_check(cudaMemsetAsync(flag.data(), 0, sizeof(int), context_.stream()), "CUDA dense ops: memset");
    finite = true;
    if (rows * cols == 0) return 0.0;
    const unsigned int blocks = std::min(blocks_for(rows * cols, kThreads), 4096u);
    double scale = 1.0;
    if constexpr (std::is_same_v<T, double>) {
      BackendArray<unsigned long long> largest = this->template allocate<unsigned long long>(1);
      cuda_check(cudaMemsetAsync(largest.data(), 0, sizeof(unsigned long long), context_.stream()),
                 "CUDA dense ops: memset");
      largest_magnitude_kernel<T>
          <<<blocks, kThreads, 0, context_.stream()>>>(rows, cols, a, lda, largest.data(), flag.data());
      cuda_check(cudaGetLastError(), "CUDA dense ops: largest magnitude");
      finite = this->download_vector(flag.data(), 1)[0] == 0;
      if (!finite) return std::numeric_limits<double>::quiet_NaN();
      const unsigned long long bits = this->download_vector(largest.data(), 1)[0];
      double magnitude = 0.0;
      std::memcpy(&magnitude, &bits, sizeof(double));
      scale = mlprims::detail::normalizing_power_of_two(magnitude);
    }
    scaled_squares_kernel<T>
        <<<blocks, kThreads, 0, context_.stream()>>>(rows, cols, a, lda, scale, sum.data(), flag.data());
    cuda_check(cudaGetLastError(), "CUDA dense ops: squared norm");
    finite = this->download_vector(flag.data(), 1)[0] == 0;
    return std::sqrt(this->download_vector(sum.data(), 1)[0]) / scale;
  }

  void narrow(std::int64_t count, const double* from, T* to) const override { convert(count, from, to); }

 private:
  // cuSOLVER's info: 0 success, > 0 a numerical failure (false), < 0 a bad argument (a bug: throws).
  bool converged(const char* what) const {
    const int info = this->download_vector(info_.data(), 1)[0];
    if (info < 0) {
      throw Error(std::string("CUDA dense ops: ") + what + ": cuSOLVER rejected argument " + std::to_string(-info));
    }
    return info == 0;
  }

  static void require_tall(std::int64_t m, std::int64_t n, const char* what) {
    if (m < n) throw Error(std::string("CUDA dense ops: ") + what + " needs m >= n (internal error)");
  }

  template <class From, class To>
  void convert(std::int64_t count, const From* from, To* to) const {
    if (count == 0) return;
    const DeviceGuard guard(context_.device());
    convert_kernel<From, To><<<blocks_for(count, kThreads), kThreads, 0, context_.stream()>>>(count, from, to);
    cuda_check(cudaGetLastError(), "CUDA dense ops: convert");
  }

  // out (rows x n, ld rows, double) = a (rows x n, ld lda), column by column when a is strided.
  void widen_matrix(std::int64_t rows, std::int64_t n, const T* a, std::int64_t lda, double* out) const {
    if (lda == rows) {
      convert(rows * n, a, out);
      return;
    }
    for (std::int64_t j = 0; j < n; ++j) convert(rows, a + j * lda, out + j * rows);
  }

  // Leases the cuBLAS/cuSOLVER handles on first use (a pure download needs none), for this
  // object's lifetime, bound to its stream.
  CudaContext context_;
  BackendArray<int> info_;  // cuSOLVER's status output
};

}  // namespace

template <class T>
std::unique_ptr<DenseOps<T>> make_cuda_dense_ops(int device, void* stream) {
  return std::make_unique<CudaDenseOps<T>>(device, static_cast<cudaStream_t>(stream));
}

template std::unique_ptr<DenseOps<float>> make_cuda_dense_ops<float>(int, void*);
template std::unique_ptr<DenseOps<double>> make_cuda_dense_ops<double>(int, void*);

}  // namespace mlprims::linalg
