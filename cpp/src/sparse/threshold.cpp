// ThresholdSelection: the coordinates where |x| is below or above a threshold (SaRA's rule), as a
// counting pass and a write pass, like a changed-entries extraction of a single tensor.
#include <cmath>
#include <string>

#include "core/checks.hpp"
#include "core/exact_select.hpp"
#include "core/float_elements.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/sparse.hpp"
#include "sparse/argument_checks.hpp"
#include "sparse/support.hpp"

namespace mlprims::sparse {

namespace {
constexpr const char* kFunction = "sparse.Mask.below/above";

// Runs body(x as const T*) for x's dtype.
template <class Body>
void visit_values(const TensorView& x, const Body& body) {
  mlprims::detail::visit_float_type(x.dtype(), [&](auto tag) { body(x.data_as<const decltype(tag)>()); });
}

template <class T>
bool is_selected(const T* x, std::int64_t i, double threshold, bool below) {
  const double magnitude = std::fabs(mlprims::detail::to_double(x[i]));
  return below ? magnitude < threshold : magnitude > threshold;
}
}  // namespace

ThresholdSelection::ThresholdSelection(const TensorView& x, double threshold, bool below)
    : x_(x), threshold_(threshold), below_(below) {
  detail::require_weights(x, {kFunction, "W"});
  if (std::isnan(threshold)) throw ValueError(std::string(kFunction) + ": 'threshold' must not be NaN");
  visit_values(x_, [&](const auto* x_data) {
    selected_before_ = mlprims::detail::count_kept_per_chunk(
        x_.numel(), [&](std::int64_t i) { return is_selected(x_data, i, threshold_, below_); });
  });
}

void ThresholdSelection::write(const TensorView& indices) const {
  detail::require_vector(indices, nnz(), {kFunction, "indices"});
  detail::require_index_dtype(indices, {kFunction, "indices"});
  detail::require_index_range(indices, x_.numel(), {kFunction, "indices"});
  mlprims::detail::require_writable(indices, {kFunction, "indices"});
  const std::vector<std::int64_t> no_ties(selected_before_.size(), 0);
  visit_values(x_, [&](const auto* x_data) {
    mlprims::detail::visit_index_type(indices.dtype(), [&](auto tag) {
      using I = decltype(tag);
      I* out = indices.data_as<I>();
      mlprims::detail::write_kept(
          x_.numel(), selected_before_, no_ties,
          [&](std::int64_t i, std::int64_t&) { return is_selected(x_data, i, threshold_, below_); },
          [&](std::int64_t slot, std::int64_t i, bool) { out[slot] = static_cast<I>(i); });
    });
  });
}

void ThresholdSelection::write_bitmask(const TensorView& bitmask) const {
  const std::int64_t n = x_.numel();
  mlprims::detail::require_dtype(bitmask, DType::kUInt8, {kFunction, "bitmask"});
  detail::require_vector(bitmask, detail::mask_bytes(n), {kFunction, "bitmask"});
  mlprims::detail::require_writable(bitmask, {kFunction, "bitmask"});
  auto* mask = bitmask.data_as<std::uint8_t>();
  std::fill(mask, mask + detail::mask_bytes(n), std::uint8_t{0});
  const std::vector<std::int64_t> no_ties(selected_before_.size(), 0);
  visit_values(x_, [&](const auto* x_data) {
    mlprims::detail::write_kept(
        n, selected_before_, no_ties,
        [&](std::int64_t i, std::int64_t&) { return is_selected(x_data, i, threshold_, below_); },
        [&](std::int64_t, std::int64_t i, bool kept) {
          mask[i >> 3] |= static_cast<std::uint8_t>(static_cast<unsigned>(kept) << (i & 7));
        });
  });
}

}  // namespace mlprims::sparse
