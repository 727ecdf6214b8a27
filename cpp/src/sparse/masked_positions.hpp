// The coordinates a Support names, validated once and visited in parallel with their ranks, one
// by one or in blocks: the one loop under gather, scatter, apply, the masked Adam step and the
// masked perturbation. update_each is the read-modify-write of masked coordinates built on it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/float_elements.hpp"
#include "core/parallel.hpp"
#include "mlprims/sparse.hpp"
#include "sparse/argument_checks.hpp"
#include "sparse/support.hpp"

namespace mlprims::sparse::detail {

class MaskedPositions {
 public:
  // Checks the support against a tensor of `numel` elements (ValueError/TypeError naming `arg`):
  // positions strictly ascending and in range, or a bitmask of the right length with no bit past
  // numel.
  MaskedPositions(const Support& mask, std::int64_t numel, ArgRef arg) : mask_(mask), numel_(numel) {
    switch (mask.encoding) {
      case Support::Encoding::kIndices:
        require_index_dtype(mask.positions, arg);
        require_vector(mask.positions, mask.positions.numel(), arg);
        require_positions(mask.positions, numel, arg);
        nnz_ = mask.positions.numel();
        break;
      case Support::Encoding::kBitmask:
        mlprims::detail::require_dtype(mask.positions, DType::kUInt8, arg);
        require_vector(mask.positions, mask_bytes(numel), arg);
        offsets_ = mask_offsets(mask.positions.data_as<const std::uint8_t>(), numel, arg);
        nnz_ = offsets_.back();
        break;
      case Support::Encoding::kAll:
        nnz_ = numel;
        break;
    }
  }

  std::int64_t nnz() const { return nnz_; }

  // Up to this many coordinates are visited as one block.
  static constexpr int kBlock = 256;

  // visit_block(positions, first_rank, count) for consecutive runs of at most kBlock coordinates
  // (positions ascending, ranks first_rank ... first_rank + count - 1), on up to the configured
  // threads; `grain` is the number of coordinates worth a thread.
  template <class VisitBlock>
  void for_each_block(const VisitBlock& visit_block, std::int64_t grain = std::int64_t{1} << 15) const {
    const int threads = mlprims::detail::threads_for(nnz_, grain);
    // Indices and "all": blocks of consecutive ranks, positions copied into a local block.
    const auto rank_blocks = [&](const auto& position_at) {
      const std::int64_t blocks = (nnz_ + kBlock - 1) / kBlock;
#pragma omp parallel for num_threads(threads) if (threads > 1)
      for (std::int64_t b = 0; b < blocks; ++b) {
        std::int64_t block[kBlock];
        const std::int64_t first = b * kBlock;
        const int count = static_cast<int>(std::min<std::int64_t>(kBlock, nnz_ - first));
        for (int i = 0; i < count; ++i) block[i] = position_at(first + i);
        visit_block(block, first, count);
      }
    };
    switch (mask_.encoding) {
      case Support::Encoding::kIndices:
        mlprims::detail::visit_index_type(mask_.positions.dtype(), [&](auto tag) {
          const auto* p = mask_.positions.data_as<const decltype(tag)>();
          rank_blocks([p](std::int64_t j) { return static_cast<std::int64_t>(p[j]); });
        });
        break;
      case Support::Encoding::kBitmask: {
        const auto* bits = mask_.positions.data_as<const std::uint8_t>();
        const std::int64_t chunks = static_cast<std::int64_t>(offsets_.size()) - 1;
        const std::int64_t bytes = mask_bytes(numel_);
#pragma omp parallel for num_threads(threads) if (threads > 1)
        for (std::int64_t c = 0; c < chunks; ++c) {
          std::int64_t block[kBlock];
          std::int64_t rank = offsets_[static_cast<std::size_t>(c)];
          int count = 0;
          const std::int64_t end = std::min(bytes, (c + 1) * kMaskChunkBytes);
          for_each_set_bit(bits, c * kMaskChunkBytes, end, [&](std::int64_t position) {
            block[count++] = position;
            if (count == kBlock) {
              visit_block(block, rank, count);
              rank += count;
              count = 0;
            }
          });
          if (count > 0) visit_block(block, rank, count);
        }
        break;
      }
      case Support::Encoding::kAll:
        rank_blocks([](std::int64_t j) { return j; });
        break;
    }
  }

