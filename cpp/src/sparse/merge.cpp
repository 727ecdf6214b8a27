// Merging task vectors (tuned[t] - base): task arithmetic and the TIES family. Computation is in
// float64: each task vector is trimmed (a per-task selection pass, or nothing to store for DARE,
// whose coin flips are regenerated), then one pass over all inputs elects the signs, averages
// the agreeing entries and writes base + the merged vector, rounded once.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/checks.hpp"
#include "core/counter_random.hpp"
#include "core/exact_select.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/sparse.hpp"
#include "sparse/argument_checks.hpp"
#include "sparse/delta_source.hpp"
#include "sparse/row_select.hpp"
#include "sparse/rows.hpp"
#include "sparse/support.hpp"

namespace mlprims::sparse {

namespace {

constexpr const char* kFunction = "sparse.merge";
using mlprims::detail::format_double;

void check_options(const MergeOptions& options, std::size_t tasks) {
  if (!options.weights.empty() && options.weights.size() != tasks) {
    throw ValueError(std::string(kFunction) + ": 'weights' must have one entry per tuned tensor (" +
                     std::to_string(tasks) + "), got " + std::to_string(options.weights.size()));
  }
  for (double w : options.weights) {
    if (!std::isfinite(w))
      throw ValueError(std::string(kFunction) + ": 'weights' must be finite, got " + format_double(w));
  }
  if ((options.method == MergeMethod::kTies || options.method == MergeMethod::kDareTies) &&
      !(options.density > 0.0 && options.density <= 1.0)) {
    throw ValueError(std::string(kFunction) + ": 'density' must be in (0, 1], got " + format_double(options.density));
  }
  if (options.method == MergeMethod::kBreadcrumbsTies) {
    for (auto [name, value] : {std::pair{"drop_top", options.drop_top}, std::pair{"keep", options.keep}}) {
      if (!(value >= 0.0 && value <= 1.0)) {
        throw ValueError(std::string(kFunction) + ": '" + name + "' must be in [0, 1], got " + format_double(value));
      }
    }
  }
}

// What survives the trim of one task vector.
struct Trim {
  mlprims::detail::ChunkedSelection largest;  // kTies
  std::vector<std::uint8_t> mask;             // kBreadcrumbsTies
};

template <class T>
Trim trim_task(const detail::DeltaSource<T, double>& delta, const MergeOptions& options, const detail::RowLayout& rows,
               std::size_t task) {
  Trim trim;
  const std::int64_t n = rows.numel;
  if (options.method == MergeMethod::kTies) {
    const auto k = static_cast<std::int64_t>(std::floor(options.density * static_cast<double>(n)));
    trim.largest = mlprims::detail::select_largest(n, k, 64, mlprims::detail::infinity_key<double>(),
                                                   [&](std::int64_t i) { return delta.key(i); });
    if (trim.largest.invalid > 0) {
      throw ValueError(std::string(kFunction) + ": 'tuned[" + std::to_string(task) + "]' - 'base' has " +
                       std::to_string(trim.largest.invalid) + " NaN entries, which TIES cannot rank by magnitude");
    }
  } else if (options.method == MergeMethod::kBreadcrumbsTies) {
    const std::int64_t m = rows.length;
    const std::int64_t first =
        std::min<std::int64_t>(m, static_cast<std::int64_t>(std::floor(options.drop_top * static_cast<double>(m))));
    const std::int64_t count =
        std::min<std::int64_t>(m - first, static_cast<std::int64_t>(std::floor(options.keep * static_cast<double>(m))));
    std::vector<std::int64_t> positions(static_cast<std::size_t>(rows.count * count));
    bool ranked = true;
    mlprims::detail::for_rows(rows.count, m, [&](std::int64_t begin, std::int64_t end) {
      std::vector<std::pair<std::uint64_t, std::int64_t>> scratch;
      for (std::int64_t r = begin; r < end; ++r) {
        if (!detail::select_row_ranks(
                m, first, count, mlprims::detail::infinity_key<double>(),
                [&](std::int64_t j) { return delta.key(r * m + j); }, scratch, positions.data() + r * count)) {
#pragma omp atomic write
          ranked = false;
          return;
        }
      }
    });
    if (!ranked) {
      throw ValueError(std::string(kFunction) + ": 'tuned[" + std::to_string(task) +
                       "]' - 'base' has NaN entries, which breadcrumbs cannot rank by magnitude");
    }
    trim.mask.assign(static_cast<std::size_t>(detail::mask_bytes(n)), 0);
    for (std::int64_t r = 0; r < rows.count; ++r) {
      for (std::int64_t j = 0; j < count; ++j) {
        const std::int64_t p = r * m + positions[static_cast<std::size_t>(r * count + j)];
        trim.mask[static_cast<std::size_t>(p >> 3)] |= static_cast<std::uint8_t>(1u << (p & 7));
      }
    }
  }
  return trim;
}

template <class T>
void merge_typed(const TensorView& base, const std::vector<TensorView>& tuned, const MergeOptions& options,
                 const TensorView& out) {
  const std::size_t tasks = tuned.size();
  const detail::RowLayout rows = detail::RowLayout::of(base);
  const std::int64_t n = rows.numel;
  std::vector<detail::DeltaSource<T, double>> deltas;
  for (const TensorView& t : tuned) deltas.push_back({base.data_as<const T>(), t.data_as<const T>()});
  std::vector<double> weights = options.weights;
  if (weights.empty()) weights.assign(tasks, 1.0);
  std::vector<Trim> trims;
  if (options.method != MergeMethod::kTaskArithmetic) {
    for (std::size_t t = 0; t < tasks; ++t) trims.push_back(trim_task(deltas[t], options, rows, t));
  }
  const T* b = base.data_as<const T>();
  T* o = out.data_as<T>();
  const double inverse_density = 1.0 / options.density;
  mlprims::detail::for_each_chunk(n, mlprims::detail::select_threads(n), [&](std::int64_t c, int) {
    std::vector<std::int64_t> ties_seen(tasks, 0);
    if (options.method == MergeMethod::kTies) {
      for (std::size_t t = 0; t < tasks; ++t) ties_seen[t] = trims[t].largest.ties_before[static_cast<std::size_t>(c)];
    }
    std::vector<double> kept(tasks);
    const std::int64_t end = std::min(n, (c + 1) * mlprims::detail::kSelectChunk);
    for (std::int64_t i = c * mlprims::detail::kSelectChunk; i < end; ++i) {
      const double base_value = mlprims::detail::to_double(b[i]);
      double merged = 0.0;
      if (options.method == MergeMethod::kTaskArithmetic) {
        for (std::size_t t = 0; t < tasks; ++t) merged += weights[t] * deltas[t].exact(i);
      } else {
        double elected = 0.0;
        for (std::size_t t = 0; t < tasks; ++t) {
          double v = 0.0;
          switch (options.method) {
            case MergeMethod::kTies:
              if (trims[t].largest.keeps(deltas[t].key(i), ties_seen[t])) v = deltas[t].exact(i);
              break;
            case MergeMethod::kDareTies:
              if (deltas[t].bits_differ(i) &&
                  mlprims::detail::counter_uniform(options.seed + t, static_cast<std::uint64_t>(i)) < options.density) {
                v = deltas[t].exact(i) * inverse_density;
              }
              break;
            default:
              if ((trims[t].mask[static_cast<std::size_t>(i >> 3)] >> (i & 7)) & 1u) v = deltas[t].exact(i);
              break;
          }
          kept[t] = weights[t] * v;
          elected += kept[t];
        }
        const bool positive = elected >= 0.0;  // ties (and all-zero entries) elect +
        double agreeing = 0.0, divisor = 0.0;
        for (std::size_t t = 0; t < tasks; ++t) {
          if (positive ? kept[t] > 0.0 : kept[t] < 0.0) {
            agreeing += kept[t];
            divisor += options.divisor == Divisor::kWeights ? weights[t] : 1.0;
          }
        }
        merged = divisor != 0.0 ? agreeing / divisor : 0.0;
      }
      o[i] = mlprims::detail::round_from_double<T>(base_value + merged);
    }
  });
}

}  // namespace

void merge(const TensorView& base, const std::vector<TensorView>& tuned, const MergeOptions& options,
           const TensorView& out) {
  detail::require_weights(base, {kFunction, "base"});
  if (tuned.empty())
    throw ValueError(std::string(kFunction) + ": 'tuned_list' must hold at least one tensor, got none");
  for (std::size_t t = 0; t < tuned.size(); ++t) {
    const std::string name = "tuned_list[" + std::to_string(t) + "]";
    detail::require_weights(tuned[t], {kFunction, name.c_str()});
    detail::require_same_layout(tuned[t], base, {kFunction, name.c_str()}, {kFunction, "base"});
  }
  detail::require_weights(out, {kFunction, "out"});
  detail::require_same_layout(out, base, {kFunction, "out"}, {kFunction, "base"});
  mlprims::detail::require_writable(out, {kFunction, "out"});
  if (out.data() != base.data()) detail::require_disjoint(out, base, {kFunction, "out"}, {kFunction, "base"});
  for (std::size_t t = 0; t < tuned.size(); ++t) {
    const std::string name = "tuned_list[" + std::to_string(t) + "]";
    detail::require_disjoint(out, tuned[t], {kFunction, "out"}, {kFunction, name.c_str()});
  }
  check_options(options, tuned.size());
  mlprims::detail::visit_float_type(base.dtype(),
                                    [&](auto tag) { merge_typed<decltype(tag)>(base, tuned, options, out); });
}

}  // namespace mlprims::sparse
