// Selective Synaptic Dampening (Foster, Schoepf and Brintrup, AAAI 2024): shrink the weights that
// matter far more to the forget set than to the data as a whole.
#include <cmath>
#include <string>

#include "core/checks.hpp"
#include "core/float_elements.hpp"
#include "core/parallel.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/sparse.hpp"
#include "sparse/argument_checks.hpp"

namespace mlprims::sparse {

std::int64_t ssd_dampen(const TensorView& param, const TensorView& importance_forget,
                        const TensorView& importance_retain, double alpha, double lam) {
  constexpr const char* kFunction = "sparse.ssd_dampen_";
  detail::require_weights(param, {kFunction, "param"});
  mlprims::detail::require_writable(param, {kFunction, "param"});
  detail::require_weights(importance_forget, {kFunction, "importance_forget"});
  detail::require_weights(importance_retain, {kFunction, "importance_retain"});
  if (importance_forget.shape() != param.shape() || importance_retain.shape() != param.shape()) {
    throw ValueError(std::string(kFunction) + ": the importances must have the parameter's shape " +
                     shape_str(param.shape()) + ", got " + shape_str(importance_forget.shape()) + " and " +
                     shape_str(importance_retain.shape()));
  }
  detail::require_same_layout(importance_retain, importance_forget, {kFunction, "importance_retain"},
                              {kFunction, "importance_forget"});
  detail::require_disjoint(param, importance_forget, {kFunction, "param"}, {kFunction, "importance_forget"});
  detail::require_disjoint(param, importance_retain, {kFunction, "param"}, {kFunction, "importance_retain"});
  if (!(std::isfinite(alpha) && alpha >= 0.0)) {
    throw ValueError(std::string(kFunction) + ": 'alpha' must be finite and >= 0, got " +
                     mlprims::detail::format_double(alpha));
  }
  if (!(std::isfinite(lam) && lam >= 0.0)) {
    throw ValueError(std::string(kFunction) + ": 'lam' must be finite and >= 0, got " +
                     mlprims::detail::format_double(lam));
  }
  const std::int64_t n = param.numel();
  const int threads = mlprims::detail::threads_for(n, std::int64_t{1} << 16);
  std::int64_t selected = 0;
  mlprims::detail::visit_float_type(param.dtype(), [&](auto p_tag) {
    mlprims::detail::visit_float_type(importance_forget.dtype(), [&](auto i_tag) {
      using P = decltype(p_tag);
      using I = decltype(i_tag);
      P* w = param.data_as<P>();
      const I* forget = importance_forget.data_as<const I>();
      const I* retain = importance_retain.data_as<const I>();
      // Importances are checked before any weight changes: a negative or NaN one is a bad input,
      // not a coordinate to skip silently.
      std::int64_t invalid = 0;
#pragma omp parallel for reduction(+ : invalid) num_threads(threads) if (threads > 1)
      for (std::int64_t i = 0; i < n; ++i) {
        invalid += !(mlprims::detail::to_double(forget[i]) >= 0.0) | !(mlprims::detail::to_double(retain[i]) >= 0.0);
      }
      if (invalid > 0) {
        throw ValueError(std::string(kFunction) + ": the importances must be non-negative numbers, got " +
                         std::to_string(invalid) + " negative or NaN entries");
      }
#pragma omp parallel for reduction(+ : selected) num_threads(threads) if (threads > 1)
      for (std::int64_t i = 0; i < n; ++i) {
        const double f = mlprims::detail::to_double(forget[i]), r = mlprims::detail::to_double(retain[i]);
        if (f > alpha * r) {
          const double factor = std::fmin(lam * r / f, 1.0);
          w[i] = mlprims::detail::round_from_double<P>(mlprims::detail::to_double(w[i]) * factor);
          ++selected;
        }
      }
    });
  });
  return selected;
}

}  // namespace mlprims::sparse
