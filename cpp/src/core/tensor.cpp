#include "mlprims/core/tensor.hpp"

#include <utility>

#include "mlprims/core/error.hpp"

namespace mlprims {

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kFloat16:
      return "float16";
    case DType::kBFloat16:
      return "bfloat16";
    case DType::kFloat32:
      return "float32";
    case DType::kFloat64:
      return "float64";
    case DType::kInt8:
      return "int8";
    case DType::kInt16:
      return "int16";
    case DType::kInt32:
      return "int32";
    case DType::kInt64:
      return "int64";
    case DType::kUInt8:
      return "uint8";
    case DType::kUInt16:
      return "uint16";
    case DType::kUInt32:
      return "uint32";
    case DType::kUInt64:
      return "uint64";
    case DType::kBool:
      return "bool";
    case DType::kComplex64:
      return "complex64";
    case DType::kComplex128:
      return "complex128";
  }
  return "unknown";
}

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kBool:
      return 1;
    case DType::kFloat16:
    case DType::kBFloat16:
    case DType::kInt16:
    case DType::kUInt16:
      return 2;
    case DType::kFloat32:
    case DType::kInt32:
    case DType::kUInt32:
      return 4;
    case DType::kFloat64:
    case DType::kInt64:
    case DType::kUInt64:
    case DType::kComplex64:
      return 8;
    case DType::kComplex128:
      return 16;
  }
  return 0;
}

std::string Device::str() const { return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index); }

TensorView::TensorView(void* data, DType dtype, Shape shape, Shape strides, Device device, bool read_only)
    : data_(data),
      dtype_(dtype),
      shape_(std::move(shape)),
      strides_(std::move(strides)),
      device_(device),
      read_only_(read_only) {
  for (std::int64_t extent : shape_) {
    if (extent < 0) throw ValueError("TensorView: negative extent in shape " + shape_str(shape_));
  }
  if (strides_.empty()) strides_ = contiguous_strides(shape_);
  if (strides_.size() != shape_.size()) {
    throw ValueError("TensorView: shape " + shape_str(shape_) + " and strides " + shape_str(strides_) +
                     " differ in length");
  }
}

TensorView::TensorView(const void* data, DType dtype, Shape shape, Shape strides, Device device)
    : TensorView(const_cast<void*>(data), dtype, std::move(shape), std::move(strides), device,
                 /*read_only=*/true) {}

std::int64_t TensorView::numel() const {
  std::int64_t n = 1;
  for (std::int64_t extent : shape_) n *= extent;
  return n;
}

bool TensorView::is_contiguous() const {
  if (numel() == 0) return true;  // no element to misplace (DLPack producers give empty arrays any strides)
  std::int64_t expected = 1;
  for (int d = ndim() - 1; d >= 0; --d) {
    if (shape(d) != 1 && stride(d) != expected) return false;
    expected *= shape(d);
  }
  return true;
}

Shape TensorView::contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  std::int64_t stride = 1;
  for (std::size_t d = shape.size(); d-- > 0;) {
    strides[d] = stride;
    stride *= shape[d] > 0 ? shape[d] : 1;
  }
  return strides;
}

std::string shape_str(const Shape& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

}  // namespace mlprims
