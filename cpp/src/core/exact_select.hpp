// Exact selection of the k largest of n unsigned keys, in O(n) and without sorting. One pass
// counts the keys above a bracket [low, high] that must hold the k-th largest and at its ends,
// and collects the keys strictly inside it; the k-th largest is an end or found among those few. The bracket comes from
// a sample of 2^16 keys (Floyd and Rivest's idea), wide enough that it misses the k-th key with probability below 1e-4;
// when it does miss, or would collect too many keys, radix passes (16-bit digit histograms) narrow the bracket down
// instead, until it holds at most n/16 + 2^16 keys. So a selection reads the keys once on typical data and at most five
// times, and never stores more than n/16 + 2^16 of them.
//
// Order: larger keys first; among equal keys the lower position first. The result is a table per
// chunk of kSelectChunk positions (how many kept and how many ties met before it), so that a
// later pass can write the kept entries in position order, in parallel, and the answer does not
// depend on the number of threads.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <vector>

#include "core/parallel.hpp"

namespace mlprims::detail {

constexpr std::int64_t kSelectChunk = std::int64_t{1} << 16;

inline std::int64_t select_chunk_count(std::int64_t n) { return (n + kSelectChunk - 1) / kSelectChunk; }

struct ChunkedSelection {
  std::uint64_t threshold = ~std::uint64_t{0};  // the k-th largest key (k = 0: above every key)
  std::int64_t ties_taken = 0;                  // keys equal to the threshold that are kept
  std::int64_t invalid = 0;                     // keys above `largest_valid`; when > 0 nothing else is set
  std::vector<std::int64_t> selected_before;    // per chunk (and one past the last): kept before it
  std::vector<std::int64_t> ties_before;        // per chunk: keys equal to the threshold before it

  // Whether a key is kept; `ties_seen` counts the ties met so far in position order (start a
  // chunk at ties_before[chunk]).
  // (Branch-free: a branch on key > threshold mispredicts at every other entry when about half
  // are kept, and one on key == threshold does when most entries tie, as the zeros of a delta
  // that changed fewer than k entries do.)
  bool keeps(std::uint64_t key, std::int64_t& ties_seen) const {
    const bool tie = key == threshold;
    const bool kept = (key > threshold) | (tie & (ties_seen < ties_taken));
    ties_seen += tie;
    return kept;
  }
};

// Runs body(chunk) for every chunk of n positions, on up to `threads` threads, each thread taking
// one contiguous run of chunks (so per-thread results concatenate in position order).
template <class Body>
void for_each_chunk(std::int64_t n, int threads, const Body& body) {
  const std::int64_t chunks = select_chunk_count(n);
  if (threads <= 1 || chunks <= 1) {
    for (std::int64_t c = 0; c < chunks; ++c) body(c, 0);
    return;
  }
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int team = omp_get_num_threads();
    const std::int64_t begin = chunks * t / team;
    const std::int64_t end = chunks * (t + 1) / team;
    for (std::int64_t c = begin; c < end; ++c) body(c, t);
  }
#else
  for (std::int64_t c = 0; c < chunks; ++c) body(c, 0);
#endif
}

inline int select_threads(std::int64_t n) { return threads_for(n, kSelectChunk); }

// Per chunk of kSelectChunk positions (in parallel), the positions kept before it, and one past
// the last chunk the total, with count_chunk(begin, end) the count kept in [begin, end): the table
// a write pass needs.
template <class CountChunk>
std::vector<std::int64_t> count_per_chunk(std::int64_t n, const CountChunk& count_chunk) {
  const std::int64_t chunks = select_chunk_count(n);
  std::vector<std::int64_t> before(static_cast<std::size_t>(chunks + 1), 0);
  for_each_chunk(n, select_threads(n), [&](std::int64_t c, int) {
    before[static_cast<std::size_t>(c + 1)] = count_chunk(c * kSelectChunk, std::min(n, (c + 1) * kSelectChunk));
  });
  for (std::int64_t c = 0; c < chunks; ++c)
    before[static_cast<std::size_t>(c + 1)] += before[static_cast<std::size_t>(c)];
  return before;
}

// The same for the positions i with keep(i) true.
template <class Keep>
std::vector<std::int64_t> count_kept_per_chunk(std::int64_t n, const Keep& keep) {
  return count_per_chunk(n, [&](std::int64_t begin, std::int64_t end) {
    std::int64_t kept = 0;
    for (std::int64_t i = begin; i < end; ++i) kept += keep(i);
    return kept;
  });
}

