#include "dlpack.hpp"

#include <pybind11/pybind11.h>

#include <string>
#include <utility>

#include "mlprims/core/error.hpp"

namespace py = pybind11;

namespace mlprims::python {
namespace {

constexpr const char* kVersionedName = "dltensor_versioned";
constexpr const char* kVersionedUsedName = "used_dltensor_versioned";
constexpr const char* kLegacyName = "dltensor";
constexpr const char* kLegacyUsedName = "used_dltensor";

std::string where(const char* function, const char* name) { return std::string(function) + ": '" + name + "'"; }

Device device_from_dlpack(dlpack::DLDevice device, const char* function, const char* name) {
  switch (device.device_type) {
    case dlpack::kDLCPU:
    case dlpack::kDLCUDAHost:
      return Device::cpu();
    case dlpack::kDLCUDA:
    case dlpack::kDLCUDAManaged:
      return Device::cuda(device.device_id);
    default:
      throw TypeError(where(function, name) + " lives on a device mlprims does not support (DLPack device type " +
                      std::to_string(device.device_type) + "); use CPU or CUDA memory");
  }
}

TensorView view_from_dltensor(const dlpack::DLTensor& t, bool read_only, const char* function, const char* name) {
  Shape shape(t.shape, t.shape + t.ndim);
  Shape strides;
  if (t.strides != nullptr && t.ndim > 0) strides.assign(t.strides, t.strides + t.ndim);
  void* data = static_cast<char*>(t.data) + t.byte_offset;
  return TensorView(data, dtype_from_dlpack(t.dtype, function, name), std::move(shape), std::move(strides),
                    device_from_dlpack(t.device, function, name), read_only);
}

DType dtype_from_format(const py::buffer_info& info, const char* function, const char* name) {
  const std::string& f = info.format;
  const char code = f.empty() ? '?' : f.back();
  const auto size = info.itemsize;
  switch (code) {
    case 'd':
      return DType::kFloat64;
    case 'f':
      return DType::kFloat32;
    case 'e':
      return DType::kFloat16;
    case '?':
      return DType::kBool;
    default:
      break;
  }
  if (f.size() >= 2 && f[f.size() - 2] == 'Z') return size == 16 ? DType::kComplex128 : DType::kComplex64;
  const bool is_signed = code == 'b' || code == 'h' || code == 'i' || code == 'l' || code == 'q';
  const bool is_unsigned = code == 'B' || code == 'H' || code == 'I' || code == 'L' || code == 'Q';
  if (is_signed || is_unsigned) {
    switch (size) {
      case 1:
        return is_signed ? DType::kInt8 : DType::kUInt8;
      case 2:
        return is_signed ? DType::kInt16 : DType::kUInt16;
      case 4:
        return is_signed ? DType::kInt32 : DType::kUInt32;
      case 8:
        return is_signed ? DType::kInt64 : DType::kUInt64;
      default:
        break;
    }
  }
  throw TypeError(where(function, name) + " has an unsupported element type (buffer format '" + f + "')");
}

// Calls obj.__dlpack__ with the newest protocol the producer accepts.
py::object export_capsule(py::handle obj, const Device& device, std::intptr_t stream) {
  py::object stream_arg = py::none();
  if (device.is_cuda()) {
    // DLPack reserves 0; 1 is the legacy default stream.
    stream_arg = py::int_(stream == 0 ? 1 : stream);
  }
  py::object method = obj.attr("__dlpack__");
  try {
    return method(py::arg("stream") = stream_arg, py::arg("max_version") = py::make_tuple(1, 1));
  } catch (py::error_already_set& e) {
    if (!e.matches(PyExc_TypeError)) throw;
  }
  if (device.is_cuda()) return method(py::arg("stream") = stream_arg);
  return method();
}

Device probe_device(py::handle obj, const char* function, const char* name) {
  if (!py::hasattr(obj, "__dlpack_device__")) return Device::cpu();
  const py::tuple device = obj.attr("__dlpack_device__")();
  dlpack::DLDevice d{device[0].cast<std::int32_t>(), device[1].cast<std::int32_t>()};
  return device_from_dlpack(d, function, name);
}

}  // namespace

DType dtype_from_dlpack(dlpack::DLDataType type, const char* function, const char* name) {
  if (type.lanes == 1) {
    switch (type.code) {
      case dlpack::kDLFloat:
        if (type.bits == 16) return DType::kFloat16;
        if (type.bits == 32) return DType::kFloat32;
        if (type.bits == 64) return DType::kFloat64;
        break;
      case dlpack::kDLBfloat:
        if (type.bits == 16) return DType::kBFloat16;
        break;
      case dlpack::kDLInt:
        if (type.bits == 8) return DType::kInt8;
        if (type.bits == 16) return DType::kInt16;
        if (type.bits == 32) return DType::kInt32;
        if (type.bits == 64) return DType::kInt64;
        break;
      case dlpack::kDLUInt:
        if (type.bits == 8) return DType::kUInt8;
        if (type.bits == 16) return DType::kUInt16;
        if (type.bits == 32) return DType::kUInt32;
        if (type.bits == 64) return DType::kUInt64;
        break;
      case dlpack::kDLBool:
        if (type.bits == 8) return DType::kBool;
        break;
      case dlpack::kDLComplex:
        if (type.bits == 64) return DType::kComplex64;
        if (type.bits == 128) return DType::kComplex128;
        break;
      default:
        break;
    }
  }
  throw TypeError(where(function, name) + " has an unsupported element type (DLPack code " + std::to_string(type.code) +
                  ", " + std::to_string(type.bits) + " bits, " + std::to_string(type.lanes) + " lanes)");
}

ImportedTensor::ImportedTensor(ImportedTensor&& other) noexcept { *this = std::move(other); }

ImportedTensor& ImportedTensor::operator=(ImportedTensor&& other) noexcept {
  if (this != &other) {
    release();
    view_ = other.view_;
    legacy_ = std::exchange(other.legacy_, nullptr);
    versioned_ = std::exchange(other.versioned_, nullptr);
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

ImportedTensor::~ImportedTensor() { release(); }

void ImportedTensor::release() {
  if (versioned_ != nullptr && versioned_->deleter != nullptr) versioned_->deleter(versioned_);
  if (legacy_ != nullptr && legacy_->deleter != nullptr) legacy_->deleter(legacy_);
  versioned_ = nullptr;
  legacy_ = nullptr;
  buffer_.reset();
}

ImportedTensor import_tensor(py::handle obj, const char* function, const char* name, std::intptr_t stream) {
  ImportedTensor imported;
  if (py::hasattr(obj, "__dlpack__")) {
    const Device device = probe_device(obj, function, name);
    py::object capsule;
    try {
      capsule = export_capsule(obj, device, stream);
    } catch (py::error_already_set& e) {
      // numpy < 2 refuses read-only arrays through legacy DLPack; the buffer protocol takes them.
      if (!(e.matches(PyExc_BufferError) && PyObject_CheckBuffer(obj.ptr()))) throw;
    }
    if (capsule) {
      PyObject* raw = capsule.ptr();
      if (PyCapsule_IsValid(raw, kVersionedName)) {
        auto* managed = static_cast<dlpack::DLManagedTensorVersioned*>(PyCapsule_GetPointer(raw, kVersionedName));
        PyCapsule_SetName(raw, kVersionedUsedName);
        imported.versioned_ = managed;
        if (managed->version.major != 1) {
          throw TypeError(where(function, name) + " came with DLPack " + std::to_string(managed->version.major) +
                          ".x, which mlprims does not understand (it reads 1.x)");
        }
        imported.view_ =
            view_from_dltensor(managed->dl_tensor, (managed->flags & dlpack::kFlagReadOnly) != 0, function, name);
      } else if (PyCapsule_IsValid(raw, kLegacyName)) {
        auto* managed = static_cast<dlpack::DLManagedTensor*>(PyCapsule_GetPointer(raw, kLegacyName));
        PyCapsule_SetName(raw, kLegacyUsedName);
        imported.legacy_ = managed;
        imported.view_ = view_from_dltensor(managed->dl_tensor, false, function, name);
      } else {
        throw TypeError(where(function, name) + ": __dlpack__ returned something other than a DLPack capsule");
      }
      imported.view_.set_stream(reinterpret_cast<void*>(stream));
      return imported;
    }
  }
  if (PyObject_CheckBuffer(obj.ptr())) {
    const py::buffer buffer = py::reinterpret_borrow<py::buffer>(obj);
    imported.buffer_ = std::make_unique<py::buffer_info>(buffer.request());
    const py::buffer_info& info = *imported.buffer_;
    const DType dtype = dtype_from_format(info, function, name);
    Shape strides;
    for (py::ssize_t s : info.strides) {
      if (s % info.itemsize != 0) {
        throw TypeError(where(function, name) + " has strides that are not a multiple of its element size");
      }
      strides.push_back(s / info.itemsize);
    }
    imported.view_ = TensorView(info.ptr, dtype, Shape(info.shape.begin(), info.shape.end()), std::move(strides),
                                Device::cpu(), info.readonly);
    return imported;
  }
  throw TypeError(where(function, name) + " must be an array (numpy, torch, or any object with __dlpack__), got " +
                  std::string(py::str(py::type::of(obj).attr("__name__"))));
}

}  // namespace mlprims::python
