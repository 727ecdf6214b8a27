// The positions of the k largest values of a row, in O(m) (a partial selection, not a sort):
// the building block of sparsified kernels (one row of a transport plan at a time).
#pragma once

#include <cstdint>
#include <vector>

namespace mlprims::detail {

// What largest_entries keeps between calls on the rows of one matrix: a workspace, and how far
// below the row's largest value the k-th largest fell in the last row (rows of a plan are alike,
// so that guess usually lets a single pass find the candidates).
struct LargestEntriesScratch {
  std::vector<std::int64_t> positions;
  int below_largest_log2 = 8;
};

// Writes to `indices` the positions of the k largest of values[0, m) (k <= m), in no particular
// order; among equal values the lower position wins, so the choice is reproducible. NaN counts as
// smaller than every number. `scratch` may be reused across calls (and must not be shared
// between threads).
void largest_entries(std::int64_t m, const double* values, std::int64_t k, std::int64_t* indices,
                     LargestEntriesScratch& scratch);

}  // namespace mlprims::detail