// The write pass of a chunked selection: for each chunk (in parallel), keep(i, ties_seen) says
// whether position i is kept and write(slot, i, kept) stores it at output slot `slot`, the next
// free one. write is called for every position, kept or not (branch-free: a branch per entry
// mispredicts at every other entry when about half are kept), and a chunk stops once its slots
// are full, so a store at `slot` never reaches the next chunk's slots.
template <class Keep, class Write>
void write_kept(std::int64_t n, const std::vector<std::int64_t>& selected_before,
                const std::vector<std::int64_t>& ties_before, const Keep& keep, const Write& write) {
  for_each_chunk(n, select_threads(n), [&](std::int64_t c, int) {
    const auto u = static_cast<std::size_t>(c);
    std::int64_t slot = selected_before[u];
    const std::int64_t last_slot = selected_before[u + 1];
    std::int64_t ties_seen = ties_before[u];
    const std::int64_t end = std::min(n, (c + 1) * kSelectChunk);
    for (std::int64_t i = c * kSelectChunk; i < end && slot < last_slot; ++i) {
      const bool kept = keep(i, ties_seen);
      write(slot, i, kept);
      slot += kept;
    }
  });
}

// What one chunk holds relative to a bracket [low, high]: keys above it, keys equal to its ends
// (at_low is 0 when low == high), keys strictly inside it, and keys above the largest valid key
// (NaN). The ends are counted, not stored: when many keys are equal (the deltas of 16-bit weights
// take few distinct values) a bracket whose ends are such keys still stores few.
struct BracketCounts {
  std::int64_t above = 0, at_high = 0, within = 0, at_low = 0, invalid = 0;
};

// The bracket pass over one chunk for keys key_of(i): count_chunk(begin, end, low, high, store,
// inside) counts [begin, end) and, when `store`, appends the keys strictly inside to `inside`.
// (sparse/keep_kernels.hpp has vectorized ones for weight deltas.)
template <class KeyOf>
auto bracket_counter(std::uint64_t largest_valid, const KeyOf& key_of) {
  return [largest_valid, &key_of](std::int64_t begin, std::int64_t end, std::uint64_t low, std::uint64_t high,
                                  bool store, std::vector<std::uint64_t>& inside) {
    BracketCounts counts;
    const bool two_ends = low < high;
    for (std::int64_t i = begin; i < end; ++i) {
      const std::uint64_t key = key_of(i);
      counts.invalid += key > largest_valid;
      counts.above += key > high;
      counts.at_high += key == high;
      counts.at_low += two_ends & (key == low);
      if ((key > low) & (key < high)) {
        ++counts.within;
        if (store) inside.push_back(key);
      }
    }
    return counts;
  };
}

