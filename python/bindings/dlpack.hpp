// DLPack exchange, written from the published ABI (DLPack 1.x, with the unversioned 0.x
// capsules as fallback): any object with __dlpack__ (numpy >= 1.22, torch, cupy, jax, ...)
// becomes a mlprims::TensorView without a copy.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>

#include "mlprims/core/tensor.hpp"

namespace mlprims::python {

// --- The DLPack ABI (dlpack.h, version 1.1) -----------------------------------------------
namespace dlpack {

enum DeviceType : std::int32_t {
  kDLCPU = 1,
  kDLCUDA = 2,
  kDLCUDAHost = 3,
  kDLCUDAManaged = 13,
};

enum DataTypeCode : std::uint8_t {
  kDLInt = 0,
  kDLUInt = 1,
  kDLFloat = 2,
  kDLBfloat = 4,
  kDLComplex = 5,
  kDLBool = 6,
};

struct DLDevice {
  std::int32_t device_type;
  std::int32_t device_id;
};

struct DLDataType {
  std::uint8_t code;
  std::uint8_t bits;
  std::uint16_t lanes;
};

struct DLTensor {
  void* data;
  DLDevice device;
  std::int32_t ndim;
  DLDataType dtype;
  std::int64_t* shape;
  std::int64_t* strides;  // in elements; NULL means C-contiguous
  std::uint64_t byte_offset;
};

struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor* self);
};

struct DLPackVersion {
  std::uint32_t major;
  std::uint32_t minor;
};

constexpr std::uint64_t kFlagReadOnly = 1ull << 0;

struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(DLManagedTensorVersioned* self);
  std::uint64_t flags;
  DLTensor dl_tensor;
};

}  // namespace dlpack

// --- Import -----------------------------------------------------------------------------------

// Owns a consumed DLPack tensor (or a buffer-protocol view) and releases it when destroyed,
// which must happen while the original Python object is still alive.
class ImportedTensor {
 public:
  ImportedTensor() = default;
  ImportedTensor(ImportedTensor&& other) noexcept;
  ImportedTensor& operator=(ImportedTensor&& other) noexcept;
  ImportedTensor(const ImportedTensor&) = delete;
  ImportedTensor& operator=(const ImportedTensor&) = delete;
  ~ImportedTensor();

  const TensorView& view() const { return view_; }

 private:
  friend ImportedTensor import_tensor(pybind11::handle obj, const char* function, const char* name,
                                      std::intptr_t stream);
  void release();

  TensorView view_;
  dlpack::DLManagedTensor* legacy_ = nullptr;
  dlpack::DLManagedTensorVersioned* versioned_ = nullptr;
  std::unique_ptr<pybind11::buffer_info> buffer_;
};

// Imports `obj` through __dlpack__ (versioned capsules first) or, for CPU objects without it,
// the buffer protocol. `stream` is the CUDA stream the data will be used on (0: none/default);
// it is passed to the producer so that it orders its work before ours, and kept in the view.
// Throws TypeError naming `function` and `name` for objects that cannot be imported.
ImportedTensor import_tensor(pybind11::handle obj, const char* function, const char* name, std::intptr_t stream);

DType dtype_from_dlpack(dlpack::DLDataType type, const char* function, const char* name);

}  // namespace mlprims::python
