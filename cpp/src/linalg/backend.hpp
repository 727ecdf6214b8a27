// The back ends of DenseOps (dense_ops.hpp), the dense linear algebra that algorithms written once
// for the host and the GPU run on (lowrank's closed form and device SVD today):
//   CPU (dense_ops_cpu.cpp): host memory, the library's BLAS/LAPACK. It also runs the GPU's
//   algorithms in the CPU tests, so that they check the code the CUDA back end runs.
//   CUDA (cuda/src/linalg/dense_ops_cuda.cu, when the CUDA back end is built): cuBLAS/cuSOLVER, on
//   the shared CUDA context (cuda/src/core/cuda_context.hpp).
#pragma once

#include <memory>

#include "linalg/dense_ops.hpp"

namespace mlprims::linalg {

template <class T>
class CpuDenseOps final : public DenseOps<T> {
 public:
  void* allocate_bytes(std::size_t bytes) const override;
  void free_bytes(void* data) const override;
  void upload(const void* host, void* to, std::size_t bytes) const override;
  void download(const void* from, void* host, std::size_t bytes) const override;
  void copy(const void* from, void* to, std::size_t bytes) const override;

  void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
            std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) const override;
  void transpose(std::int64_t rows, std::int64_t cols, const T* a, std::int64_t lda, T* out,
                 std::int64_t ldo) const override;
  void orthonormalize(std::int64_t m, std::int64_t n, T* a, std::int64_t lda) const override;
  void gram(std::int64_t rows, std::int64_t n, const T* a, std::int64_t lda, double* out) const override;
  bool svd(std::int64_t m, std::int64_t n, T* a, std::int64_t lda, std::vector<T>& host_s, T* u, T* vt) const override;
  bool symmetric_eigen(std::int64_t n, double* a, std::vector<double>& host_eigenvalues) const override;
  bool cholesky(std::int64_t n, double* a) const override;
  void solve_lower(bool transposed, std::int64_t n, std::int64_t k, const T* factor, std::int64_t ldf, T* x,
                   std::int64_t ldx) const override;
  void scale(std::int64_t rows, std::int64_t cols, T* a, std::int64_t lda, const T* row_scale,
             const T* col_scale) const override;
  double frobenius_norm(std::int64_t rows, std::int64_t cols, const T* a, std::int64_t lda,
                        bool& finite) const override;
  void narrow(std::int64_t count, const double* from, T* to) const override;
};

#if defined(MLPRIMS_WITH_CUDA)
// Operations on CUDA device `device`, in order on `stream` (a cudaStream_t; nullptr: the legacy
// default stream).
template <class T>
std::unique_ptr<DenseOps<T>> make_cuda_dense_ops(int device, void* stream);
#endif

}  // namespace mlprims::linalg
