// Bindings of mlprims/ot.hpp (mlprims._core.ot). Arrays arrive C-contiguous from mlprims.ot, the
// potentials allocated there; options are keywords.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>

#include "callbacks.hpp"
#include "dlpack.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/ot.hpp"
#include "registration.hpp"

namespace py = pybind11;

namespace mlprims::python {
namespace {

ot::Method parse_method(const char* function, const std::string& method) {
  if (method == "auto") return ot::Method::kAuto;
  if (method == "sinkhorn") return ot::Method::kSinkhorn;
  if (method == "sns") return ot::Method::kSns;
  throw ValueError(std::string(function) + ": 'method' must be 'auto', 'sinkhorn' or 'sns', got '" + method + "'");
}

ot::PointCost parse_cost(const char* function, const std::string& cost) {
  if (cost == "sqeuclidean") return ot::PointCost::kSqEuclidean;
  if (cost == "euclidean") return ot::PointCost::kEuclidean;
  throw ValueError(std::string(function) + ": 'cost' must be 'sqeuclidean' or 'euclidean', got '" + cost + "'");
}

const char* method_name(ot::Method method) { return method == ot::Method::kSns ? "sns" : "sinkhorn"; }

// An optional array (None: not given), kept alive with its view.
struct Optional {
  std::optional<ImportedTensor> storage;
  TensorView view;
  Optional(py::handle h, const char* function, const char* name) {
    if (h.is_none()) return;
    storage.emplace(import_tensor(h, function, name, 0));
    view = storage->view();
  }
};

struct Settings {
  IterativeOptions iteration;
  ot::SinkhornOptions options;
};

Settings make_settings(const char* function, const std::string& method, double tol, std::int64_t max_iter,
                       bool check_finite, const py::object& callback, bool warm_start, const py::object& eps_scaling,
                       std::int64_t warmup, double newton_mass, std::int64_t max_warmup, double density, double cg_tol,
                       std::int64_t cg_max_iter, double armijo, std::int64_t max_line_search) {
  Settings s;
  s.iteration.tol = tol;
  s.iteration.max_iter = max_iter;
  s.iteration.check_finite = check_finite;
  s.iteration.callback = iteration_callback(callback);
  s.options.method = parse_method(function, method);
  s.options.warm_start = warm_start;
  // None: automatic (by reg relative to the cost range); True/False: always/never.
  s.options.eps_scaling = eps_scaling.is_none()      ? ot::EpsScaling::kAuto
                          : eps_scaling.cast<bool>() ? ot::EpsScaling::kOn
                                                     : ot::EpsScaling::kOff;
  s.options.warmup = warmup;
  s.options.newton_mass = newton_mass;
  s.options.max_warmup = max_warmup;
  s.options.density = density;
  s.options.cg_tol = cg_tol;
  s.options.cg_max_iter = cg_max_iter;
  s.options.armijo = armijo;
  s.options.max_line_search = max_line_search;
  return s;
}

#define MLPRIMS_OT_OPTIONS                                                                                      \
  py::arg("method") = "auto", py::arg("tol") = -1.0, py::arg("max_iter") = -1, py::arg("check_finite") = true,  \
  py::arg("callback") = py::none(), py::arg("warm_start") = false, py::arg("eps_scaling") = py::none(),         \
  py::arg("warmup") = -1, py::arg("newton_mass") = -1.0, py::arg("max_warmup") = -1, py::arg("density") = -1.0, \
  py::arg("cg_tol") = -1.0, py::arg("cg_max_iter") = -1, py::arg("armijo") = -1.0, py::arg("max_line_search") = -1

}  // namespace

void register_ot(py::module_& m) {
  py::class_<ot::SinkhornResult, IterationReport>(m, "SinkhornResult")
      .def_readonly("sinkhorn_iterations", &ot::SinkhornResult::sinkhorn_iterations)
      .def_readonly("newton_iterations", &ot::SinkhornResult::newton_iterations)
      .def_readonly("cg_iterations", &ot::SinkhornResult::cg_iterations)
      .def_readonly("objective", &ot::SinkhornResult::objective)
      .def_readonly("transport_cost", &ot::SinkhornResult::transport_cost)
      .def_property_readonly("method", [](const ot::SinkhornResult& r) { return method_name(r.method); });

  m.def(
      "sinkhorn",
      [](py::handle a, py::handle b, py::handle C, double reg, py::handle f, py::handle g, const std::string& method,
         double tol, std::int64_t max_iter, bool check_finite, const py::object& callback, bool warm_start,
         const py::object& eps_scaling, std::int64_t warmup, double newton_mass, std::int64_t max_warmup,
         double density, double cg_tol, std::int64_t cg_max_iter, double armijo, std::int64_t max_line_search) {
        const Optional a_in(a, "sinkhorn", "a"), b_in(b, "sinkhorn", "b");
        const ImportedTensor C_in = import_tensor(C, "sinkhorn", "C", 0), f_out = import_tensor(f, "sinkhorn", "f", 0),
                             g_out = import_tensor(g, "sinkhorn", "g", 0);
        const Settings s =
            make_settings("sinkhorn", method, tol, max_iter, check_finite, callback, warm_start, eps_scaling, warmup,
                          newton_mass, max_warmup, density, cg_tol, cg_max_iter, armijo, max_line_search);
        py::gil_scoped_release release;
        return ot::sinkhorn(a_in.view, b_in.view, C_in.view(), reg, f_out.view(), g_out.view(), s.iteration, s.options);
      },
      py::arg("a"), py::arg("b"), py::arg("C"), py::arg("reg"), py::kw_only(), py::arg("f"), py::arg("g"),
      MLPRIMS_OT_OPTIONS);

  m.def(
      "sinkhorn_points",
      [](py::handle x, py::handle y, double reg, py::handle a, py::handle b, const std::string& cost, py::handle f,
         py::handle g, const std::string& method, double tol, std::int64_t max_iter, bool check_finite,
         const py::object& callback, bool warm_start, const py::object& eps_scaling, std::int64_t warmup,
         double newton_mass, std::int64_t max_warmup, double density, double cg_tol, std::int64_t cg_max_iter,
         double armijo, std::int64_t max_line_search) {
        const char* function = "sinkhorn_points";
        const Optional a_in(a, function, "a"), b_in(b, function, "b");
        const ImportedTensor x_in = import_tensor(x, function, "x", 0), y_in = import_tensor(y, function, "y", 0),
                             f_out = import_tensor(f, function, "f", 0), g_out = import_tensor(g, function, "g", 0);
        const ot::PointCost point_cost = parse_cost(function, cost);
        const Settings s =
            make_settings(function, method, tol, max_iter, check_finite, callback, warm_start, eps_scaling, warmup,
                          newton_mass, max_warmup, density, cg_tol, cg_max_iter, armijo, max_line_search);
        py::gil_scoped_release release;
        return ot::sinkhorn_points(x_in.view(), y_in.view(), a_in.view, b_in.view, reg, point_cost, f_out.view(),
                                   g_out.view(), s.iteration, s.options);
      },
      py::arg("x"), py::arg("y"), py::arg("reg"), py::kw_only(), py::arg("a") = py::none(), py::arg("b") = py::none(),
      py::arg("cost") = "sqeuclidean", py::arg("f"), py::arg("g"), MLPRIMS_OT_OPTIONS);

  m.def(
      "transport_gradient_points",
      [](py::handle x, py::handle y, py::handle f, py::handle g, double reg, const std::string& cost, py::handle grad_x,
         py::handle grad_y) {
        const char* function = "transport_gradient_points";
        const ImportedTensor x_in = import_tensor(x, function, "x", 0), y_in = import_tensor(y, function, "y", 0),
                             f_in = import_tensor(f, function, "f", 0), g_in = import_tensor(g, function, "g", 0),
                             gx_out = import_tensor(grad_x, function, "grad_x", 0),
                             gy_out = import_tensor(grad_y, function, "grad_y", 0);
        const ot::PointCost point_cost = parse_cost(function, cost);
        py::gil_scoped_release release;
        ot::transport_gradient_points(x_in.view(), y_in.view(), f_in.view(), g_in.view(), reg, point_cost,
                                      gx_out.view(), gy_out.view());
      },
      py::arg("x"), py::arg("y"), py::arg("f"), py::arg("g"), py::arg("reg"), py::kw_only(),
      py::arg("cost") = "sqeuclidean", py::arg("grad_x"), py::arg("grad_y"));

  m.def(
      "transport_plan",
      [](py::handle f, py::handle g, py::handle C, double reg, py::handle P) {
        const ImportedTensor f_in = import_tensor(f, "plan", "f", 0), g_in = import_tensor(g, "plan", "g", 0),
                             C_in = import_tensor(C, "plan", "C", 0), P_out = import_tensor(P, "plan", "P", 0);
        py::gil_scoped_release release;
        ot::transport_plan(f_in.view(), g_in.view(), C_in.view(), reg, P_out.view());
      },
      py::arg("f"), py::arg("g"), py::arg("C"), py::arg("reg"), py::kw_only(), py::arg("P"));
}

#undef MLPRIMS_OT_OPTIONS

}  // namespace mlprims::python
