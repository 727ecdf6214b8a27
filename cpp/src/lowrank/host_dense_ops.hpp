// DenseOps in host memory, on the library's BLAS/LAPACK: runs the device algorithm
// (device_factors.hpp) on the CPU, so that the tests check the code the CUDA back end runs.
// Not tuned (the CPU entry points use truncated_factors.hpp).
#pragma once

#include "lowrank/dense_ops.hpp"

namespace mlprims::lowrank::detail {

template <class T>
class HostDenseOps final : public DenseOps<T> {
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
  bool svd(std::int64_t m, std::int64_t n, T* a, std::int64_t lda, std::vector<T>& host_s, T* u,
           T* vt) const override;
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

}  // namespace mlprims::lowrank::detail
