#include "linalg/blas.hpp"

#include <atomic>
#include <limits>
#include <string>

#include "linalg/blas_symbols.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::linalg {

int blas_int(std::int64_t value, const char* what) {
  if (value < 0 || value > std::numeric_limits<int>::max()) {
    throw ValueError(std::string("BLAS/LAPACK: ") + what + " = " + std::to_string(value) +
                     " does not fit the 32-bit integers of the BLAS in use");
  }
  return static_cast<int>(value);
}

namespace {

std::atomic<int> requested_threads{0};  // 0: leave BLAS at its own default
std::atomic<int> applied_threads{0};    // 0: never changed
std::atomic<int> default_threads{0};    // OpenBLAS's own count, read before the first change
std::atomic<int> serial_scopes{0};

int openblas_threads() {
  return &MLPRIMS_OPENBLAS(get_num_threads) != nullptr ? MLPRIMS_OPENBLAS(get_num_threads)() : 0;
}

}  // namespace

// Brings OpenBLAS's thread count to the wanted one before a BLAS call of about `flops` floating-
// point operations.
void apply_blas_threads(double flops) {
  if (&MLPRIMS_OPENBLAS(set_num_threads) == nullptr) return;
  const int requested = requested_threads.load(std::memory_order_relaxed);
  const bool serial = serial_scopes.load(std::memory_order_relaxed) > 0 || flops < kThreadedBlasMinFlops;
  int wanted = serial ? 1 : requested;
  if (wanted == 0) wanted = default_threads.load(std::memory_order_relaxed);  // 0 if never changed
  const int applied = applied_threads.load(std::memory_order_relaxed);
  if (wanted == 0 || wanted == applied) return;
  if (applied == 0) default_threads.store(openblas_threads(), std::memory_order_relaxed);
  MLPRIMS_OPENBLAS(set_num_threads)(wanted);
  applied_threads.store(wanted, std::memory_order_relaxed);
}

void set_blas_threads(int threads) { requested_threads.store(threads, std::memory_order_relaxed); }

SerialBlasScope::SerialBlasScope() { serial_scopes.fetch_add(1, std::memory_order_relaxed); }
SerialBlasScope::~SerialBlasScope() { serial_scopes.fetch_sub(1, std::memory_order_relaxed); }

std::string blas_description() {
  if (&MLPRIMS_OPENBLAS(get_config) != nullptr) {
#if defined(MLPRIMS_BLAS_SCIPY_PREFIX)
    return std::string(MLPRIMS_OPENBLAS(get_config)()) + " (scipy-openblas32)";
#else
    return std::string(MLPRIMS_OPENBLAS(get_config)());
#endif
  }
  return "system BLAS/LAPACK";
}

template <class T>
struct GemmSymbol;
template <>
struct GemmSymbol<double> {
  static constexpr auto call = &MLPRIMS_BLAS(dgemm);
};
template <>
struct GemmSymbol<float> {
  static constexpr auto call = &MLPRIMS_BLAS(sgemm);
};

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
template <class T>
void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  const char ta = transpose_a ? 'T' : 'N', tb = transpose_b ? 'T' : 'N';
  const int M = blas_int(n, "n"), N = blas_int(m, "m"), K = blas_int(k, "k");
  const int LDA = blas_int(ldb, "ldb"), LDB = blas_int(lda, "lda"), LDC = blas_int(ldc, "ldc");
  apply_blas_threads(2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k));
  GemmSymbol<T>::call(&tb, &ta, &M, &N, &K, &alpha, b, &LDA, a, &LDB, &beta, c, &LDC);
}

template void gemm<double>(bool, bool, std::int64_t, std::int64_t, std::int64_t, double, const double*, std::int64_t,
                           const double*, std::int64_t, double, double*, std::int64_t);
template void gemm<float>(bool, bool, std::int64_t, std::int64_t, std::int64_t, float, const float*, std::int64_t,
                          const float*, std::int64_t, float, float*, std::int64_t);

}  // namespace mlprims::linalg
