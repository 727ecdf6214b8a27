// Bindings of mlprims/special.hpp: out-parameter functions over DLPack arrays.
#include <pybind11/pybind11.h>

#include <cstdint>

#include "dlpack.hpp"
#include "mlprims/special.hpp"
#include "registration.hpp"

namespace py = pybind11;

namespace mlprims::python {
namespace {

using ArrayFunction = void (*)(const TensorView&, const TensorView&, const TensorView&);

void define_binary(py::module_& m, const char* name, ArrayFunction function) {
  m.def(
      name,
      [name, function](py::handle v, py::handle x, py::handle out, std::intptr_t stream) {
        const ImportedTensor v_in = import_tensor(v, name, "v", stream);
        const ImportedTensor x_in = import_tensor(x, name, "x", stream);
        const ImportedTensor out_in = import_tensor(out, name, "out", stream);
        py::gil_scoped_release release;
        function(v_in.view(), x_in.view(), out_in.view());
      },
      py::arg("v"), py::arg("x"), py::arg("out"), py::arg("stream") = 0);
}

}  // namespace

void register_special(py::module_& m) {
  define_binary(m, "log_iv", special::log_iv);
  define_binary(m, "log_kv", special::log_kv);
  define_binary(m, "iv_ratio", special::iv_ratio);
  define_binary(m, "log_iv_derivative", special::log_iv_derivative);
  define_binary(m, "log_kv_derivative", special::log_kv_derivative);
  define_binary(m, "iv_ratio_derivative", special::iv_ratio_derivative);
}

}  // namespace mlprims::python
