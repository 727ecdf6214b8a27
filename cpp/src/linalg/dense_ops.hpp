// Dense linear algebra in one back end's memory (host, or one CUDA device), column-major like
// BLAS/LAPACK/cuBLAS/cuSOLVER. The device truncated SVD and the weighted closed form
// (dense_ops_svd.hpp, weighted_closed_form.hpp) are written once against this interface; its
// implementations are the back ends (backend.hpp): CPU and CUDA.
//
// Pointers passed to the operations are in the back end's memory unless a name says `host`.
// Matrices are column-major with a leading dimension (ld >= rows). Operations run in order on the
// back end's stream; those that return values to the host wait for them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace mlprims::linalg {

// Allocation and transfers, independent of the element type.
class BackendMemory {
 public:
  virtual ~BackendMemory() = default;
  virtual void* allocate_bytes(std::size_t bytes) const = 0;
  virtual void free_bytes(void* data) const = 0;
  virtual void upload(const void* host, void* to, std::size_t bytes) const = 0;
  virtual void download(const void* from, void* host, std::size_t bytes) const = 0;
  virtual void copy(const void* from, void* to, std::size_t bytes) const = 0;
};

// `count` elements of type U in a back end's memory, freed with the array.
template <class U>
class BackendArray {
 public:
  BackendArray() = default;
  BackendArray(const BackendMemory& memory, std::int64_t count)
      : memory_(&memory),
        data_(static_cast<U*>(memory.allocate_bytes(static_cast<std::size_t>(count > 0 ? count : 1) * sizeof(U)))),
        count_(count) {}
  BackendArray(BackendArray&& other) noexcept { *this = std::move(other); }
  BackendArray& operator=(BackendArray&& other) noexcept {
    std::swap(memory_, other.memory_);
    std::swap(data_, other.data_);
    std::swap(count_, other.count_);
    return *this;
  }
  BackendArray(const BackendArray&) = delete;
  BackendArray& operator=(const BackendArray&) = delete;
  ~BackendArray() {
    if (data_ != nullptr) memory_->free_bytes(data_);
  }

  U* data() const { return data_; }
  std::int64_t count() const { return count_; }
  bool empty() const { return data_ == nullptr; }

 private:
  const BackendMemory* memory_ = nullptr;
  U* data_ = nullptr;
  std::int64_t count_ = 0;
};

// The operations on matrices of T (float or double). Gram matrices, eigendecompositions and
// Cholesky factors are always double.
template <class T>
class DenseOps : public BackendMemory {
 public:
  // C (m x n) = alpha op(A) op(B) + beta C; op(A) is m x k, op(B) k x n.
  virtual void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
                    const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
                    std::int64_t ldc) const = 0;
  // out (cols x rows) = a^T for a rows x cols.
  virtual void transpose(std::int64_t rows, std::int64_t cols, const T* a, std::int64_t lda, T* out,
                         std::int64_t ldo) const = 0;
  // a (m x n, m >= n) <- Q of its Householder QR, column j negated where R_jj < 0, so that
  // q_j^T a_j >= 0: nearly orthonormal columns keep their directions.
  virtual void orthonormalize(std::int64_t m, std::int64_t n, T* a, std::int64_t lda) const = 0;
  // out (n x n, ld n, lower triangle) = a^T a for a rows x n, accumulated in double.
  virtual void gram(std::int64_t rows, std::int64_t n, const T* a, std::int64_t lda, double* out) const = 0;
  // Thin SVD of a (m x n, m >= n; destroyed): a = u diag(s) vt with u m x n (ld m), vt n x n (ld n),
  // s descending. False if it did not converge.
  virtual bool svd(std::int64_t m, std::int64_t n, T* a, std::int64_t lda, std::vector<T>& host_s, T* u,
                   T* vt) const = 0;
  // a (n x n, lower triangle read) <- its eigenvectors, eigenvalues ascending. False if it did not
  // converge.
  virtual bool symmetric_eigen(std::int64_t n, double* a, std::vector<double>& host_eigenvalues) const = 0;
  // Cholesky a = L L^T in place (lower triangle; the strictly upper part is left as it was).
  // False if a is not numerically positive definite.
  virtual bool cholesky(std::int64_t n, double* a) const = 0;
  // x (n x k) <- L^{-1} x, or L^{-T} x when `transposed`, for the lower-triangular n x n factor
  // (upper triangle not read).
  virtual void solve_lower(bool transposed, std::int64_t n, std::int64_t k, const T* factor, std::int64_t ldf, T* x,
                           std::int64_t ldx) const = 0;
  // a_ij *= row_scale_i * col_scale_j (either may be nullptr: no scaling on that side).
  virtual void scale(std::int64_t rows, std::int64_t cols, T* a, std::int64_t lda, const T* row_scale,
                     const T* col_scale) const = 0;
  // ||a||_F, right wherever the elements are finite (float64 squares are summed for a times a
  // power of two c with c max|a| in [1/2, 1), so they neither overflow past 1e154 nor underflow
  // below 1e-162); false in `finite` if an element is NaN or inf.
  virtual double frobenius_norm(std::int64_t rows, std::int64_t cols, const T* a, std::int64_t lda,
                                bool& finite) const = 0;
  // to (count values) = from rounded to T.
  virtual void narrow(std::int64_t count, const double* from, T* to) const = 0;

  // Conveniences on top of the transfers.
  template <class U>
  BackendArray<U> allocate(std::int64_t count) const {
    return BackendArray<U>(*this, count);
  }
  template <class U>
  BackendArray<U> upload_vector(const std::vector<U>& host) const {
    BackendArray<U> out = allocate<U>(static_cast<std::int64_t>(host.size()));
    if (!host.empty()) upload(host.data(), out.data(), host.size() * sizeof(U));
    return out;
  }
  template <class U>
  std::vector<U> download_vector(const U* from, std::int64_t count) const {
    std::vector<U> out(static_cast<std::size_t>(count));
    if (count > 0) download(from, out.data(), out.size() * sizeof(U));
    return out;
  }
  template <class U>
  BackendArray<U> duplicate(const U* from, std::int64_t count) const {
    BackendArray<U> out = allocate<U>(count);
    if (count > 0) copy(from, out.data(), static_cast<std::size_t>(count) * sizeof(U));
    return out;
  }
};

}  // namespace mlprims::linalg
