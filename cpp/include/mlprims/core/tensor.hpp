// TensorView: a non-owning view of an n-dimensional array in CPU or CUDA memory (pointer,
// dtype, shape, strides in elements, device, an optional CUDA stream). The public API takes and
// fills TensorViews; whoever calls it owns the memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mlprims {

enum class DType : std::uint8_t {
  kFloat16,
  kBFloat16,
  kFloat32,
  kFloat64,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUInt8,
  kUInt16,
  kUInt32,
  kUInt64,
  kBool,
  kComplex64,
  kComplex128,
};

const char* dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);

enum class DeviceKind : std::uint8_t { kCPU, kCUDA };

struct Device {
  DeviceKind kind = DeviceKind::kCPU;
  int index = 0;

  static Device cpu() { return {DeviceKind::kCPU, 0}; }
  static Device cuda(int index = 0) { return {DeviceKind::kCUDA, index}; }
  bool is_cpu() const { return kind == DeviceKind::kCPU; }
  bool is_cuda() const { return kind == DeviceKind::kCUDA; }
  bool operator==(const Device& other) const { return kind == other.kind && index == other.index; }
  bool operator!=(const Device& other) const { return !(*this == other); }
  std::string str() const;  // "cpu" or "cuda:0"
};

using Shape = std::vector<std::int64_t>;

class TensorView {
 public:
  TensorView() = default;
  // Empty `strides` means C-contiguous.
  TensorView(void* data, DType dtype, Shape shape, Shape strides = {}, Device device = Device::cpu(),
             bool read_only = false);
  // A read-only view of const data.
  TensorView(const void* data, DType dtype, Shape shape, Shape strides = {}, Device device = Device::cpu());

  void* data() const { return data_; }
  template <class T>
  T* data_as() const {
    return static_cast<T*>(data_);
  }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  std::int64_t shape(int dim) const { return shape_[static_cast<std::size_t>(dim)]; }
  std::int64_t stride(int dim) const { return strides_[static_cast<std::size_t>(dim)]; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  std::int64_t numel() const;
  bool is_contiguous() const;
  const Device& device() const { return device_; }
  bool read_only() const { return read_only_; }

  // CUDA stream (a cudaStream_t) to run on; nullptr means the default stream.
  void* stream() const { return stream_; }
  TensorView& set_stream(void* stream) {
    stream_ = stream;
    return *this;
  }

  static Shape contiguous_strides(const Shape& shape);

 private:
  void* data_ = nullptr;
  DType dtype_ = DType::kFloat64;
  Shape shape_;
  Shape strides_;
  Device device_;
  bool read_only_ = false;
  void* stream_ = nullptr;
};

std::string shape_str(const Shape& shape);  // "(2, 3)"

}  // namespace mlprims
