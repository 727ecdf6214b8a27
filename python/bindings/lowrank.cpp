// Bindings of mlprims/lowrank.hpp. Arrays arrive C-contiguous from mlprims.lowrank, outputs
// allocated there.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <string>

#include "dlpack.hpp"
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

py::tuple result_tuple(const lowrank::WeightedResult& result) {
  return py::make_tuple(method_name(result.method),
                        result.weighted_error, result.left_shift, result.right_shift, result.iterations,
                        result.converged);
}

}  // namespace

void register_lowrank(py::module_& m) {
  m.def(
      "lowrank_weighted_svd",
      [](py::handle W, std::int64_t rank, py::handle row_weights, py::handle col_weights, py::handle left_gram,
         py::handle right_gram, py::handle elementwise, std::int64_t max_iter, double tol, py::object callback,
         const std::string& method, std::int64_t oversample, int power_iters,
         std::uint64_t seed, const std::string& placement, py::handle left, py::handle right,
         py::handle singular_values, std::intptr_t stream, bool device_algorithm, const std::string& name) {
        // Errors name the public function that was called: truncated_svd runs through here too.
        const char* function = name.c_str();
        const ImportedTensor w_in = import_tensor(W, function, "W", stream);
        const ImportedTensor left_in = import_tensor(left, function, "left", stream);
        const ImportedTensor right_in = import_tensor(right, function, "right", stream);
        const ImportedTensor s_in = import_tensor(singular_values, function, "singular_values", stream);
        std::optional<ImportedTensor> inputs[5];
        py::handle handles[5] = {row_weights, col_weights, left_gram, right_gram, elementwise};
        const char* names[5] = {"row_weights", "col_weights", "left_gram", "right_gram", "weights"};
        lowrank::Weights weights;
        TensorView* slots[5] = {&weights.row_weights, &weights.col_weights, &weights.left_gram, &weights.right_gram,
                                &weights.elementwise};
        for (int i = 0; i < 5; ++i) {
          if (handles[i].is_none()) continue;
          inputs[i].emplace(import_tensor(handles[i], function, names[i], stream));
          *slots[i] = inputs[i]->view();
        }
        lowrank::SvdOptions options = make_options(method, oversample, power_iters, seed, placement);
        options.max_iter = max_iter;
        options.tol = tol;
        if (!callback.is_none()) {
          // Runs with the GIL released; a Python exception propagates out of weighted_svd.
          options.callback = [&callback](std::int64_t sweep, double error) {
            py::gil_scoped_acquire acquire;
            return py::bool_(callback(sweep, error)).cast<bool>();
          };
        }
        lowrank::WeightedResult result;
        {
          py::gil_scoped_release release;
          result = lowrank::detail::weighted_svd_as(function, w_in.view(), rank, weights, options, left_in.view(),
                                                    right_in.view(), s_in.view(), device_algorithm);
        }
        return result_tuple(result);
      },
      py::arg("W"), py::arg("rank"), py::arg("row_weights"), py::arg("col_weights"), py::arg("left_gram"),
      py::arg("right_gram"), py::arg("weights"), py::arg("max_iter"), py::arg("tol"), py::arg("callback"),
      py::arg("method"), py::arg("oversample"), py::arg("power_iters"), py::arg("seed"),
      py::arg("placement"), py::arg("left"), py::arg("right"), py::arg("singular_values"), py::arg("stream"),
      py::arg("device_algorithm"), py::arg("function"));

  m.def(
      "lowrank_fwsvd",
      [](py::handle W, py::handle fisher, std::int64_t rank, int axis, const std::string& method,
         std::int64_t oversample, int power_iters, std::uint64_t seed, const std::string& placement, py::handle left,
         py::handle right, py::handle singular_values, std::intptr_t stream) {
        const char* function = "fwsvd";
        const ImportedTensor w_in = import_tensor(W, function, "W", stream);
        const ImportedTensor fisher_in = import_tensor(fisher, function, "fisher", stream);
        const ImportedTensor left_in = import_tensor(left, function, "left", stream);
        const ImportedTensor right_in = import_tensor(right, function, "right", stream);
        const ImportedTensor s_in = import_tensor(singular_values, function, "singular_values", stream);
        const lowrank::SvdOptions options = make_options(method, oversample, power_iters, seed, placement);
        lowrank::WeightedResult result;
        {
          py::gil_scoped_release release;
          result = lowrank::fwsvd(w_in.view(), fisher_in.view(), rank, axis, options, left_in.view(), right_in.view(),
                                  s_in.view());
        }
        return result_tuple(result);
      },
      py::arg("W"), py::arg("fisher"), py::arg("rank"), py::arg("axis"), py::arg("method"), py::arg("oversample"),
      py::arg("power_iters"), py::arg("seed"), py::arg("placement"), py::arg("left"), py::arg("right"),
      py::arg("singular_values"), py::arg("stream"));
}

}  // namespace mlprims::python
