// The positions of the k largest values of a row, in O(m) (a partial selection, not a sort):
// the building block of sparsified kernels (one row of a transport plan at a time).
#pragma once

#include <cstdint>
#include <vector>

namespace mlprims::detail {

// Writes to `indices` the positions of the k largest of values[0, m) (k <= m), in no particular
// order; among equal values the lower position wins, so the choice is reproducible. NaN counts as
// smaller than every number. `scratch` is resized as needed and may be reused across calls.
void largest_entries(std::int64_t m, const double* values, std::int64_t k, std::int64_t* indices,
                     std::vector<std::int64_t>& scratch);

}  // namespace mlprims::detail
