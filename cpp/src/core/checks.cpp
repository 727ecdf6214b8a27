#include "core/checks.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

#include "mlprims/core/build_info.hpp"

namespace mlprims::detail {

std::string ArgRef::prefix() const { return std::string(function) + ": '" + name + "'"; }

std::string format_double(double value, int significant) {
  char buffer[40];
  for (int digits = 1; digits <= significant; ++digits) {
    std::snprintf(buffer, sizeof buffer, "%.*g", digits, value);
    if (std::strtod(buffer, nullptr) == value) break;  // NaN never compares equal: "nan" anyway
  }
  return buffer;
}

void require_floating(const TensorView& t, ArgRef arg) {
  if (t.dtype() != DType::kFloat32 && t.dtype() != DType::kFloat64) {
    throw TypeError(arg.prefix() + " must have dtype float32 or float64, got " + dtype_name(t.dtype()));
  }
}

void require_dtype(const TensorView& t, DType dtype, ArgRef arg) {
  if (t.dtype() != dtype) {
    throw TypeError(arg.prefix() + " must have dtype " + dtype_name(dtype) + ", got " + dtype_name(t.dtype()));
  }
}

void require_same_device(const TensorView& t, const Device& device, ArgRef arg) {
  if (t.device() != device) {
    throw ValueError(arg.prefix() + " must be on device " + device.str() + " like the other inputs, got " +
                     t.device().str());
  }
}

void require_contiguous(const TensorView& t, ArgRef arg) {
  if (!t.is_contiguous()) throw ValueError(arg.prefix() + " must be C-contiguous");
}

void require_writable(const TensorView& t, ArgRef arg) {
  if (t.read_only()) throw ValueError(arg.prefix() + " must be writable, got a read-only array");
  require_distinct_elements(t, arg);
}

// Sufficient for distinct elements (the test numpy and torch use): with the dimensions sorted by
// |stride|, each stride steps past everything the smaller ones reach. A zero stride (a broadcast
// or expanded view) fails it; so do exotic interleaved layouts, which cannot be told apart from
// overlapping ones in O(ndim) and get the same clear error.
void require_distinct_elements(const TensorView& t, ArgRef arg) {
  if (t.numel() == 0) return;
  std::vector<std::pair<std::int64_t, std::int64_t>> dims;  // (|stride|, size) of dims with size > 1
  for (int d = 0; d < t.ndim(); ++d) {
    if (t.shape(d) > 1) dims.emplace_back(t.stride(d) < 0 ? -t.stride(d) : t.stride(d), t.shape(d));
  }
  std::sort(dims.begin(), dims.end());
  std::int64_t reach = 0;  // the largest offset the smaller-stride dimensions reach
  for (const auto& [stride, size] : dims) {
    if (stride <= reach) {
      throw ValueError(arg.prefix() + " must have elements at distinct memory locations, got shape " +
                       shape_str(t.shape()) + " with strides " + shape_str(t.strides()) +
                       " (an expanded or broadcast view); pass a contiguous array");
    }
    reach += stride * (size - 1);
  }
}

void require_ndim(const TensorView& t, int ndim, ArgRef arg) {
  if (t.ndim() != ndim) {
    throw ValueError(arg.prefix() + " must have " + std::to_string(ndim) + " dimension(s), got shape " +
                     shape_str(t.shape()));
  }
}

void require_shape(const TensorView& t, const Shape& shape, ArgRef arg) {
  if (t.shape() != shape) {
    throw ValueError(arg.prefix() + " must have shape " + shape_str(shape) + ", got " + shape_str(t.shape()));
  }
}

namespace {

// [first, last) byte range a view can touch.
struct ByteRange {
  std::intptr_t first;
  std::intptr_t last;
};

ByteRange byte_range(const TensorView& t) {
  const auto base = reinterpret_cast<std::intptr_t>(t.data());
  if (t.numel() == 0) return {base, base};
  std::int64_t low = 0, high = 0;
  for (int d = 0; d < t.ndim(); ++d) {
    const std::int64_t reach = (t.shape(d) - 1) * t.stride(d);
    (reach < 0 ? low : high) += reach;
  }
  const auto size = static_cast<std::int64_t>(dtype_size(t.dtype()));
  return {base + static_cast<std::intptr_t>(low * size), base + static_cast<std::intptr_t>((high + 1) * size)};
}

}  // namespace

void require_no_partial_overlap(const TensorView& out, const TensorView& input, ArgRef out_arg, ArgRef input_arg) {
  if (out.device() != input.device()) return;
  const ByteRange a = byte_range(out), b = byte_range(input);
  const bool overlap = a.first < b.last && b.first < a.last;
  const bool identical = out.data() == input.data() && out.dtype() == input.dtype() && out.shape() == input.shape() &&
                         out.strides() == input.strides();
  if (overlap && !identical) {
    throw ValueError(out_arg.prefix() + " must not overlap " + input_arg.prefix() +
                     " (only exact in-place use is allowed)");
  }
}

Shape broadcast_shapes(const Shape& a, const Shape& b, ArgRef a_arg, ArgRef b_arg) {
  const std::size_t ndim = std::max(a.size(), b.size());
  Shape out(ndim);
  for (std::size_t i = 0; i < ndim; ++i) {
    const std::int64_t da = i < ndim - a.size() ? 1 : a[i - (ndim - a.size())];
    const std::int64_t db = i < ndim - b.size() ? 1 : b[i - (ndim - b.size())];
    if (da != db && da != 1 && db != 1) {
      throw ValueError(std::string(a_arg.function) + ": shapes of '" + a_arg.name + "' " + shape_str(a) + " and '" +
                       b_arg.name + "' " + shape_str(b) + " cannot be broadcast together");
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

void require_cuda_build(const TensorView& t, ArgRef arg) {
  if (t.device().is_cuda() && !built_with_cuda()) {
    throw TypeError(arg.prefix() +
                    " is on a CUDA device, but this build of mlprims has no CUDA back end "
                    "(rebuild with MLPRIMS_CUDA=ON)");
  }
}

void require_usable_cuda_device(const Device& device, ArgRef arg) {
  if (!built_with_cuda()) {
    throw ValueError(arg.prefix() + " is " + device.str() + " but this build of mlprims has no CUDA support");
  }
  const int visible = cuda_device_count();
  if (device.index < 0 || device.index >= visible) {
    throw ValueError(arg.prefix() + " is " + device.str() + " but " + std::to_string(visible) +
                     " CUDA devices are visible to this process (no driver, or CUDA_VISIBLE_DEVICES hides them)");
  }
}

}  // namespace mlprims::detail
