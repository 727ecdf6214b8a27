// Statistics of an update: how many entries changed and how large the changes are.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/checks.hpp"
#include "core/exact_select.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/sparse.hpp"
#include "sparse/argument_checks.hpp"
#include "sparse/delta_source.hpp"

namespace mlprims::sparse {

UpdateStats update_stats(const TensorView& base, const TensorView& tuned, double atol) {
  constexpr const char* kFunction = "sparse.update_stats";
  detail::require_weights(base, {kFunction, "base"});
  detail::require_weights(tuned, {kFunction, "tuned"});
  detail::require_same_layout(tuned, base, {kFunction, "tuned"}, {kFunction, "base"});
  if (!(atol >= 0.0) || std::isinf(atol)) {
    throw ValueError(std::string(kFunction) + ": 'atol' must be finite and >= 0, got " +
                     mlprims::detail::format_double(atol));
  }
  const std::int64_t n = base.numel();
  const std::int64_t chunks = mlprims::detail::select_chunk_count(n);
  struct Partial {
    std::int64_t changed = 0, nan = 0;
    double max_abs = 0.0, sum_abs = 0.0;
  };
  std::vector<Partial> partials(static_cast<std::size_t>(chunks));
  mlprims::detail::visit_float_type(base.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const detail::DeltaSource<T, double> delta{base.data_as<const T>(), tuned.data_as<const T>()};
    mlprims::detail::for_each_chunk(n, mlprims::detail::select_threads(n), [&](std::int64_t c, int) {
      Partial p;
      const std::int64_t end = std::min(n, (c + 1) * mlprims::detail::kSelectChunk);
      for (std::int64_t i = c * mlprims::detail::kSelectChunk; i < end; ++i) {
        const double magnitude = std::fabs(delta.exact(i));
        p.changed += atol == 0.0 ? delta.bits_differ(i) : !(magnitude <= atol);
        if (std::isnan(magnitude)) {
          ++p.nan;
          continue;
        }
        p.max_abs = std::max(p.max_abs, magnitude);
        p.sum_abs += magnitude;
      }
      partials[static_cast<std::size_t>(c)] = p;
    });
  });
  UpdateStats stats;
  stats.numel = n;
  double sum_abs = 0.0;  // chunk sums added in chunk order: the same on any thread count
  for (const Partial& p : partials) {
    stats.changed += p.changed;
    stats.nan += p.nan;
    stats.max_abs = std::max(stats.max_abs, p.max_abs);
    sum_abs += p.sum_abs;
  }
  stats.mean_abs = n > stats.nan ? sum_abs / static_cast<double>(n - stats.nan) : 0.0;
  return stats;
}

}  // namespace mlprims::sparse
