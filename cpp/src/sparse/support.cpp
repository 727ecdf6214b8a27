#include "sparse/support.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/float_elements.hpp"
#include "core/parallel.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::sparse::detail {

std::vector<std::int64_t> mask_offsets(const std::uint8_t* mask, std::int64_t numel, ArgRef arg) {
  const std::int64_t bytes = mask_bytes(numel);
  const std::int64_t chunks = (bytes + kMaskChunkBytes - 1) / kMaskChunkBytes;
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(chunks + 1), 0);
  const int threads = mlprims::detail::threads_for(bytes, kMaskChunkBytes);
#pragma omp parallel for num_threads(threads) if (threads > 1)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t end = std::min(bytes, (c + 1) * kMaskChunkBytes);
    std::int64_t count = 0, b = c * kMaskChunkBytes;
    for (; b + 8 <= end; b += 8) {
      std::uint64_t word;
      std::memcpy(&word, mask + b, sizeof word);
      count += __builtin_popcountll(word);
    }
    for (; b < end; ++b) count += __builtin_popcount(mask[b]);
    offsets[static_cast<std::size_t>(c + 1)] = count;
  }
  if (numel % 8 != 0 && bytes > 0 && (mask[bytes - 1] >> (numel % 8)) != 0) {
    throw ValueError(arg.prefix() + " has bits set past the tensor's " + std::to_string(numel) + " elements");
  }
  for (std::int64_t c = 0; c < chunks; ++c)
    offsets[static_cast<std::size_t>(c + 1)] += offsets[static_cast<std::size_t>(c)];
  return offsets;
}

void require_positions(const TensorView& indices, std::int64_t numel, ArgRef arg) {
  mlprims::detail::visit_index_type(indices.dtype(), [&](auto tag) {
    using I = decltype(tag);
    const I* p = indices.data_as<const I>();
    const std::int64_t nnz = indices.numel();
    bool ordered = true;
    const int threads = mlprims::detail::threads_for(nnz, std::int64_t{1} << 16);
#pragma omp parallel for reduction(&& : ordered) num_threads(threads) if (threads > 1)
    for (std::int64_t j = 0; j < nnz; ++j) {
      const std::int64_t position = static_cast<std::int64_t>(p[j]);
      ordered =
          ordered && position >= 0 && position < numel && (j == 0 || static_cast<std::int64_t>(p[j - 1]) < position);
    }
    if (!ordered) {
      throw ValueError(arg.prefix() + " must hold strictly ascending positions in [0, " + std::to_string(numel) +
                       "), got other values (a corrupted or foreign delta?)");
    }
  });
}

}  // namespace mlprims::sparse::detail