// One pass over the keys for a bracket [low, high] (low <= high): per chunk, the keys above it,
// at its ends, and (stored) strictly inside it; then, if the k-th largest lies in the bracket,
// its value and the tables. Returns false (selection untouched but for `invalid`) when it does
// not, or when more than `store_limit` keys would be stored.
template <class CountChunk>
bool select_in_bracket(std::int64_t n, std::int64_t k, std::uint64_t low, std::uint64_t high, std::int64_t store_limit,
                       const CountChunk& count_chunk, ChunkedSelection& selection) {
  const std::int64_t chunks = select_chunk_count(n);
  const int threads = select_threads(n);
  std::vector<BracketCounts> per_chunk(static_cast<std::size_t>(chunks));
  std::vector<std::vector<std::uint64_t>> collected(static_cast<std::size_t>(threads));
  std::vector<char> overflow(static_cast<std::size_t>(threads), 0);
  const std::int64_t per_thread_limit = store_limit / threads + (store_limit % threads != 0);  // no overflow at max
  for_each_chunk(n, threads, [&](std::int64_t c, int t) {
    auto& keys = collected[static_cast<std::size_t>(t)];
    const bool storing = !overflow[static_cast<std::size_t>(t)];
    per_chunk[static_cast<std::size_t>(c)] =
        count_chunk(c * kSelectChunk, std::min(n, (c + 1) * kSelectChunk), low, high, storing, keys);
    if (static_cast<std::int64_t>(keys.size()) > per_thread_limit) {
      overflow[static_cast<std::size_t>(t)] = 1;  // the bracket failed: count on, store no more
      std::vector<std::uint64_t>().swap(keys);
    }
  });
  BracketCounts total;
  for (const BracketCounts& c : per_chunk) {
    total.above += c.above;
    total.at_high += c.at_high;
    total.within += c.within;
    total.at_low += c.at_low;
    total.invalid += c.invalid;
  }
  selection.invalid += total.invalid;
  if (selection.invalid > 0) return false;
  if (!(total.above < k && k <= total.above + total.at_high + total.within + total.at_low)) return false;

  // Per chunk: the keys above the threshold, and those equal to it.
  std::vector<std::int64_t> greater(static_cast<std::size_t>(chunks)), ties(static_cast<std::size_t>(chunks));
  if (k <= total.above + total.at_high) {
    selection.threshold = high;
    for (std::int64_t c = 0; c < chunks; ++c) {
      greater[static_cast<std::size_t>(c)] = per_chunk[static_cast<std::size_t>(c)].above;
      ties[static_cast<std::size_t>(c)] = per_chunk[static_cast<std::size_t>(c)].at_high;
    }
  } else if (k <= total.above + total.at_high + total.within) {
    for (char o : overflow) {
      if (o) return false;
    }
    const std::int64_t rank = k - total.above - total.at_high;  // the rank-th largest strictly inside
    std::vector<std::uint64_t> keys;
    keys.reserve(static_cast<std::size_t>(total.within));
    for (const auto& part : collected) keys.insert(keys.end(), part.begin(), part.end());
    std::vector<std::uint64_t> order = keys;
    std::nth_element(order.begin(), order.begin() + (rank - 1), order.end(), std::greater<>());
    selection.threshold = order[static_cast<std::size_t>(rank - 1)];
    std::size_t next = 0;
    for (std::int64_t c = 0; c < chunks; ++c) {
      const BracketCounts& counts = per_chunk[static_cast<std::size_t>(c)];
      std::int64_t bigger = 0, equal = 0;
      for (std::int64_t j = 0; j < counts.within; ++j) {
        const std::uint64_t key = keys[next++];
        bigger += key > selection.threshold;
        equal += key == selection.threshold;
      }
      greater[static_cast<std::size_t>(c)] = counts.above + counts.at_high + bigger;
      ties[static_cast<std::size_t>(c)] = equal;
    }
  } else {
    selection.threshold = low;
    for (std::int64_t c = 0; c < chunks; ++c) {
      const BracketCounts& counts = per_chunk[static_cast<std::size_t>(c)];
      greater[static_cast<std::size_t>(c)] = counts.above + counts.at_high + counts.within;
      ties[static_cast<std::size_t>(c)] = counts.at_low;
    }
  }
  std::int64_t above_threshold = 0;
  for (std::int64_t g : greater) above_threshold += g;
  selection.ties_taken = k - above_threshold;
  for (std::int64_t c = 0; c < chunks; ++c) {
    const auto u = static_cast<std::size_t>(c);
    const std::int64_t ties_left = std::max<std::int64_t>(0, selection.ties_taken - selection.ties_before[u]);
    selection.ties_before[u + 1] = selection.ties_before[u] + ties[u];
    selection.selected_before[u + 1] = selection.selected_before[u] + greater[u] + std::min(ties[u], ties_left);
  }
  return true;
}