  // visit(position, rank) for every coordinate, on up to the configured threads; `grain` is the
  // number of coordinates worth a thread.
  template <class Visit>
  void for_each(const Visit& visit, std::int64_t grain = std::int64_t{1} << 15) const {
    switch (mask_.encoding) {
      case Support::Encoding::kIndices:
        mlprims::detail::visit_index_type(mask_.positions.dtype(), [&](auto tag) {
          using I = decltype(tag);
          const I* p = mask_.positions.data_as<const I>();
          const int threads = mlprims::detail::threads_for(nnz_, grain);
#pragma omp parallel for num_threads(threads) if (threads > 1)
          for (std::int64_t j = 0; j < nnz_; ++j) visit(static_cast<std::int64_t>(p[j]), j);
        });
        break;
      case Support::Encoding::kBitmask: {
        const auto* bits = mask_.positions.data_as<const std::uint8_t>();
        const std::int64_t chunks = static_cast<std::int64_t>(offsets_.size()) - 1;
        const std::int64_t bytes = mask_bytes(numel_);
        // A chunk of kMaskChunkBytes holds 2^16 positions: worth a thread when dense enough.
        const int threads = mlprims::detail::threads_for(nnz_, grain);
#pragma omp parallel for num_threads(threads) if (threads > 1)
        for (std::int64_t c = 0; c < chunks; ++c) {
          std::int64_t rank = offsets_[static_cast<std::size_t>(c)];
          const std::int64_t end = std::min(bytes, (c + 1) * kMaskChunkBytes);
          for_each_set_bit(bits, c * kMaskChunkBytes, end, [&](std::int64_t position) { visit(position, rank++); });
        }
        break;
      }
      case Support::Encoding::kAll: {
        const int threads = mlprims::detail::threads_for(nnz_, grain);
#pragma omp parallel for num_threads(threads) if (threads > 1)
        for (std::int64_t i = 0; i < nnz_; ++i) visit(i, i);
        break;
      }
    }
  }

 private:
  Support mask_;
  std::int64_t numel_;
  std::int64_t nnz_ = 0;
  std::vector<std::int64_t> offsets_;  // bitmask: set bits before each chunk
};

// weights[p] = update(weights[p]) on every masked coordinate, in double, rounded once: the update
// gets (values, positions, first_rank, count) and changes values[0, count) in place. For 16-bit
// weights it runs on blocks, all loads of a block before its stores: a 16-bit store followed by a
// load of its neighbour stalls store forwarding (the bfloat16 Adam step ran 3x slower than the
// float32 one). For wider types one coordinate at a time is faster (measured; the block's extra
// pass over its positions costs more than it saves).
template <class T, class Update>
void update_each(T* weights, const MaskedPositions& positions, const Update& update,
                 std::int64_t grain = std::int64_t{1} << 15) {
  using mlprims::detail::round_from_double;
  using mlprims::detail::to_double;
  if constexpr (sizeof(T) == 2) {
    positions.for_each_block(
        [&](const std::int64_t* p, std::int64_t first_rank, int count) {
          double values[MaskedPositions::kBlock];
          for (int i = 0; i < count; ++i) values[i] = to_double(weights[p[i]]);
          update(values, p, first_rank, count);
          for (int i = 0; i < count; ++i) weights[p[i]] = round_from_double<T>(values[i]);
        },
        grain);
  } else {
    positions.for_each(
        [&](std::int64_t p, std::int64_t rank) {
          double value = to_double(weights[p]);
          update(&value, &p, rank, 1);
          weights[p] = round_from_double<T>(value);
        },
        grain);
  }
}

}  // namespace mlprims::sparse::detail
