#include "core/top_entries.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
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

// a before b: a larger, or equal and earlier; NaN after everything.
struct LargerFirst {
  const double* values;
  bool operator()(std::int64_t a, std::int64_t b) const {
    const double va = values[a], vb = values[b];
    if (std::isnan(va) || std::isnan(vb)) return std::isnan(vb) && (!std::isnan(va) || a < b);
    return va > vb || (va == vb && a < b);
  }
};

// The k first of `positions` in LargerFirst's order, written to indices.
void select_first(std::vector<std::int64_t>& positions, std::int64_t count, std::int64_t k, const double* values,
                  std::int64_t* indices) {
  if (k < count)
    std::nth_element(positions.begin(), positions.begin() + (k - 1), positions.begin() + count, LargerFirst{values});
  std::copy(positions.begin(), positions.begin() + k, indices);
}

// The selection among candidates: the positions whose values reach a threshold a power of two
// below the row's largest, guessed from the previous row and lowered until at least k qualify.
// Every value of the k largest then is a candidate, ties included, so selecting among them is
// exact; the candidate pass is branch-free, and nth_element sorts out a few times k positions
// instead of the whole row (an indirect comparison with NaN checks per element: 20-40 us on a
// row of 2,000, most of a plan evaluation). False for rows this does not suit (a largest value
// that is not positive and finite; too few positive values), which the full selection handles.
bool select_above_threshold(std::int64_t m, const double* values, std::int64_t k, std::int64_t* indices,
                            LargestEntriesScratch& scratch) {
  double largest = 0.0;
  {
    double lane[4] = {0.0, 0.0, 0.0, 0.0};  // four chains: a max waits for the previous one
    std::int64_t j = 0;
    for (; j + 4 <= m; j += 4) {
      for (int q = 0; q < 4; ++q) lane[q] = values[j + q] > lane[q] ? values[j + q] : lane[q];  // NaN leaves it
    }
    for (; j < m; ++j) lane[0] = values[j] > lane[0] ? values[j] : lane[0];
    largest = std::max(std::max(lane[0], lane[1]), std::max(lane[2], lane[3]));
  }
  if (!(largest > 0.0) || !std::isfinite(largest)) return false;
  std::vector<std::int64_t>& positions = scratch.positions;
  positions.resize(static_cast<std::size_t>(m));
  for (int below = std::max(scratch.below_largest_log2, 1); below <= 2200; below *= 2) {
    // Past the subnormals: every positive value (never zeros, negatives or NaN).
    const double threshold = std::max(std::ldexp(largest, -below), std::numeric_limits<double>::denorm_min());
    std::int64_t count = 0;
    for (std::int64_t j = 0; j < m; ++j) {
      positions[count] = j;
      count += values[j] >= threshold;
    }
    if (count < k) continue;
    select_first(positions, count, k, values, indices);
    double kth = largest;
    for (std::int64_t q = 0; q < k; ++q) kth = std::min(kth, values[indices[q]]);
    scratch.below_largest_log2 = std::clamp(std::ilogb(largest) - std::ilogb(kth) + 2, 1, 2048);
    return true;
  }
  return false;
}

}  // namespace

void largest_entries(std::int64_t m, const double* values, std::int64_t k, std::int64_t* indices,
                     LargestEntriesScratch& scratch) {
  if (k <= 0) return;
  if (k <= kScanLimit && scan_largest(m, values, k, indices)) return;
  if (k < m && select_above_threshold(m, values, k, indices, scratch)) return;
  std::vector<std::int64_t>& positions = scratch.positions;
  positions.resize(static_cast<std::size_t>(m));
  std::iota(positions.begin(), positions.end(), std::int64_t{0});
  select_first(positions, m, k, values, indices);
}

}  // namespace mlprims::detail
