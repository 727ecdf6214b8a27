// Bindings of mlprims/sparse.hpp (mlprims._core.sparse). Arrays arrive C-contiguous from
// mlprims.sparse, which allocates every output; an extraction is planned, its size read, the
// outputs allocated in the caller's framework, and then written.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/counter_random.hpp"
#include "dlpack.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/sparse.hpp"
#include "registration.hpp"

namespace py = pybind11;

namespace mlprims::python {
namespace {

sparse::Select parse_select(const std::string& select) {
  if (select == "changed") return sparse::Select::kChanged;
  if (select == "magnitude") return sparse::Select::kMagnitude;
  if (select == "random") return sparse::Select::kRandom;
  if (select == "breadcrumbs") return sparse::Select::kBreadcrumbs;
  throw ValueError("sparse.extract: 'select' must be 'magnitude', 'random' or 'breadcrumbs', got '" + select + "'");
}

sparse::MergeMethod parse_merge_method(const std::string& method) {
  if (method == "task_arithmetic") return sparse::MergeMethod::kTaskArithmetic;
  if (method == "ties") return sparse::MergeMethod::kTies;
  if (method == "dare_ties") return sparse::MergeMethod::kDareTies;
  if (method == "breadcrumbs_ties") return sparse::MergeMethod::kBreadcrumbsTies;
  throw ValueError(
      "sparse.merge: 'method' must be 'task_arithmetic', 'ties', 'dare_ties' or 'breadcrumbs_ties', got '" + method +
      "'");
}

DType parse_value_dtype(const std::string& name) {
  if (name == "float16") return DType::kFloat16;
  if (name == "bfloat16") return DType::kBFloat16;
  if (name == "float32") return DType::kFloat32;
  if (name == "float64") return DType::kFloat64;
  throw TypeError("sparse.extract: 'value_dtype' must be float16, bfloat16, float32 or float64, got '" + name + "'");
}

// A Support from mlprims.sparse: an encoding name and its positions tensor (None for "all").
struct ImportedSupport {
  std::optional<ImportedTensor> positions;
  sparse::Support support;
};

ImportedSupport import_support(const std::string& encoding, py::handle positions, const char* function) {
  ImportedSupport out;
  if (encoding == "all") {
    out.support.encoding = sparse::Support::Encoding::kAll;
    return out;
  }
  if (encoding != "indices" && encoding != "bitmask") {
    throw ValueError(std::string(function) + ": internal: unknown support encoding '" + encoding + "'");
  }
  out.positions.emplace(import_tensor(positions, function, "mask", 0));
  out.support.encoding =
      encoding == "indices" ? sparse::Support::Encoding::kIndices : sparse::Support::Encoding::kBitmask;
  out.support.positions = out.positions->view();
  return out;
}

// A planned threshold selection and the tensor it reads, kept alive together.
struct PlannedThreshold {
  ImportedTensor x;
  sparse::ThresholdSelection plan;
};

// An extraction and the inputs it reads, kept alive together.
struct PlannedExtraction {
  ImportedTensor base, tuned;
  sparse::Extraction plan;
};

}  // namespace

void register_sparse(py::module_& m) {
  py::class_<PlannedExtraction>(m, "Extraction")
      .def(py::init([](py::handle base, py::handle tuned, const std::string& select, const std::string& scope,
                       double atol, std::int64_t k, double density, std::uint64_t seed, double drop_top, double keep,
                       const std::string& value_dtype) {
             const char* function = "sparse.extract";
             ImportedTensor base_in = import_tensor(base, function, "base", 0);
             ImportedTensor tuned_in = import_tensor(tuned, function, "tuned", 0);
             sparse::SelectRule rule;
             rule.select = parse_select(select);
             rule.scope = scope == "row" ? sparse::Scope::kRow : sparse::Scope::kTensor;
             rule.atol = atol;
             rule.k = k;
             rule.density = density;
             rule.seed = seed;
             rule.drop_top = drop_top;
             rule.keep = keep;
             const DType values = parse_value_dtype(value_dtype);
             const TensorView base_view = base_in.view(), tuned_view = tuned_in.view();
             py::gil_scoped_release release;
             sparse::Extraction plan(base_view, tuned_view, rule, values);
             return new PlannedExtraction{std::move(base_in), std::move(tuned_in), std::move(plan)};
           }),
           py::arg("base"), py::arg("tuned"), py::kw_only(), py::arg("select"), py::arg("scope") = "tensor",
           py::arg("atol") = 0.0, py::arg("k") = 0, py::arg("density") = 1.0, py::arg("seed") = 0,
           py::arg("drop_top") = 0.0, py::arg("keep") = 0.0, py::arg("value_dtype"))
      .def_property_readonly("nnz", [](const PlannedExtraction& e) { return e.plan.nnz(); })
      .def(
          "write",
          [](const PlannedExtraction& e, py::handle indices, py::handle values) {
            const ImportedTensor i_out = import_tensor(indices, "sparse.extract", "indices", 0);
            const ImportedTensor v_out = import_tensor(values, "sparse.extract", "values", 0);
            py::gil_scoped_release release;
            e.plan.write(i_out.view(), v_out.view());
          },
          py::arg("indices"), py::arg("values"))
      .def(
          "write_bitmask",
          [](const PlannedExtraction& e, py::handle bitmask, py::handle values) {
            const ImportedTensor b_out = import_tensor(bitmask, "sparse.extract", "bitmask", 0);
            const ImportedTensor v_out = import_tensor(values, "sparse.extract", "values", 0);
            py::gil_scoped_release release;
            e.plan.write_bitmask(b_out.view(), v_out.view());
          },
          py::arg("bitmask"), py::arg("values"));

  m.def(
      "apply_indices",
      [](py::handle W, py::handle indices, py::handle values, double alpha) {
        const ImportedTensor w = import_tensor(W, "sparse.apply_", "W", 0),
                             i = import_tensor(indices, "sparse.apply_", "indices", 0),
                             v = import_tensor(values, "sparse.apply_", "values", 0);
        py::gil_scoped_release release;
        sparse::apply_indices(w.view(), i.view(), v.view(), alpha);
      },
      py::arg("W"), py::arg("indices"), py::arg("values"), py::arg("alpha"));
  m.def(
      "apply_bitmask",
      [](py::handle W, py::handle bitmask, py::handle values, double alpha) {
        const ImportedTensor w = import_tensor(W, "sparse.apply_", "W", 0),
                             b = import_tensor(bitmask, "sparse.apply_", "bitmask", 0),
                             v = import_tensor(values, "sparse.apply_", "values", 0);
        py::gil_scoped_release release;
        sparse::apply_bitmask(w.view(), b.view(), v.view(), alpha);
      },
      py::arg("W"), py::arg("bitmask"), py::arg("values"), py::arg("alpha"));
  m.def(
      "indices_to_bitmask",
      [](py::handle indices, std::int64_t numel, py::handle bitmask) {
        const ImportedTensor i = import_tensor(indices, "sparse.indices_to_bitmask", "indices", 0),
                             b = import_tensor(bitmask, "sparse.indices_to_bitmask", "bitmask", 0);
        py::gil_scoped_release release;
        sparse::indices_to_bitmask(i.view(), numel, b.view());
      },
      py::arg("indices"), py::arg("numel"), py::arg("bitmask"));
  m.def(
      "bitmask_to_indices",
      [](py::handle bitmask, std::int64_t numel, py::handle indices) {
        const ImportedTensor b = import_tensor(bitmask, "sparse.bitmask_to_indices", "bitmask", 0),
                             i = import_tensor(indices, "sparse.bitmask_to_indices", "indices", 0);
        py::gil_scoped_release release;
        sparse::bitmask_to_indices(b.view(), numel, i.view());
      },
      py::arg("bitmask"), py::arg("numel"), py::arg("indices"));
  m.def(
      "bitmask_count",
      [](py::handle bitmask, std::int64_t numel) {
        const ImportedTensor b = import_tensor(bitmask, "sparse.bitmask_count", "bitmask", 0);
        py::gil_scoped_release release;
        return sparse::bitmask_count(b.view(), numel);
      },
      py::arg("bitmask"), py::arg("numel"));
  m.def(
      "kth_largest_abs",
      [](py::handle x, std::int64_t k) {
        const ImportedTensor x_in = import_tensor(x, "sparse.kth_largest_abs", "x", 0);
        py::gil_scoped_release release;
        return sparse::kth_largest_abs(x_in.view(), k);
      },
      py::arg("x"), py::arg("k"));
  m.def(
      "topk_abs",
      [](py::handle x, std::int64_t k, py::handle indices, py::handle values) {
        const ImportedTensor x_in = import_tensor(x, "sparse.topk_abs", "x", 0),
                             i = import_tensor(indices, "sparse.topk_abs", "indices", 0),
                             v = import_tensor(values, "sparse.topk_abs", "values", 0);
        py::gil_scoped_release release;
        sparse::topk_abs(x_in.view(), k, i.view(), v.view());
      },
      py::arg("x"), py::arg("k"), py::kw_only(), py::arg("indices"), py::arg("values"));
  m.def(
      "update_stats",
      [](py::handle base, py::handle tuned, double atol) {
        const ImportedTensor b = import_tensor(base, "sparse.update_stats", "base", 0),
                             t = import_tensor(tuned, "sparse.update_stats", "tuned", 0);
        sparse::UpdateStats stats;
        {
          py::gil_scoped_release release;
          stats = sparse::update_stats(b.view(), t.view(), atol);
        }
        py::dict out;
        out["numel"] = stats.numel;
        out["changed"] = stats.changed;
        out["nan"] = stats.nan;
        out["max_abs"] = stats.max_abs;
        out["mean_abs"] = stats.mean_abs;
        return out;
      },
      py::arg("base"), py::arg("tuned"), py::arg("atol"));
  m.def(
      "merge",
      [](py::handle base, const std::vector<py::handle>& tuned, py::handle out, const std::string& method,
         const std::vector<double>& weights, double density, const std::string& divisor, std::uint64_t seed,
         double drop_top, double keep) {
        const char* function = "sparse.merge";
        const ImportedTensor b = import_tensor(base, function, "base", 0), o = import_tensor(out, function, "out", 0);
        std::vector<ImportedTensor> tuned_in;
        std::vector<TensorView> tuned_views;
        for (std::size_t t = 0; t < tuned.size(); ++t) {
          tuned_in.push_back(import_tensor(tuned[t], function, "tuned_list", 0));
          tuned_views.push_back(tuned_in.back().view());
        }
        sparse::MergeOptions options;
        options.method = parse_merge_method(method);
        options.weights = weights;
        options.density = density;
        options.divisor = divisor == "count" ? sparse::Divisor::kCount : sparse::Divisor::kWeights;
        options.seed = seed;
        options.drop_top = drop_top;
        options.keep = keep;
        py::gil_scoped_release release;
        sparse::merge(b.view(), tuned_views, options, o.view());
      },
      py::arg("base"), py::arg("tuned_list"), py::kw_only(), py::arg("out"), py::arg("method"), py::arg("weights"),
      py::arg("density"), py::arg("divisor"), py::arg("seed"), py::arg("drop_top"), py::arg("keep"));

  // Training on masked coordinates.
  py::class_<PlannedThreshold>(m, "ThresholdSelection")
      .def(py::init([](py::handle x, double threshold, bool below) {
             ImportedTensor x_in = import_tensor(x, "sparse.Mask.below/above", "W", 0);
             const TensorView view = x_in.view();
             py::gil_scoped_release release;
             sparse::ThresholdSelection plan(view, threshold, below);
             return new PlannedThreshold{std::move(x_in), std::move(plan)};
           }),
           py::arg("x"), py::arg("threshold"), py::kw_only(), py::arg("below"))
      .def_property_readonly("nnz", [](const PlannedThreshold& t) { return t.plan.nnz(); })
      .def(
          "write",
          [](const PlannedThreshold& t, py::handle indices) {
            const ImportedTensor out = import_tensor(indices, "sparse.Mask.below/above", "indices", 0);
            py::gil_scoped_release release;
            t.plan.write(out.view());
          },
          py::arg("indices"))
      .def(
          "write_bitmask",
          [](const PlannedThreshold& t, py::handle bitmask) {
            const ImportedTensor out = import_tensor(bitmask, "sparse.Mask.below/above", "bitmask", 0);
            py::gil_scoped_release release;
            t.plan.write_bitmask(out.view());
          },
          py::arg("bitmask"));
  m.def(
      "check_support",
      [](const std::string& encoding, py::handle positions, std::int64_t numel) {
        const ImportedSupport s = import_support(encoding, positions, "sparse.Mask");
        py::gil_scoped_release release;
        return sparse::support_count(s.support, numel);
      },
      py::arg("encoding"), py::arg("positions"), py::arg("numel"),
      "The number of coordinates of a support, after checking it against a tensor of numel elements.");
  // gather and scatter: the compact values of W's masked coordinates moved out of or into W.
  using MoveValues = void (*)(const TensorView&, const sparse::Support&, const TensorView&);
  for (const auto& [name, function, move] :
       {std::tuple{"gather", "sparse.Mask.gather", MoveValues{&sparse::gather}},
        std::tuple{"scatter", "sparse.Mask.scatter_", MoveValues{&sparse::scatter}}}) {
    m.def(
        name,
        [function = function, move = move](py::handle W, const std::string& encoding, py::handle positions,
                                           py::handle values) {
          const ImportedTensor w = import_tensor(W, function, "W", 0), v = import_tensor(values, function, "values", 0);
          const ImportedSupport s = import_support(encoding, positions, function);
          py::gil_scoped_release release;
          move(w.view(), s.support, v.view());
        },
        py::arg("W"), py::arg("encoding"), py::arg("positions"), py::arg("values"));
  }
  m.def(
      "count_nonfinite",
      [](py::handle values, const std::string& encoding, py::handle positions) {
        const ImportedTensor v = import_tensor(values, "sparse.MaskedAdam", "grad", 0);
        const ImportedSupport s = import_support(encoding, positions, "sparse.MaskedAdam");
        py::gil_scoped_release release;
        return sparse::count_nonfinite(v.view(), s.support);
      },
      py::arg("values"), py::arg("encoding"), py::arg("positions"));
  m.def(
      "masked_adam_step",
      [](py::handle param, py::handle grad, const std::string& encoding, py::handle positions, py::handle exp_avg,
         py::handle exp_avg_sq, double lr, double beta1, double beta2, double eps, double weight_decay,
         std::int64_t step) {
        const char* function = "sparse.MaskedAdam";
        const ImportedTensor p = import_tensor(param, function, "param", 0),
                             g = import_tensor(grad, function, "grad", 0),
                             m1 = import_tensor(exp_avg, function, "exp_avg", 0),
                             m2 = import_tensor(exp_avg_sq, function, "exp_avg_sq", 0);
        const ImportedSupport s = import_support(encoding, positions, function);
        sparse::AdamOptions options{lr, beta1, beta2, eps, weight_decay, step};
        py::gil_scoped_release release;
        sparse::masked_adam_step(p.view(), g.view(), s.support, m1.view(), m2.view(), options);
      },
      py::arg("param"), py::arg("grad"), py::arg("encoding"), py::arg("positions"), py::kw_only(), py::arg("exp_avg"),
      py::arg("exp_avg_sq"), py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"),
      py::arg("step"));
  m.def(
      "masked_perturb",
      [](py::handle param, const std::string& encoding, py::handle positions, std::uint64_t seed, double scale,
         double decay) {
        const ImportedTensor p = import_tensor(param, "sparse.masked_perturb_", "params", 0);
        const ImportedSupport s = import_support(encoding, positions, "sparse.masked_perturb_");
        py::gil_scoped_release release;
        sparse::masked_perturb(p.view(), s.support, seed, scale, decay);
      },
      py::arg("param"), py::arg("encoding"), py::arg("positions"), py::kw_only(), py::arg("seed"), py::arg("scale"),
      py::arg("decay") = 1.0);
  m.def(
      "stream_seed",
      [](std::uint64_t seed, std::uint64_t stream) { return mlprims::detail::counter_bits(seed, stream); },
      py::arg("seed"), py::arg("stream"),
      "The seed of stream `stream` derived from `seed` (SplitMix64's output `stream` of `seed`).");
  m.def(
      "ssd_dampen",
      [](py::handle param, py::handle forget, py::handle retain, double alpha, double lam) {
        const char* function = "sparse.ssd_dampen_";
        const ImportedTensor p = import_tensor(param, function, "param", 0),
                             f = import_tensor(forget, function, "importance_forget", 0),
                             r = import_tensor(retain, function, "importance_retain", 0);
        py::gil_scoped_release release;
        return sparse::ssd_dampen(p.view(), f.view(), r.view(), alpha, lam);
      },
      py::arg("param"), py::arg("importance_forget"), py::arg("importance_retain"), py::kw_only(), py::arg("alpha"),
      py::arg("lam"));
}

}  // namespace mlprims::python
