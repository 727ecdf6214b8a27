// The two encodings of a delta's support: ascending positions, or a bitmask (bit p % 8 of byte
// p / 8). Both are checked before anything is written through them: positions in range and
// strictly ascending, a bitmask with no bit set past numel and as many bits as values.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "mlprims/core/tensor.hpp"
#include "sparse/argument_checks.hpp"

namespace mlprims::sparse::detail {

constexpr std::int64_t kMaskChunkBytes = 8192;  // 65536 positions

inline std::int64_t mask_bytes(std::int64_t numel) { return (numel + 7) / 8; }

// Calls visit(position) for every set bit of mask bytes [begin, end), in ascending order, eight
// bytes at a time (a little-endian word holds positions 8 * begin + 0 ... 63 in bit order).
template <class Visit>
void for_each_set_bit(const std::uint8_t* mask, std::int64_t begin, std::int64_t end, const Visit& visit) {
  std::int64_t b = begin;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  for (; b + 8 <= end; b += 8) {
    std::uint64_t word;
    std::memcpy(&word, mask + b, sizeof word);
    for (; word != 0; word &= word - 1) visit(8 * b + __builtin_ctzll(word));
  }
#endif
  for (; b < end; ++b) {
    for (unsigned bits = mask[b]; bits != 0; bits &= bits - 1) visit(8 * b + __builtin_ctz(bits));
  }
}

// Set bits in each chunk of the mask before it (one past the last: the total). Throws ValueError
// (naming `arg`) when a bit past numel is set.
std::vector<std::int64_t> mask_offsets(const std::uint8_t* mask, std::int64_t numel, ArgRef arg);

// Throws ValueError (naming `arg`) unless indices[0, nnz) are strictly ascending in [0, numel).
void require_positions(const TensorView& indices, std::int64_t numel, ArgRef arg);

}  // namespace mlprims::sparse::detail
