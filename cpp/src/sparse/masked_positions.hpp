// The coordinates a Support names, validated once and visited in parallel with their ranks: the
// one loop under gather, scatter, apply, the masked Adam step and the masked perturbation.
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

}  // namespace mlprims::sparse::detail
