#include "sparse/argument_checks.hpp"

#include <string>

#include "mlprims/core/error.hpp"

namespace mlprims::sparse::detail {

namespace {
bool is_float_storage(DType dtype) {
  return dtype == DType::kFloat16 || dtype == DType::kBFloat16 || dtype == DType::kFloat32 || dtype == DType::kFloat64;
}
std::uintptr_t begin_of(const TensorView& t) { return reinterpret_cast<std::uintptr_t>(t.data()); }
std::uintptr_t end_of(const TensorView& t) {
  return begin_of(t) + static_cast<std::uintptr_t>(t.numel()) * dtype_size(t.dtype());
}
}  // namespace

void require_weights(const TensorView& t, ArgRef arg) {
  if (!is_float_storage(t.dtype())) {
    throw TypeError(arg.prefix() + " must have dtype float16, bfloat16, float32 or float64, got " +
                    dtype_name(t.dtype()));
  }
  if (!t.device().is_cpu()) {
    throw TypeError(arg.prefix() + " must be in CPU memory (the CUDA back end of sparse is not built yet), got " +
                    t.device().str());
  }
  mlprims::detail::require_contiguous(t, arg);
}

void require_same_layout(const TensorView& other, const TensorView& reference, ArgRef other_arg, ArgRef reference_arg) {
  if (other.shape() != reference.shape()) {
    throw ValueError(other_arg.prefix() + " must have the shape of '" + reference_arg.name + "' " +
                     shape_str(reference.shape()) + ", got " + shape_str(other.shape()));
  }
  if (other.dtype() != reference.dtype()) {
    throw ValueError(other_arg.prefix() + " must have the dtype of '" + reference_arg.name + "' (" +
                     dtype_name(reference.dtype()) + "), got " + dtype_name(other.dtype()));
  }
}

void require_vector(const TensorView& t, std::int64_t length, ArgRef arg) {
  if (!t.device().is_cpu()) throw TypeError(arg.prefix() + " must be in CPU memory, got " + t.device().str());
  if (t.ndim() != 1 || t.shape(0) != length) {
    throw ValueError(arg.prefix() + " must have shape (" + std::to_string(length) + ",), got " + shape_str(t.shape()));
  }
  mlprims::detail::require_contiguous(t, arg);
}

void require_index_dtype(const TensorView& t, ArgRef arg) {
  if (t.dtype() != DType::kInt32 && t.dtype() != DType::kInt64) {
    throw TypeError(arg.prefix() + " must have dtype int32 or int64, got " + dtype_name(t.dtype()));
  }
}

void require_index_range(const TensorView& indices, std::int64_t numel, ArgRef arg) {
  if (indices.dtype() == DType::kInt32 && numel > (std::int64_t{1} << 31)) {
    throw TypeError(arg.prefix() + " must have dtype int64 for a tensor of " + std::to_string(numel) +
                    " elements (int32 addresses 2^31), got int32");
  }
}

void require_value_dtype(DType dtype, ArgRef arg) {
  if (!is_float_storage(dtype)) {
    throw TypeError(arg.prefix() + " must be float16, bfloat16, float32 or float64, got " + dtype_name(dtype));
  }
}

void require_disjoint(const TensorView& a, const TensorView& b, ArgRef a_arg, ArgRef b_arg) {
  if (a.numel() == 0 || b.numel() == 0) return;
  if (begin_of(a) < end_of(b) && begin_of(b) < end_of(a)) {
    throw ValueError(a_arg.prefix() + " must not share memory with '" + b_arg.name + "'");
  }
}

}  // namespace mlprims::sparse::detail
