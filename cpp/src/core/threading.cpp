#include "mlprims/core/threading.hpp"

#include <atomic>
#include <cstdlib>
#include <string>

#include "linalg/blas.hpp"
#include "mlprims/core/error.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace mlprims {
namespace {

// MLPRIMS_NUM_THREADS as a positive integer (so that a test run or a job script can pin the count
// without code); 0 when it is unset or not one.
int threads_from_environment() {
  const char* text = std::getenv("MLPRIMS_NUM_THREADS");
  if (text == nullptr) return 0;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  return end != text && *end == '\0' && value >= 1 && value <= 4096 ? static_cast<int>(value) : 0;
}

int default_threads() {
  if (const int from_environment = threads_from_environment()) return from_environment;
#if defined(_OPENMP)
  return omp_get_num_procs();
#else
  return 1;
#endif
}

std::atomic<int>& configured_threads() {
  static std::atomic<int> threads{default_threads()};
  return threads;
}

// BLAS follows an environment setting from the start, not only after a set_num_threads call.
[[maybe_unused]] const bool environment_applied = [] {
  if (const int from_environment = threads_from_environment()) linalg::set_blas_threads(from_environment);
  return true;
}();

}  // namespace

void set_num_threads(int n) {
  if (n < 0) throw ValueError("set_num_threads: n must be >= 0, got " + std::to_string(n));
  const int threads = n == 0 ? default_threads() : n;
  configured_threads().store(threads);
  linalg::set_blas_threads(threads);
}

int get_num_threads() { return configured_threads().load(); }

}  // namespace mlprims
