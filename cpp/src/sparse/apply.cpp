// Applying a sparse delta in place, and converting between its two support encodings.
#include <algorithm>
#include <cmath>
#include <string>

#include "core/checks.hpp"
#include "core/float_elements.hpp"
#include "core/parallel.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/sparse.hpp"
#include "sparse/argument_checks.hpp"
#include "sparse/support.hpp"

namespace mlprims::sparse {

using detail::ArgRef;
using mlprims::detail::round_from_double;
using mlprims::detail::to_double;

namespace {

void check_alpha(const char* function, double alpha) {
  if (!std::isfinite(alpha)) {
    throw ValueError(std::string(function) + ": 'alpha' must be finite, got " + mlprims::detail::format_double(alpha));
  }
}

void check_weights_and_values(const char* function, const TensorView& weights, const TensorView& values) {
  detail::require_weights(weights, {function, "W"});
  mlprims::detail::require_writable(weights, {function, "W"});
  detail::require_value_dtype(values.dtype(), {function, "values"});
  detail::require_disjoint(weights, values, {function, "W"}, {function, "values"});
}

}  // namespace

void apply_indices(const TensorView& weights, const TensorView& indices, const TensorView& values, double alpha) {
  constexpr const char* kFunction = "sparse.apply_";
  check_weights_and_values(kFunction, weights, values);
  detail::require_index_dtype(indices, {kFunction, "indices"});
  detail::require_vector(indices, indices.numel(), {kFunction, "indices"});
  detail::require_vector(values, indices.numel(), {kFunction, "values"});
  check_alpha(kFunction, alpha);
  detail::require_positions(indices, weights.numel(), {kFunction, "indices"});
  const std::int64_t nnz = indices.numel();
  const int threads = mlprims::detail::threads_for(nnz, std::int64_t{1} << 15);
  mlprims::detail::visit_float_type(weights.dtype(), [&](auto w_tag) {
    using W = decltype(w_tag);
    mlprims::detail::visit_float_type(values.dtype(), [&](auto v_tag) {
      using V = decltype(v_tag);
      mlprims::detail::visit_index_type(indices.dtype(), [&](auto i_tag) {
        using I = decltype(i_tag);
        W* w = weights.data_as<W>();
        const V* v = values.data_as<const V>();
        const I* p = indices.data_as<const I>();
#pragma omp parallel for num_threads(threads) if (threads > 1)
        for (std::int64_t j = 0; j < nnz; ++j) {
          W& target = w[p[j]];
          target = round_from_double<W>(to_double(target) + alpha * to_double(v[j]));
        }
      });
    });
  });
}

void apply_bitmask(const TensorView& weights, const TensorView& bitmask, const TensorView& values, double alpha) {
  constexpr const char* kFunction = "sparse.apply_";
  check_weights_and_values(kFunction, weights, values);
  const std::int64_t numel = weights.numel();
  mlprims::detail::require_dtype(bitmask, DType::kUInt8, {kFunction, "bitmask"});
  detail::require_vector(bitmask, detail::mask_bytes(numel), {kFunction, "bitmask"});
  check_alpha(kFunction, alpha);
  const auto* mask = bitmask.data_as<const std::uint8_t>();
  const std::vector<std::int64_t> offsets = detail::mask_offsets(mask, numel, {kFunction, "bitmask"});
  detail::require_vector(values, offsets.back(), {kFunction, "values"});
  const std::int64_t chunks = static_cast<std::int64_t>(offsets.size()) - 1;
  const std::int64_t bytes = detail::mask_bytes(numel);
  const int threads = mlprims::detail::threads_for(bytes, detail::kMaskChunkBytes);
  mlprims::detail::visit_float_type(weights.dtype(), [&](auto w_tag) {
    using W = decltype(w_tag);
    mlprims::detail::visit_float_type(values.dtype(), [&](auto v_tag) {
      using V = decltype(v_tag);
      W* w = weights.data_as<W>();
      const V* v = values.data_as<const V>();
#pragma omp parallel for num_threads(threads) if (threads > 1)
      for (std::int64_t c = 0; c < chunks; ++c) {
        std::int64_t next = offsets[static_cast<std::size_t>(c)];
        const std::int64_t end = std::min(bytes, (c + 1) * detail::kMaskChunkBytes);
        detail::for_each_set_bit(mask, c * detail::kMaskChunkBytes, end, [&](std::int64_t p) {
          w[p] = round_from_double<W>(to_double(w[p]) + alpha * to_double(v[next++]));
        });
      }
    });
  });
}

void indices_to_bitmask(const TensorView& indices, std::int64_t numel, const TensorView& bitmask) {
  constexpr const char* kFunction = "sparse.indices_to_bitmask";
  detail::require_index_dtype(indices, {kFunction, "indices"});
  detail::require_vector(indices, indices.numel(), {kFunction, "indices"});
  mlprims::detail::require_dtype(bitmask, DType::kUInt8, {kFunction, "bitmask"});
  detail::require_vector(bitmask, detail::mask_bytes(numel), {kFunction, "bitmask"});
  mlprims::detail::require_writable(bitmask, {kFunction, "bitmask"});
  detail::require_positions(indices, numel, {kFunction, "indices"});
  auto* mask = bitmask.data_as<std::uint8_t>();
  std::fill(mask, mask + detail::mask_bytes(numel), std::uint8_t{0});
  mlprims::detail::visit_index_type(indices.dtype(), [&](auto tag) {
    using I = decltype(tag);
    const I* p = indices.data_as<const I>();
    for (std::int64_t j = 0; j < indices.numel(); ++j) mask[p[j] >> 3] |= static_cast<std::uint8_t>(1u << (p[j] & 7));
  });
}

std::int64_t bitmask_count(const TensorView& bitmask, std::int64_t numel) {
  constexpr const char* kFunction = "sparse.bitmask_count";
  mlprims::detail::require_dtype(bitmask, DType::kUInt8, {kFunction, "bitmask"});
  detail::require_vector(bitmask, detail::mask_bytes(numel), {kFunction, "bitmask"});
  return detail::mask_offsets(bitmask.data_as<const std::uint8_t>(), numel, {kFunction, "bitmask"}).back();
}

void bitmask_to_indices(const TensorView& bitmask, std::int64_t numel, const TensorView& indices) {
  constexpr const char* kFunction = "sparse.bitmask_to_indices";
  mlprims::detail::require_dtype(bitmask, DType::kUInt8, {kFunction, "bitmask"});
  detail::require_vector(bitmask, detail::mask_bytes(numel), {kFunction, "bitmask"});
  const auto* mask = bitmask.data_as<const std::uint8_t>();
  const std::vector<std::int64_t> offsets = detail::mask_offsets(mask, numel, {kFunction, "bitmask"});
  detail::require_index_dtype(indices, {kFunction, "indices"});
  detail::require_vector(indices, offsets.back(), {kFunction, "indices"});
  detail::require_index_range(indices, numel, {kFunction, "indices"});
  mlprims::detail::require_writable(indices, {kFunction, "indices"});
  const std::int64_t chunks = static_cast<std::int64_t>(offsets.size()) - 1;
  const std::int64_t bytes = detail::mask_bytes(numel);
  const int threads = mlprims::detail::threads_for(bytes, detail::kMaskChunkBytes);
  mlprims::detail::visit_index_type(indices.dtype(), [&](auto tag) {
    using I = decltype(tag);
    I* out = indices.data_as<I>();
#pragma omp parallel for num_threads(threads) if (threads > 1)
    for (std::int64_t c = 0; c < chunks; ++c) {
      std::int64_t next = offsets[static_cast<std::size_t>(c)];
      const std::int64_t end = std::min(bytes, (c + 1) * detail::kMaskChunkBytes);
      detail::for_each_set_bit(mask, c * detail::kMaskChunkBytes, end,
                               [&](std::int64_t p) { out[next++] = static_cast<I>(p); });
    }
  });
}

}  // namespace mlprims::sparse
