// The passes of a tensor-level selection over the kernels of keep_kernels.hpp: the bracket
// selection, and the write pass over chunks in parallel (used by extract and topk_abs).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/exact_select.hpp"
#include "sparse/keep_kernels.hpp"

namespace mlprims::sparse::detail {

// keep_kernels.hpp's KeySink over a vector.
class AppendToVector final : public KeySink {
 public:
  explicit AppendToVector(std::vector<std::uint64_t>& keys) : keys_(keys) {}
  void append(const std::uint64_t* keys, std::int64_t count) override { keys_.insert(keys_.end(), keys, keys + count); }

 private:
  std::vector<std::uint64_t>& keys_;
};

// The k largest magnitude keys of what `kernels` reads (core/exact_select's select_largest, its
// bracket passes vectorized); key_of(i) is the scalar key, for the sample and the radix passes.
template <class KeyOf>
mlprims::detail::ChunkedSelection select_largest_keys(const KeepKernels& kernels, const void* base, const void* tuned,
                                                      std::int64_t n, std::int64_t k, int key_bits,
                                                      std::uint64_t largest_valid, const KeyOf& key_of) {
  return mlprims::detail::select_largest(n, k, key_bits, largest_valid, key_of,
                                         [&](std::int64_t begin, std::int64_t end, std::uint64_t low,
                                             std::uint64_t high, bool store, std::vector<std::uint64_t>& inside) {
                                           AppendToVector sink(inside);
                                           return kernels.count_bracket(base, tuned, begin, end, low, high,
                                                                        largest_valid, store, sink);
                                         });
}

// The write pass of a chunked selection, chunks in parallel: each chunk's kernel writes its values
// (value_size bytes each) from slot table.selected_before[chunk] on and returns the kept positions
// as bits, which put_words(begin, end, words, first_slot) stores as a list or a bitmask. A chunk
// that keeps other than its planned count is an internal error of `function`.
template <class PutWords>
void write_kept_chunks(const char* function, const KeepKernels& kernels, const void* base, const void* tuned,
                       std::int64_t n, const mlprims::detail::ChunkedSelection& table, const ChunkRule& rule,
                       void* values, std::size_t value_size, const PutWords& put_words) {
  const int threads = mlprims::detail::select_threads(n);
  std::vector<std::vector<std::uint64_t>> words(static_cast<std::size_t>(threads));
  bool consistent = true;
  mlprims::detail::for_each_chunk(n, threads, [&](std::int64_t c, int t) {
    const auto u = static_cast<std::size_t>(c);
    const std::int64_t begin = c * mlprims::detail::kSelectChunk;
    const std::int64_t end = std::min(n, begin + mlprims::detail::kSelectChunk);
    auto& chunk_words = words[static_cast<std::size_t>(t)];
    chunk_words.resize(static_cast<std::size_t>(mlprims::detail::kSelectChunk / 64));
    ChunkRule chunk = rule;
    chunk.ties_left = std::max<std::int64_t>(0, table.ties_taken - table.ties_before[u]);
    const std::int64_t first = table.selected_before[u];
    const std::int64_t capacity = table.selected_before[u + 1] - first;
    void* chunk_values = static_cast<char*>(values) + static_cast<std::size_t>(first) * value_size;
    if (kernels.write_kept(base, tuned, begin, end, chunk, chunk_words.data(), chunk_values, capacity) != capacity) {
#pragma omp atomic write
      consistent = false;
      return;
    }
    put_words(begin, end, chunk_words.data(), first);
  });
  if (!consistent) throw std::logic_error(std::string(function) + ": internal: the write pass disagrees with the plan");
}

// put_words for a list: the positions of the set bits, in order, from out[slot] on.
template <class I>
void write_positions(std::int64_t begin, std::int64_t end, const std::uint64_t* words, std::int64_t slot, I* out) {
  for (std::int64_t w = 0; w < (end - begin + 63) / 64; ++w) {
    for (std::uint64_t bits = words[w]; bits != 0; bits &= bits - 1) {
      out[slot++] = static_cast<I>(begin + 64 * w + __builtin_ctzll(bits));
    }
  }
}

}  // namespace mlprims::sparse::detail
