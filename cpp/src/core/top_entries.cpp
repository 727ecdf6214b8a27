#include "core/top_entries.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace mlprims::detail {
namespace {

// Few entries wanted (the common case: one or two per row of a transport plan): one scan keeping
// them sorted, a comparison per element and an insertion only when an entry beats the smallest
// kept. False when NaN left fewer than k numbers (the general path decides then).
constexpr std::int64_t kScanLimit = 16;

bool scan_largest(std::int64_t m, const double* values, std::int64_t k, std::int64_t* indices) {
  double best[kScanLimit];
  std::int64_t where[kScanLimit];
  std::int64_t filled = 0;
  for (std::int64_t j = 0; j < m; ++j) {
    const double v = values[j];
    if (filled == k && !(v > best[k - 1])) continue;  // also skips NaN
    if (std::isnan(v)) continue;
    std::int64_t slot = filled < k ? filled++ : k - 1;
    while (slot > 0 && best[slot - 1] < v) {  // strictly: an equal earlier entry stays ahead
      best[slot] = best[slot - 1];
      where[slot] = where[slot - 1];
      --slot;
    }
    best[slot] = v;
    where[slot] = j;
  }
  if (filled < k) return false;
  std::copy(where, where + k, indices);
  return true;
}

}  // namespace

void largest_entries(std::int64_t m, const double* values, std::int64_t k, std::int64_t* indices,
                     std::vector<std::int64_t>& scratch) {
  if (k <= 0) return;
  if (k <= kScanLimit && scan_largest(m, values, k, indices)) return;
  scratch.resize(static_cast<std::size_t>(m));
  std::iota(scratch.begin(), scratch.end(), std::int64_t{0});
  // a before b: a larger, or equal and earlier; NaN after everything.
  const auto before = [values](std::int64_t a, std::int64_t b) {
    const double va = values[a], vb = values[b];
    if (std::isnan(va) || std::isnan(vb)) return std::isnan(vb) && (!std::isnan(va) || a < b);
    return va > vb || (va == vb && a < b);
  };
  if (k < m) std::nth_element(scratch.begin(), scratch.begin() + (k - 1), scratch.end(), before);
  std::copy(scratch.begin(), scratch.begin() + k, indices);
}

}  // namespace mlprims::detail
