// The two encodings of a delta's support: ascending positions, or a bitmask (bit p % 8 of byte
// p / 8). Both are checked before anything is written through them: positions in range and
// strictly ascending, a bitmask with no bit set past numel and as many bits as values.
#pragma once

#include <cstdint>
#include <vector>

#include "mlprims/core/tensor.hpp"
#include "sparse/argument_checks.hpp"

namespace mlprims::sparse::detail {

constexpr std::int64_t kMaskChunkBytes = 8192;  // 65536 positions

inline std::int64_t mask_bytes(std::int64_t numel) { return (numel + 7) / 8; }

// Set bits in each chunk of the mask before it (one past the last: the total). Throws ValueError
// (naming `arg`) when a bit past numel is set.
std::vector<std::int64_t> mask_offsets(const std::uint8_t* mask, std::int64_t numel, ArgRef arg);

// Throws ValueError (naming `arg`) unless indices[0, nnz) are strictly ascending in [0, numel).
void require_positions(const TensorView& indices, std::int64_t numel, ArgRef arg);

}  // namespace mlprims::sparse::detail
