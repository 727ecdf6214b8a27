// Thin C++ wrappers over BLAS for row-major matrices.
#pragma once

#include <cstdint>
#include <string>

namespace mlprims::linalg {

// Records the thread count for BLAS; it is applied lazily, right before mlprims' next BLAS call,
// because changing it wakes OpenBLAS's thread pool, whose spinning threads would otherwise steal
// cycles from work that never calls BLAS.
void set_blas_threads(int threads);
std::string blas_description();  // the BLAS library and its configuration
// Below this many floating-point operations a BLAS call runs on the calling thread: about 0.1-0.5 ms
// of one core, less than what waking a second thread and joining it costs once another process
// shares the cores (a thread the scheduler has put aside holds the whole call for a time slice,
// ~3 ms). Measured with bench/python/contention.py.
inline constexpr double kThreadedBlasMinFlops = 1 << 24;
// Applies the recorded thread count; every BLAS/LAPACK entry point calls this first with its
// operation count (the default: large enough to use every configured thread).
void apply_blas_threads(double flops = kThreadedBlasMinFlops);

// While one is alive, mlprims' BLAS calls run on the calling thread only. For code that runs its
// own OpenMP kernels between BLAS calls: after a threaded call OpenBLAS's idle threads spin for
// ~0.1 s, and on few cores they take half the machine from those kernels. The thread count comes
// back lazily, at the first BLAS call after the last scope ends (other threads' calls made
// meanwhile run single-threaded too: slower, never wrong).
class SerialBlasScope {
 public:
  SerialBlasScope();
  ~SerialBlasScope();
  SerialBlasScope(const SerialBlasScope&) = delete;
  SerialBlasScope& operator=(const SerialBlasScope&) = delete;
};

// value as the BLAS's 32-bit integer; ValueError naming `what` when it does not fit.
int blas_int(std::int64_t value, const char* what);

// C (m x n) = alpha * op(A) * op(B) + beta * C, all row-major with leading dimensions lda, ldb,
// ldc (elements between rows); op(A) is m x k, op(B) is k x n.
template <class T>
void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc);

}  // namespace mlprims::linalg
