// Moving compact values through a support (apply a delta, gather, scatter), and converting
// between the two support encodings.
#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>

#include "core/checks.hpp"
#include "core/float_elements.hpp"
#include "core/parallel.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/sparse.hpp"
#include "sparse/argument_checks.hpp"
#include "sparse/masked_positions.hpp"
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

// Runs body(weights as W*, values as V*) for the dtypes of the two tensors.
template <class Body>
void visit_weights_and_values(const TensorView& weights, const TensorView& values, const Body& body) {
  mlprims::detail::visit_float_type(weights.dtype(), [&](auto w_tag) {
    mlprims::detail::visit_float_type(values.dtype(), [&](auto v_tag) {
      body(weights.data_as<decltype(w_tag)>(), values.data_as<decltype(v_tag)>());
    });
  });
}

void apply(const char* function, const TensorView& weights, const Support& mask, const TensorView& values,
           double alpha) {
  check_weights_and_values(function, weights, values);
  check_alpha(function, alpha);
  const detail::MaskedPositions positions(
      mask, weights.numel(), {function, mask.encoding == Support::Encoding::kBitmask ? "bitmask" : "indices"});
  detail::require_vector(values, positions.nnz(), {function, "values"});
  visit_weights_and_values(weights, values, [&](auto* w, auto* v) {
    detail::update_each(w, positions, [&](double* weight, const std::int64_t*, std::int64_t first, int count) {
      for (int i = 0; i < count; ++i) weight[i] += alpha * to_double(v[first + i]);
    });
  });
}

}  // namespace

void apply_indices(const TensorView& weights, const TensorView& indices, const TensorView& values, double alpha) {
  apply("sparse.apply_", weights, Support{Support::Encoding::kIndices, indices}, values, alpha);
}

void apply_bitmask(const TensorView& weights, const TensorView& bitmask, const TensorView& values, double alpha) {
  apply("sparse.apply_", weights, Support{Support::Encoding::kBitmask, bitmask}, values, alpha);
}

std::int64_t support_count(const Support& mask, std::int64_t numel) {
  return detail::MaskedPositions(mask, numel, {"sparse.Mask", "mask"}).nnz();
}

void gather(const TensorView& weights, const Support& mask, const TensorView& values) {
  constexpr const char* kFunction = "sparse.Mask.gather";
  detail::require_weights(weights, {kFunction, "W"});
  detail::require_value_dtype(values.dtype(), {kFunction, "values"});
  mlprims::detail::require_writable(values, {kFunction, "values"});
  detail::require_disjoint(weights, values, {kFunction, "W"}, {kFunction, "values"});
  const detail::MaskedPositions positions(mask, weights.numel(), {kFunction, "mask"});
  detail::require_vector(values, positions.nnz(), {kFunction, "values"});
  visit_weights_and_values(weights, values, [&](auto* w, auto* v) {
    using V = std::remove_pointer_t<decltype(v)>;
    positions.for_each([&](std::int64_t p, std::int64_t j) { v[j] = round_from_double<V>(to_double(w[p])); });
  });
}

void scatter(const TensorView& weights, const Support& mask, const TensorView& values) {
  constexpr const char* kFunction = "sparse.Mask.scatter_";
  check_weights_and_values(kFunction, weights, values);
  const detail::MaskedPositions positions(mask, weights.numel(), {kFunction, "mask"});
  detail::require_vector(values, positions.nnz(), {kFunction, "values"});
  visit_weights_and_values(weights, values, [&](auto* w, auto* v) {
    using W = std::remove_pointer_t<decltype(w)>;
    positions.for_each([&](std::int64_t p, std::int64_t j) { w[p] = round_from_double<W>(to_double(v[j])); });
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
