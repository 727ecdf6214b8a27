// Bindings of mlprims/mfac.hpp. The Python classes in mlprims.mfac keep the gradient arrays alive
// (the native FisherInverse reads them in place).
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "dlpack.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/mfac.hpp"
#include "registration.hpp"

namespace py = pybind11;

namespace mlprims::python {
namespace {

using mfac::FisherInverse;
using mfac::SlidingFisherInverse;
using mfac::SolveInfo;

DType storage_dtype(const std::string& name) {
  if (name == "float32") return DType::kFloat32;
  if (name == "float64") return DType::kFloat64;
  if (name == "bfloat16") return DType::kBFloat16;
  throw TypeError("SlidingFisherInverse: 'dtype' must be float32, float64 or bfloat16, got " + name);
}

// Solves with either class: x and out imported, the GIL released while it runs.
template <class Solver>
SolveInfo solve(const Solver& solver, const char* function, py::handle x, py::handle out, bool refine,
                std::intptr_t stream) {
  const ImportedTensor x_in = import_tensor(x, function, "x", stream);
  const ImportedTensor out_in = import_tensor(out, function, "out", stream);
  SolveInfo info;
  {
    py::gil_scoped_release release;
    info = solver.ihvp(x_in.view(), out_in.view(), refine);
  }
  return info;
}

}  // namespace

void register_mfac(py::module_& m) {
  py::class_<SolveInfo>(m, "SolveInfo")
      .def_readonly("refinement_steps", &SolveInfo::refinement_steps)
      .def_readonly("relative_residual", &SolveInfo::relative_residual)
      .def_readonly("backward_error", &SolveInfo::backward_error);
  py::class_<FisherInverse>(m, "FisherInverse")
      .def(
          py::init([](py::handle grads, double damp, std::int64_t block_size, bool check_finite, std::intptr_t stream) {
            const ImportedTensor g = import_tensor(grads, "FisherInverse", "grads", stream);
            mfac::FisherOptions options;
            options.block_size = block_size;
            options.check_finite = check_finite;
            py::gil_scoped_release release;
            return new FisherInverse(g.view(), damp, options);
          }),
          py::arg("grads"), py::arg("damp"), py::arg("block_size"), py::arg("check_finite"), py::arg("stream") = 0)
      .def_property_readonly("dim", &FisherInverse::dim)
      .def_property_readonly("num_grads", &FisherInverse::num_grads)
      .def_property_readonly("damp", &FisherInverse::damp)
      .def_property_readonly("block_size", &FisherInverse::block_size)
      .def(
          "ihvp",
          [](const FisherInverse& self, py::handle x, py::handle out, bool refine, std::intptr_t stream) {
            return solve(self, "FisherInverse.ihvp", x, out, refine, stream);
          },
          py::arg("x"), py::arg("out"), py::arg("refine"), py::arg("stream") = 0)
      .def(
          "diagonal",
          [](const FisherInverse& self, py::handle out, std::intptr_t stream) {
            const ImportedTensor out_in = import_tensor(out, "FisherInverse.diagonal", "out", stream);
            py::gil_scoped_release release;
            self.diagonal(out_in.view());
          },
          py::arg("out"), py::arg("stream") = 0)
      .def(
          "entries",
          [](const FisherInverse& self, py::handle rows, py::handle cols, py::handle out, std::intptr_t stream) {
            const ImportedTensor rows_in = import_tensor(rows, "FisherInverse.entries", "rows", stream);
            const ImportedTensor cols_in = import_tensor(cols, "FisherInverse.entries", "cols", stream);
            const ImportedTensor out_in = import_tensor(out, "FisherInverse.entries", "out", stream);
            py::gil_scoped_release release;
            self.entries(rows_in.view(), cols_in.view(), out_in.view());
          },
          py::arg("rows"), py::arg("cols"), py::arg("out"), py::arg("stream") = 0);

  py::class_<SlidingFisherInverse>(m, "SlidingFisherInverse")
      .def(py::init([](std::int64_t dim, std::int64_t window, double damp, const std::string& dtype, int cuda_index,
                       std::int64_t refactor_interval) {
             const Device device = cuda_index < 0 ? Device::cpu() : Device::cuda(cuda_index);
             return new SlidingFisherInverse(dim, window, damp, storage_dtype(dtype), device, refactor_interval);
           }),
           py::arg("dim"), py::arg("window"), py::arg("damp"), py::arg("dtype"), py::arg("cuda_index"),
           py::arg("refactor_interval"))
      .def_property_readonly("dim", &SlidingFisherInverse::dim)
      .def_property_readonly("window", &SlidingFisherInverse::window)
      .def_property_readonly("damp", &SlidingFisherInverse::damp)
      .def("__len__", &SlidingFisherInverse::size)
      .def(
          "update",
          [](SlidingFisherInverse& self, py::handle g, std::intptr_t stream) {
            const ImportedTensor g_in = import_tensor(g, "SlidingFisherInverse.update", "g", stream);
            py::gil_scoped_release release;
            self.update(g_in.view());
          },
          py::arg("g"), py::arg("stream") = 0)
      .def(
          "ihvp",
          [](const SlidingFisherInverse& self, py::handle x, py::handle out, bool refine, std::intptr_t stream) {
            return solve(self, "SlidingFisherInverse.ihvp", x, out, refine, stream);
          },
          py::arg("x"), py::arg("out"), py::arg("refine"), py::arg("stream") = 0)
      .def(
          "update_ihvp",
          [](SlidingFisherInverse& self, py::handle g, py::handle out, bool refine, std::intptr_t stream) {
            const ImportedTensor g_in = import_tensor(g, "SlidingFisherInverse.update_ihvp", "g", stream);
            const ImportedTensor out_in = import_tensor(out, "SlidingFisherInverse.update_ihvp", "out", stream);
            SolveInfo info;
            {
              py::gil_scoped_release release;
              info = self.update_ihvp(g_in.view(), out_in.view(), refine);
            }
            return info;
          },
          py::arg("g"), py::arg("out"), py::arg("refine"), py::arg("stream") = 0)
      .def("reset", &SlidingFisherInverse::reset);

  m.def(
      "obs_prune",
      [](py::handle weights, const FisherInverse& finv, double sparsity, py::handle pruned, py::handle mask,
         std::intptr_t stream) {
        const ImportedTensor w_in = import_tensor(weights, "obs_prune", "weights", stream);
        const ImportedTensor pruned_in = import_tensor(pruned, "obs_prune", "pruned", stream);
        const ImportedTensor mask_in = import_tensor(mask, "obs_prune", "mask", stream);
        py::gil_scoped_release release;
        mfac::obs_prune(w_in.view(), finv, sparsity, pruned_in.view(), mask_in.view());
      },
      py::arg("weights"), py::arg("finv"), py::arg("sparsity"), py::arg("pruned"), py::arg("mask"),
      py::arg("stream") = 0);
}

}  // namespace mlprims::python
