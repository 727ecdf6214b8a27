// The extension module mlprims._core: the exception mapping, the build/threading controls, the
// iteration report every solver's result extends, and one submodule per primitive (registered
// from its own file) plus `testing` for test hooks.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>

#include "dlpack.hpp"
#include "mlprims/core/build_info.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/core/iteration.hpp"
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

  py::class_<mlprims::IterationReport>(m, "IterationReport")
      .def_readonly("iterations", &mlprims::IterationReport::iterations)
      .def_readonly("converged", &mlprims::IterationReport::converged)
      .def_readonly("error", &mlprims::IterationReport::error);

  py::module_ testing = m.def_submodule("testing", "test hooks of mlprims' own tests");
  // What the DLPack/buffer import sees of an object, for tests of the zero-copy path.
  testing.def(
      "import_info",
      [](py::handle obj) {
        const mlprims::python::ImportedTensor imported = mlprims::python::import_tensor(obj, "import_info", "obj", 0);
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

  py::module_ special = m.def_submodule("special"), vmf = m.def_submodule("vmf"), mfac = m.def_submodule("mfac"),
              lowrank = m.def_submodule("lowrank"), ot = m.def_submodule("ot"), sparse = m.def_submodule("sparse");
  mlprims::python::register_special(special);
  mlprims::python::register_vmf(vmf);
  mlprims::python::register_mfac(mfac);
  mlprims::python::register_lowrank(lowrank, testing);
  mlprims::python::register_ot(ot);
  mlprims::python::register_sparse(sparse);
}
