#include "mlprims/core/threading.hpp"

#include <atomic>

#include "linalg/blas.hpp"
#include "mlprims/core/error.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace mlprims {
namespace {

int default_threads() {
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

}  // namespace

void set_num_threads(int n) {
  if (n < 0) throw ValueError("set_num_threads: n must be >= 0, got " + std::to_string(n));
  const int threads = n == 0 ? default_threads() : n;
  configured_threads().store(threads);
  linalg::set_blas_threads(threads);
}

int get_num_threads() { return configured_threads().load(); }

}  // namespace mlprims
