// The delta of a (base, tuned) pair, entry by entry: v = tuned - base computed in float64 and
// rounded once to the value type V, the quantity every sparse rule ranks and stores.
#pragma once

#include <cstdint>

#include "core/float_elements.hpp"
#include "core/half_float.hpp"

namespace mlprims::sparse::detail {

using namespace mlprims::detail;  // NOLINT: the storage types and their conversions

template <class T, class V>
struct DeltaSource {
  const T* base;
  const T* tuned;

  double exact(std::int64_t i) const { return to_double(tuned[i]) - to_double(base[i]); }
  V value(std::int64_t i) const { return round_from_double<V>(exact(i)); }
  std::uint64_t key(std::int64_t i) const { return magnitude_key(value(i)); }
  bool bits_differ(std::int64_t i) const { return !same_bits(tuned[i], base[i]); }
};

}  // namespace mlprims::sparse::detail