// key_of(i) -> std::uint64_t holding a key of `key_bits` bits (16, 32 or 64), for i in [0, n);
// count_chunk does the bracket passes over the same keys (bracket_counter).
template <class KeyOf, class CountChunk>
ChunkedSelection select_largest(std::int64_t n, std::int64_t k, int key_bits, std::uint64_t largest_valid,
                                const KeyOf& key_of, const CountChunk& count_chunk) {
  ChunkedSelection selection;
  const std::int64_t chunks = select_chunk_count(n);
  selection.selected_before.assign(static_cast<std::size_t>(chunks + 1), 0);
  selection.ties_before.assign(static_cast<std::size_t>(chunks + 1), 0);
  if (n == 0 || k <= 0) return selection;
  constexpr int kDigitBits = 16;
  constexpr std::size_t kBuckets = std::size_t{1} << kDigitBits;
  const std::int64_t collect_limit = n / 16 + static_cast<std::int64_t>(kBuckets);
  const std::uint64_t all_ones = key_bits == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << key_bits) - 1;

  // The sampled bracket: keys at evenly spaced positions, the k-th largest's sample rank +- 4.5
  // standard deviations of a sample quantile (and 16 more ranks for small samples).
  constexpr std::int64_t kSample = std::int64_t{1} << 16;
  if (n >= 16 * kSample) {
    std::vector<std::uint64_t> sample(static_cast<std::size_t>(kSample));
    for (std::int64_t j = 0; j < kSample; ++j) sample[static_cast<std::size_t>(j)] = key_of(j * (n / kSample));
    const double rank = static_cast<double>(k) / static_cast<double>(n) * static_cast<double>(kSample) - 1.0;
    const double margin = 4.5 * std::sqrt(std::max(rank, 1.0) * (1.0 - rank / kSample)) + 16.0;
    const auto top = static_cast<std::int64_t>(std::floor(rank - margin));
    const auto bottom = static_cast<std::int64_t>(std::ceil(rank + margin));
    // The sample's top-th and bottom-th largest (two partial selections, not a sort).
    auto sample_rank = [&](std::int64_t rank_from_top) {
      std::nth_element(sample.begin(), sample.begin() + rank_from_top, sample.end(), std::greater<>());
      return sample[static_cast<std::size_t>(rank_from_top)];
    };
    const std::uint64_t low = bottom >= kSample ? 0 : sample_rank(bottom);
    const std::uint64_t high = top < 0 ? all_ones : sample_rank(top);
    // Keys strictly inside are stored, so repeated keys at the ends cost nothing; repeated keys
    // between them can make the bracket hold far more than its ranks, and then the radix passes
    // serve better than a pass that would give up collecting.
    const auto sampled_inside =
        std::count_if(sample.begin(), sample.end(), [&](std::uint64_t key) { return low < key && key < high; });
    const bool narrow = low == high || static_cast<double>(sampled_inside) / kSample * static_cast<double>(n) <
                                           0.5 * static_cast<double>(collect_limit);
    if (narrow &&
        (select_in_bracket(n, k, low, high, collect_limit, count_chunk, selection) || selection.invalid > 0)) {
      return selection;
    }
  }

  // Radix passes: each resolves the next 16 bits of the k-th largest key.
  const int threads = select_threads(n);
  std::uint64_t prefix = 0;   // the resolved top bits of the k-th largest key
  int resolved = 0;           // how many
  std::int64_t rank = k;      // the k-th largest is the rank-th largest within the prefix's range
  std::int64_t in_range = n;  // keys within it
  auto matches_prefix = [&](std::uint64_t key) { return resolved == 0 || (key >> (key_bits - resolved)) == prefix; };
  std::vector<std::vector<std::int64_t>> histograms(static_cast<std::size_t>(threads));
  std::vector<std::int64_t> invalid(static_cast<std::size_t>(threads), 0);
  while (resolved < key_bits && (resolved == 0 || in_range > collect_limit)) {
    const int shift = key_bits - resolved - kDigitBits;
    for (auto& h : histograms) h.assign(kBuckets, 0);
    for_each_chunk(n, threads, [&](std::int64_t c, int t) {
      std::int64_t* h = histograms[static_cast<std::size_t>(t)].data();
      const std::int64_t end = std::min(n, (c + 1) * kSelectChunk);
      std::int64_t above = 0;
      for (std::int64_t i = c * kSelectChunk; i < end; ++i) {
        const std::uint64_t key = key_of(i);
        above += key > largest_valid;
        if (matches_prefix(key)) ++h[(key >> shift) & (kBuckets - 1)];
      }
      invalid[static_cast<std::size_t>(t)] += above;
    });
    if (resolved == 0) {
      for (std::int64_t v : invalid) selection.invalid += v;
      if (selection.invalid > 0) return selection;
    }
    std::size_t bucket = kBuckets;
    std::int64_t count = 0;
    while (bucket > 0) {
      --bucket;
      count = 0;
      for (const auto& h : histograms) count += h[bucket];
      if (count >= rank) break;
      rank -= count;
    }
    prefix = (prefix << kDigitBits) | bucket;
    resolved += kDigitBits;
    in_range = count;
  }
  const int open_bits = key_bits - resolved;
  const std::uint64_t low = prefix << open_bits;
  const std::uint64_t high = low | (open_bits == 0 ? 0 : (~std::uint64_t{0} >> (64 - open_bits)));
  // The radix passes left at most collect_limit keys in this bracket (none strictly inside when
  // every bit is resolved), so it stores them without a limit: a per-thread share of a limit can
  // be smaller than what one thread's chunks hold, and the selection then came back empty.
  if (!select_in_bracket(n, k, low, high, std::numeric_limits<std::int64_t>::max(), count_chunk, selection) &&
      selection.invalid == 0) {
    throw std::logic_error("internal: the last bracket of an exact selection does not hold the k-th key");
  }
  return selection;
}

template <class KeyOf>
ChunkedSelection select_largest(std::int64_t n, std::int64_t k, int key_bits, std::uint64_t largest_valid,
                                const KeyOf& key_of) {
  return select_largest(n, k, key_bits, largest_valid, key_of, bracket_counter(largest_valid, key_of));
}

}  // namespace mlprims::detail
