// Bindings of mlprims/vmf.hpp.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <string>

#include "dlpack.hpp"
#include "mlprims/vmf.hpp"
#include "registration.hpp"

namespace py = pybind11;

namespace mlprims::python {
namespace {

// "float16", "bfloat16", "float32" or "float64" as a DType; `what` names the value in the error.
DType floating_dtype_named(const std::string& text, const std::string& what) {
  for (DType dtype : {DType::kFloat16, DType::kBFloat16, DType::kFloat32, DType::kFloat64}) {
    if (text == dtype_name(dtype)) return dtype;
  }
  throw py::type_error(what + " must be float16, bfloat16, float32 or float64, got " + text);
}

// The dtype a Python argument was stored in before it was widened to the float32/float64 view
// the core reads (None: the view's own dtype).
DType stored_dtype(const py::object& name, const TensorView& view, const char* function, const char* argument) {
  if (name.is_none()) return view.dtype();
  return floating_dtype_named(py::str(name), std::string(function) + ": the stored dtype of '" + argument + "'");
}

using NormalizerFunction = void (*)(const TensorView&, std::int64_t, const TensorView&);

void define_normalizer(py::module_& m, const char* name, NormalizerFunction function) {
  m.def(
      name,
      [name, function](py::handle kappa, std::int64_t dim, py::handle out, std::intptr_t stream) {
        const ImportedTensor kappa_in = import_tensor(kappa, name, "kappa", stream);
        const ImportedTensor out_in = import_tensor(out, name, "out", stream);
        py::gil_scoped_release release;
        function(kappa_in.view(), dim, out_in.view());
      },
      py::arg("kappa"), py::arg("dim"), py::arg("out"), py::arg("stream") = 0);
}

}  // namespace

void register_vmf(py::module_& m) {
  py::class_<vmf::KappaEstimate, IterationReport>(m, "KappaEstimate").def_readonly("kappa", &vmf::KappaEstimate::kappa);
  py::class_<vmf::FitResult, vmf::KappaEstimate>(m, "FitResult")
      .def_readonly("mean_resultant_length", &vmf::FitResult::mean_resultant_length);
  define_normalizer(m, "log_normalizer", vmf::log_normalizer);
  define_normalizer(m, "mean_resultant_length", vmf::mean_resultant_length);

  m.def(
      "log_prob",
      [](py::handle X, py::handle mu, double kappa, py::handle out, std::intptr_t stream, const py::object& x_stored,
         const py::object& mu_stored) {
        const ImportedTensor x_in = import_tensor(X, "log_prob", "X", stream);
        const ImportedTensor mu_in = import_tensor(mu, "log_prob", "mu", stream);
        const ImportedTensor out_in = import_tensor(out, "log_prob", "out", stream);
        const DType x_dtype = stored_dtype(x_stored, x_in.view(), "log_prob", "X");
        const DType mu_dtype = stored_dtype(mu_stored, mu_in.view(), "log_prob", "mu");
        py::gil_scoped_release release;
        vmf::log_prob(x_in.view(), mu_in.view(), kappa, out_in.view(), x_dtype, mu_dtype);
      },
      py::arg("X"), py::arg("mu"), py::arg("kappa"), py::arg("out"), py::arg("stream") = 0,
      py::arg("x_stored") = py::none(), py::arg("mu_stored") = py::none());

  m.def("unit_norm_tolerance", [](const std::string& stored) {
    return vmf::unit_norm_tolerance(floating_dtype_named(stored, "unit_norm_tolerance: 'dtype'"));
  });
  m.attr("max_dim") = vmf::kMaxDim;

  m.def(
      "kappa_mle", [](double rbar, std::int64_t dim) { return vmf::kappa_mle(rbar, dim); }, py::arg("rbar"),
      py::arg("dim"));

  m.def(
      "fit",
      [](py::handle X, py::handle weights, py::handle mu_out, std::intptr_t stream, const py::object& x_stored) {
        const ImportedTensor x_in = import_tensor(X, "fit", "X", stream);
        const DType x_dtype = stored_dtype(x_stored, x_in.view(), "fit", "X");
        std::optional<ImportedTensor> w_in;
        if (!weights.is_none()) w_in.emplace(import_tensor(weights, "fit", "weights", stream));
        const ImportedTensor mu_in = import_tensor(mu_out, "fit", "mu_out", stream);
        vmf::FitResult r;
        {
          py::gil_scoped_release release;
          r = vmf::fit(x_in.view(), w_in ? &w_in->view() : nullptr, mu_in.view(), x_dtype);
        }
        return r;
      },
      py::arg("X"), py::arg("weights"), py::arg("mu_out"), py::arg("stream") = 0, py::arg("x_stored") = py::none());
}

}  // namespace mlprims::python
