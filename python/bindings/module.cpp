// The extension module mlprims._core: one registration function per primitive, plus the
// exception mapping and the build/threading controls.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>

#include "mlprims/core/build_info.hpp"
#include "mlprims/core/error.hpp"
#include "dlpack.hpp"
#include "mlprims/core/threading.hpp"
#include "registration.hpp"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
  m.doc() = "mlprims native core (use the mlprims package, not this module)";

  py::register_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const mlprims::TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const mlprims::ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const mlprims::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  m.def("set_num_threads", &mlprims::set_num_threads, py::arg("n"));
  m.def("get_num_threads", &mlprims::get_num_threads);
  m.def("version", &mlprims::version);
  m.def("built_with_cuda", &mlprims::built_with_cuda);
  m.def("cuda_status", &mlprims::cuda_status);
  m.def("cuda_device_count", &mlprims::cuda_device_count);
  m.def("blas_library", &mlprims::blas_library);
  m.def("cuda_libraries", &mlprims::cuda_libraries);

  // What the DLPack/buffer import sees of an object, for tests of the zero-copy path.
  m.def(
      "_import_info",
      [](py::handle obj) {
        const mlprims::python::ImportedTensor imported = mlprims::python::import_tensor(obj, "_import_info", "obj", 0);
        const mlprims::TensorView& view = imported.view();
        py::dict info;
        info["data"] = reinterpret_cast<std::uintptr_t>(view.data());
        info["dtype"] = mlprims::dtype_name(view.dtype());
        info["shape"] = py::tuple(py::cast(view.shape()));
        info["strides"] = py::tuple(py::cast(view.strides()));
        info["device"] = view.device().str();
        info["read_only"] = view.read_only();
        return info;
      },
      py::arg("obj"));

  mlprims::python::register_special(m);
  mlprims::python::register_vmf(m);
  mlprims::python::register_mfac(m);
  mlprims::python::register_lowrank(m);
}
