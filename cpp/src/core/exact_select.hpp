// Exact selection of the k largest of n unsigned keys, in O(n) and without sorting: radix passes
// (16-bit digit histograms) narrow down the bucket that holds the k-th largest key, one more
// pass counts what lies above that bucket and collects the keys inside it, and the k-th largest is
// found among those (they are few: a bucket holding more than n/16 keys is refined by another
// histogram pass first, so the collected keys never take more than n/16 + 2^16 slots).
//
// Order: larger keys first; among equal keys the lower position first. The result is a table per
// chunk of kSelectChunk positions (how many kept and how many ties met before it), so that a
// later pass can write the kept entries in position order, in parallel, and the answer does not
// depend on the number of threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
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
  bool keeps(std::uint64_t key, std::int64_t& ties_seen) const {
    if (key > threshold) return true;
    if (key != threshold) return false;
    return ties_seen++ < ties_taken;
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

// key_of(i) -> std::uint64_t holding a key of `key_bits` bits (16, 32 or 64), for i in [0, n).
template <class KeyOf>
ChunkedSelection select_largest(std::int64_t n, std::int64_t k, int key_bits, std::uint64_t largest_valid,
                                const KeyOf& key_of) {
  ChunkedSelection selection;
  const std::int64_t chunks = select_chunk_count(n);
  selection.selected_before.assign(static_cast<std::size_t>(chunks + 1), 0);
  selection.ties_before.assign(static_cast<std::size_t>(chunks + 1), 0);
  if (n == 0 || k <= 0) return selection;
  const int threads = select_threads(n);
  constexpr int kDigitBits = 16;
  constexpr std::size_t kBuckets = std::size_t{1} << kDigitBits;
  const std::int64_t collect_limit = n / 16 + static_cast<std::int64_t>(kBuckets);

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

  // Count the keys above the range and collect those inside it, chunk by chunk.
  const int open_bits = key_bits - resolved;
  const std::uint64_t low = open_bits >= 64 ? 0 : prefix << open_bits;
  const std::uint64_t high = low | (open_bits == 0 ? 0 : (~std::uint64_t{0} >> (64 - open_bits)));
  const bool store = open_bits > 0;
  std::vector<std::int64_t> greater(static_cast<std::size_t>(chunks), 0), inside(static_cast<std::size_t>(chunks), 0);
  std::vector<std::vector<std::uint64_t>> collected(static_cast<std::size_t>(threads));
  for_each_chunk(n, threads, [&](std::int64_t c, int t) {
    auto& keys = collected[static_cast<std::size_t>(t)];
    const std::int64_t end = std::min(n, (c + 1) * kSelectChunk);
    std::int64_t above = 0, within = 0;
    for (std::int64_t i = c * kSelectChunk; i < end; ++i) {
      const std::uint64_t key = key_of(i);
      above += key > high;
      if (key >= low && key <= high) {
        ++within;
        if (store) keys.push_back(key);
      }
    }
    greater[static_cast<std::size_t>(c)] = above;
    inside[static_cast<std::size_t>(c)] = within;
  });

  std::vector<std::int64_t> ties = inside;
  if (store) {
    std::vector<std::uint64_t> keys;
    keys.reserve(static_cast<std::size_t>(in_range));
    for (const auto& part : collected) keys.insert(keys.end(), part.begin(), part.end());
    std::vector<std::uint64_t> order = keys;
    std::nth_element(order.begin(), order.begin() + (rank - 1), order.end(), std::greater<>());
    selection.threshold = order[static_cast<std::size_t>(rank - 1)];
    std::size_t next = 0;
    for (std::int64_t c = 0; c < chunks; ++c) {
      std::int64_t above = 0, equal = 0;
      for (std::int64_t j = 0; j < inside[static_cast<std::size_t>(c)]; ++j) {
        const std::uint64_t key = keys[next++];
        above += key > selection.threshold;
        equal += key == selection.threshold;
      }
      greater[static_cast<std::size_t>(c)] += above;
      ties[static_cast<std::size_t>(c)] = equal;
    }
  } else {
    selection.threshold = low;
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
  return selection;
}

}  // namespace mlprims::detail
