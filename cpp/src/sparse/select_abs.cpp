// Exact selection by magnitude on one tensor: the k-th largest |x| and the k largest entries.
#include <cstring>
#include <string>

#include "core/exact_select.hpp"
#include "core/float_elements.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/sparse.hpp"
#include "sparse/argument_checks.hpp"
#include "sparse/keep_passes.hpp"

namespace mlprims::sparse {

namespace {

const detail::KeepKernels& kernels_of(const TensorView& x) { return detail::keep_kernels(x.dtype(), x.dtype(), false); }

template <class T>
mlprims::detail::ChunkedSelection select_abs(const char* function, const TensorView& x, std::int64_t k) {
  const T* data = x.data_as<const T>();
  auto selection = detail::select_largest_keys(kernels_of(x), nullptr, data, x.numel(), k,
                                               8 * static_cast<int>(sizeof(T)), mlprims::detail::infinity_key<T>(),
                                               [&](std::int64_t i) { return mlprims::detail::magnitude_key(data[i]); });
  if (selection.invalid > 0) {
    throw ValueError(std::string(function) + ": 'x' has " + std::to_string(selection.invalid) +
                     " NaN entries, which cannot be ranked by magnitude");
  }
  return selection;
}

void check(const char* function, const TensorView& x, std::int64_t k) {
  detail::require_weights(x, {function, "x"});
  if (k < 1 || k > x.numel()) {
    throw ValueError(std::string(function) + ": 'k' must be in [1, " + std::to_string(x.numel()) +
                     "] (the number of elements), got " + std::to_string(k));
  }
}

}  // namespace

double kth_largest_abs(const TensorView& x, std::int64_t k) {
  constexpr const char* kFunction = "sparse.kth_largest_abs";
  check(kFunction, x, k);
  return mlprims::detail::visit_float_type(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const auto key = static_cast<mlprims::detail::MagnitudeKey<T>>(select_abs<T>(kFunction, x, k).threshold);
    T value;
    std::memcpy(&value, &key, sizeof value);
    return mlprims::detail::to_double(value);
  });
}

void topk_abs(const TensorView& x, std::int64_t k, const TensorView& indices, const TensorView& values) {
  constexpr const char* kFunction = "sparse.topk_abs";
  check(kFunction, x, k);
  detail::require_index_dtype(indices, {kFunction, "indices"});
  detail::require_vector(indices, k, {kFunction, "indices"});
  detail::require_index_range(indices, x.numel(), {kFunction, "indices"});
  detail::require_vector(values, k, {kFunction, "values"});
  mlprims::detail::require_dtype(values, x.dtype(), {kFunction, "values"});
  mlprims::detail::require_writable(indices, {kFunction, "indices"});
  mlprims::detail::require_writable(values, {kFunction, "values"});
  mlprims::detail::visit_float_type(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const auto selection = select_abs<T>(kFunction, x, k);
    detail::ChunkRule rule;
    rule.threshold = selection.threshold;
    mlprims::detail::visit_index_type(indices.dtype(), [&](auto index_tag) {
      using I = decltype(index_tag);
      I* out = indices.data_as<I>();
      detail::write_kept_chunks(kFunction, kernels_of(x), nullptr, x.data(), x.numel(), selection, rule, values.data(),
                                sizeof(T),
                                [out](std::int64_t begin, std::int64_t end, const std::uint64_t* words,
                                      std::int64_t slot) { detail::write_positions(begin, end, words, slot, out); });
    });
  });
}

}  // namespace mlprims::sparse
