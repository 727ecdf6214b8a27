// Bindings of mlprims/lowrank.hpp (mlprims._core.lowrank) and its test hook (mlprims._core.testing).
// Arrays arrive C-contiguous from mlprims.lowrank, outputs allocated there; options are keywords.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <string>

#include "callbacks.hpp"
#include "dlpack.hpp"
#include "lowrank/testing.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/lowrank.hpp"
#include "registration.hpp"

namespace py = pybind11;

namespace mlprims::python {
namespace {

lowrank::SvdMethod parse_method(const std::string& method) {
  if (method == "auto") return lowrank::SvdMethod::kAuto;
  if (method == "exact") return lowrank::SvdMethod::kExact;
  if (method == "randomized") return lowrank::SvdMethod::kRandomized;
  if (method == "krylov") return lowrank::SvdMethod::kKrylov;
  throw ValueError("lowrank: 'method' must be 'auto', 'exact', 'krylov' or 'randomized', got '" + method + "'");
}

lowrank::Placement parse_placement(const std::string& placement) {
  if (placement == "left") return lowrank::Placement::kLeft;
  if (placement == "right") return lowrank::Placement::kRight;
  if (placement == "balanced") return lowrank::Placement::kBalanced;
  throw ValueError("lowrank: 'singular_values_on' must be 'left', 'right' or 'balanced', got '" + placement + "'");
}

lowrank::SvdOptions make_options(const std::string& method, std::int64_t oversample, int power_iters,
                                 std::uint64_t seed, const std::string& placement) {
  lowrank::SvdOptions options;
  options.method = parse_method(method);
  options.oversample = oversample;
  options.power_iters = power_iters;
  options.seed = seed;
  options.placement = parse_placement(placement);
  return options;
}

const char* method_name(lowrank::SvdMethod method) {
  switch (method) {
    case lowrank::SvdMethod::kRandomized:
      return "randomized";
    case lowrank::SvdMethod::kKrylov:
      return "krylov";
    default:
      return "exact";
  }
}

// The outputs and W of one call, imported with the names the public function uses.
struct Problem {
  ImportedTensor W, left, right, singular_values;
  Problem(const char* function, py::handle w, py::handle l, py::handle r, py::handle s, std::intptr_t stream)
      : W(import_tensor(w, function, "W", stream)),
        left(import_tensor(l, function, "left", stream)),
        right(import_tensor(r, function, "right", stream)),
        singular_values(import_tensor(s, function, "singular_values", stream)) {}
};

// The weighted problems' optional weights (None: not given), kept alive with their views.
struct ImportedWeights {
  std::optional<ImportedTensor> storage[5];
  lowrank::Weights views;
  ImportedWeights(const char* function, py::handle row_weights, py::handle col_weights, py::handle left_gram,
                  py::handle right_gram, py::handle elementwise, std::intptr_t stream) {
    const py::handle handles[5] = {row_weights, col_weights, left_gram, right_gram, elementwise};
    const char* names[5] = {"row_weights", "col_weights", "left_gram", "right_gram", "weights"};
    TensorView* slots[5] = {&views.row_weights, &views.col_weights, &views.left_gram, &views.right_gram,
                            &views.elementwise};
    for (int i = 0; i < 5; ++i) {
      if (handles[i].is_none()) continue;
      storage[i].emplace(import_tensor(handles[i], function, names[i], stream));
      *slots[i] = storage[i]->view();
    }
  }
};

mlprims::IterativeOptions iteration_options(std::int64_t max_iter, double tol, const py::object& callback) {
  mlprims::IterativeOptions iteration;
  iteration.max_iter = max_iter;
  iteration.tol = tol;
  iteration.callback = iteration_callback(callback);
  return iteration;
}

// weighted_svd's keywords, shared by the public binding and the test hook.
#define MLPRIMS_WEIGHTED_ARGS                                                                                          \
  py::arg("W"), py::arg("rank"), py::kw_only(), py::arg("left"), py::arg("right"), py::arg("singular_values"),         \
      py::arg("row_weights") = py::none(), py::arg("col_weights") = py::none(), py::arg("left_gram") = py::none(),     \
      py::arg("right_gram") = py::none(), py::arg("weights") = py::none(), py::arg("max_iter") = -1,                   \
      py::arg("tol") = -1.0, py::arg("callback") = py::none(), py::arg("method") = "auto", py::arg("oversample") = -1, \
      py::arg("power_iters") = -1, py::arg("seed") = 0, py::arg("placement") = "left", py::arg("stream") = 0

template <class Solve>
auto weighted_binding(const char* function, Solve solve) {
  return [function, solve](py::handle W, std::int64_t rank, py::handle left, py::handle right,
                           py::handle singular_values, py::handle row_weights, py::handle col_weights,
                           py::handle left_gram, py::handle right_gram, py::handle elementwise, std::int64_t max_iter,
                           double tol, const py::object& callback, const std::string& method, std::int64_t oversample,
                           int power_iters, std::uint64_t seed, const std::string& placement, std::intptr_t stream) {
    const Problem p(function, W, left, right, singular_values, stream);
    const ImportedWeights weights(function, row_weights, col_weights, left_gram, right_gram, elementwise, stream);
    const lowrank::SvdOptions options = make_options(method, oversample, power_iters, seed, placement);
    const mlprims::IterativeOptions iteration = iteration_options(max_iter, tol, callback);
    py::gil_scoped_release release;
    return solve(function, p, rank, weights.views, options, iteration);
  };
}

}  // namespace

void register_lowrank(py::module_& m, py::module_& testing) {
  py::class_<lowrank::LowRankResult, IterationReport>(m, "LowRankResult")
      .def_property_readonly("method", [](const lowrank::LowRankResult& r) { return method_name(r.method); })
      .def_readonly("left_shift", &lowrank::LowRankResult::left_shift)
      .def_readonly("right_shift", &lowrank::LowRankResult::right_shift);

  m.def(
      "truncated_svd",
      [](py::handle W, std::int64_t rank, py::handle left, py::handle right, py::handle singular_values,
         const std::string& method, std::int64_t oversample, int power_iters, std::uint64_t seed,
         const std::string& placement, std::intptr_t stream) {
        const Problem p("truncated_svd", W, left, right, singular_values, stream);
        const lowrank::SvdOptions options = make_options(method, oversample, power_iters, seed, placement);
        py::gil_scoped_release release;
        return lowrank::truncated_svd(p.W.view(), rank, options, p.left.view(), p.right.view(),
                                      p.singular_values.view());
      },
      py::arg("W"), py::arg("rank"), py::kw_only(), py::arg("left"), py::arg("right"), py::arg("singular_values"),
      py::arg("method") = "auto", py::arg("oversample") = -1, py::arg("power_iters") = -1, py::arg("seed") = 0,
      py::arg("placement") = "left", py::arg("stream") = 0);

  const auto public_solve = [](const char*, const Problem& p, std::int64_t rank, const lowrank::Weights& weights,
                               const lowrank::SvdOptions& options, const mlprims::IterativeOptions& iteration) {
    return lowrank::weighted_svd(p.W.view(), rank, weights, options, p.left.view(), p.right.view(),
                                 p.singular_values.view(), iteration);
  };
  m.def("weighted_svd", weighted_binding("weighted_svd", public_solve), MLPRIMS_WEIGHTED_ARGS);

  // The closed forms of CPU arrays through the CUDA back end's algorithm, with the messages of
  // the public function named (truncated_svd is weighted_svd without weights).
  const auto device_algorithm = [](const char* function, const Problem& p, std::int64_t rank,
                                   const lowrank::Weights& weights, const lowrank::SvdOptions& options,
                                   const mlprims::IterativeOptions& iteration) {
    return lowrank::detail::solve_with_device_algorithm(function, p.W.view(), rank, weights, options, iteration,
                                                        p.left.view(), p.right.view(), p.singular_values.view());
  };
  for (const char* function : {"truncated_svd", "weighted_svd"}) {
    testing.def(("lowrank_" + std::string(function) + "_device_algorithm").c_str(),
                weighted_binding(function, device_algorithm), MLPRIMS_WEIGHTED_ARGS);
  }

  m.def(
      "fwsvd",
      [](py::handle W, py::handle fisher, std::int64_t rank, int axis, py::handle left, py::handle right,
         py::handle singular_values, const std::string& method, std::int64_t oversample, int power_iters,
         std::uint64_t seed, const std::string& placement, std::intptr_t stream) {
        const Problem p("fwsvd", W, left, right, singular_values, stream);
        const ImportedTensor fisher_in = import_tensor(fisher, "fwsvd", "fisher", stream);
        const lowrank::SvdOptions options = make_options(method, oversample, power_iters, seed, placement);
        py::gil_scoped_release release;
        return lowrank::fwsvd(p.W.view(), fisher_in.view(), rank, axis, options, p.left.view(), p.right.view(),
                              p.singular_values.view());
      },
      py::arg("W"), py::arg("fisher"), py::arg("rank"), py::arg("axis"), py::kw_only(), py::arg("left"),
      py::arg("right"), py::arg("singular_values"), py::arg("method") = "auto", py::arg("oversample") = -1,
      py::arg("power_iters") = -1, py::arg("seed") = 0, py::arg("placement") = "left", py::arg("stream") = 0);
}

#undef MLPRIMS_WEIGHTED_ARGS

}  // namespace mlprims::python
