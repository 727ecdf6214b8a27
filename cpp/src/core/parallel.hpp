// OpenMP helpers that honour mlprims::set_num_threads.
#pragma once

#include <cstdint>

#include "mlprims/core/threading.hpp"

namespace mlprims::detail {

// Threads worth using for `work` units of about `grain` each (at least one).
inline int threads_for(std::int64_t work, std::int64_t grain) {
  const std::int64_t useful = work / (grain > 0 ? grain : 1);
  const int configured = get_num_threads();
  if (useful < 2) return 1;
  return useful < configured ? static_cast<int>(useful) : configured;
}

}  // namespace mlprims::detail
