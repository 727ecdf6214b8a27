// Selection within one row: the entries ranked [first, first + count) by magnitude key (larger
// first, lower position first among equal keys), returned as ascending positions. O(m) per row
// (two partial selections) plus the sort of the `count` positions kept.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace mlprims::sparse::detail {

// key_of(j) for j in [0, m). Returns false (and writes nothing) when a key is above
// `largest_valid` (NaN), which cannot be ranked.
template <class KeyOf, class Index>
bool select_row_ranks(std::int64_t m, std::int64_t first, std::int64_t count, std::uint64_t largest_valid,
                      const KeyOf& key_of, std::vector<std::pair<std::uint64_t, std::int64_t>>& scratch,
                      Index* positions) {
  scratch.resize(static_cast<std::size_t>(m));
  for (std::int64_t j = 0; j < m; ++j) {
    const std::uint64_t key = key_of(j);
    if (key > largest_valid) return false;
    scratch[static_cast<std::size_t>(j)] = {key, j};
  }
  if (count == 0) return true;
  auto ranks_before = [](const auto& x, const auto& y) {
    return x.first > y.first || (x.first == y.first && x.second < y.second);
  };
  auto begin = scratch.begin();
  if (first > 0) std::nth_element(begin, begin + first, scratch.end(), ranks_before);
  if (first + count < m) std::nth_element(begin + first, begin + first + count, scratch.end(), ranks_before);
  for (std::int64_t r = 0; r < count; ++r)
    positions[r] = static_cast<Index>(scratch[static_cast<std::size_t>(first + r)].second);
  std::sort(positions, positions + count);
  return true;
}

}  // namespace mlprims::sparse::detail
