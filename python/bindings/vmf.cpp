// Bindings of mlprims/vmf.hpp.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>

#include "dlpack.hpp"
#include "mlprims/vmf.hpp"
#include "registration.hpp"

namespace py = pybind11;

namespace mlprims::python {
namespace {

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
  define_normalizer(m, "vmf_log_normalizer", vmf::log_normalizer);
  define_normalizer(m, "vmf_mean_resultant_length", vmf::mean_resultant_length);

  m.def(
      "vmf_log_prob",
      [](py::handle X, py::handle mu, double kappa, py::handle out, std::intptr_t stream) {
        const ImportedTensor x_in = import_tensor(X, "log_prob", "X", stream);
        const ImportedTensor mu_in = import_tensor(mu, "log_prob", "mu", stream);
        const ImportedTensor out_in = import_tensor(out, "log_prob", "out", stream);
        py::gil_scoped_release release;
        vmf::log_prob(x_in.view(), mu_in.view(), kappa, out_in.view());
      },
      py::arg("X"), py::arg("mu"), py::arg("kappa"), py::arg("out"), py::arg("stream") = 0);

  m.def(
      "vmf_kappa_mle",
      [](double rbar, std::int64_t dim) {
        const vmf::KappaEstimate e = vmf::kappa_mle(rbar, dim);
        return py::make_tuple(e.kappa, e.iterations, e.converged);
      },
      py::arg("rbar"), py::arg("dim"));

  m.def(
      "vmf_fit",
      [](py::handle X, py::handle weights, py::handle mu_out, std::intptr_t stream) {
        const ImportedTensor x_in = import_tensor(X, "fit", "X", stream);
        std::optional<ImportedTensor> w_in;
        if (!weights.is_none()) w_in.emplace(import_tensor(weights, "fit", "weights", stream));
        const ImportedTensor mu_in = import_tensor(mu_out, "fit", "mu_out", stream);
        vmf::FitResult r;
        {
          py::gil_scoped_release release;
          r = vmf::fit(x_in.view(), w_in ? &w_in->view() : nullptr, mu_in.view());
        }
        return py::make_tuple(r.kappa, r.mean_resultant_length, r.iterations, r.converged);
      },
      py::arg("X"), py::arg("weights"), py::arg("mu_out"), py::arg("stream") = 0);
}

}  // namespace mlprims::python
