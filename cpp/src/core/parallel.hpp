// OpenMP helpers that honour mlprims::set_num_threads.
#pragma once

#include <cstdint>

#include "mlprims/core/threading.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace mlprims::detail {

// Threads worth using for `work` units of about `grain` each (at least one).
inline int threads_for(std::int64_t work, std::int64_t grain) {
  const std::int64_t useful = work / (grain > 0 ? grain : 1);
  const int configured = get_num_threads();
  if (useful < 2) return 1;
  return useful < configured ? static_cast<int>(useful) : configured;
}

// The calling thread's index within the enclosing OpenMP team (0 outside one, or without OpenMP).
inline int thread_index() {
#if defined(_OPENMP)
  return omp_get_thread_num();
#else
  return 0;
#endif
}

}  // namespace mlprims::detail
