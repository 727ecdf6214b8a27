// CPU back end of mlprims/vmf.hpp.
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "core/elementwise_cpu.hpp"
#include "core/parallel.hpp"
#include "vmf/backend.hpp"
#include "vmf/math/vmf_math.hpp"

namespace mlprims::vmf::detail {
namespace {

using mlprims::detail::MatrixReader;

double squared_deviation(double squared_norm) {
  return std::isnan(squared_norm) ? std::numeric_limits<double>::infinity() : std::fabs(squared_norm - 1.0);
}

void keep_worse(WorstRow& worst, std::int64_t index, double squared_norm) {
  if (worst.index < 0 || squared_deviation(squared_norm) > squared_deviation(worst.squared_norm)) {
    worst = {index, squared_norm};
  }
}

}  // namespace

void normalizer_cpu(NormalizerFunction function, const TensorView& kappa, double p, const TensorView& out) {
  mlprims::detail::run_elementwise_cpu<1>({&kappa}, out,
                                          [function, p](const double* const* in, double* o, std::int64_t n) {
                                            const double* k = in[0];
                                            if (function == NormalizerFunction::kLogNormalizer) {
                                              for (std::int64_t i = 0; i < n; ++i) o[i] = log_normalizer(k[i], p);
                                            } else {
                                              for (std::int64_t i = 0; i < n; ++i)
                                                o[i] = mean_resultant_length(k[i], p);
                                            }
                                          });
}

WorstRow log_prob_cpu(const TensorView& X, const std::vector<double>& direction, double kappa, double log_c,
                      const TensorView& out) {
  const std::int64_t n = X.shape(0), p = X.shape(1);
  const MatrixReader x = MatrixReader::of(X);
  char* out_data = static_cast<char*>(out.data());
  const std::int64_t out_stride = out.stride(0);
  const auto out_element = static_cast<std::int64_t>(dtype_size(out.dtype()));
  const int threads = mlprims::detail::threads_for(n * p, 1 << 15);
  std::vector<WorstRow> worst(static_cast<std::size_t>(threads));
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
  for (std::int64_t i = 0; i < n; ++i) {
    double dot = 0.0, squared_norm = 0.0;
    for (std::int64_t j = 0; j < p; ++j) {
      const double value = x(i, j);
      dot += value * direction[j];
      squared_norm += value * value;
    }
    keep_worse(worst[static_cast<std::size_t>(mlprims::detail::thread_index())], i, squared_norm);
    mlprims::detail::store_from_double(out_data + i * out_stride * out_element, out.dtype(), 0, log_c + kappa * dot);
  }
  WorstRow result;
  for (const WorstRow& w : worst) {
    if (w.index >= 0) keep_worse(result, w.index, w.squared_norm);
  }
  return result;
}

WeightedSum weighted_sum_cpu(const TensorView& X, const TensorView* weights) {
  const std::int64_t n = X.shape(0), p = X.shape(1);
  const MatrixReader x = MatrixReader::of(X);
  const std::optional<MatrixReader> w =
      weights ? std::optional<MatrixReader>(MatrixReader::of(*weights)) : std::nullopt;
  const int threads = mlprims::detail::threads_for(n * p, 1 << 15);
  std::vector<WeightedSum> partial(static_cast<std::size_t>(threads));
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
#endif
  {
    WeightedSum& mine = partial[static_cast<std::size_t>(mlprims::detail::thread_index())];
    mine.sum.assign(static_cast<std::size_t>(p), 0.0);
#if defined(_OPENMP)
#pragma omp for schedule(static)
#endif
    for (std::int64_t i = 0; i < n; ++i) {
      const double weight = w ? (*w)(i, 0) : 1.0;
      if (!(weight >= 0.0 && std::isfinite(weight))) {
        if (mine.bad_weight_index < 0 || i < mine.bad_weight_index) mine.bad_weight_index = i;
        continue;
      }
      double squared_norm = 0.0;
      for (std::int64_t j = 0; j < p; ++j) {
        const double value = x(i, j);
        mine.sum[j] += weight * value;
        squared_norm += value * value;
      }
      mine.total_weight += weight;
      keep_worse(mine.worst_row, i, squared_norm);
    }
  }
  WeightedSum result;
  result.sum.assign(static_cast<std::size_t>(p), 0.0);
  for (const WeightedSum& part : partial) {
    if (part.sum.empty()) continue;
    for (std::int64_t j = 0; j < p; ++j) result.sum[j] += part.sum[j];
    result.total_weight += part.total_weight;
    if (part.worst_row.index >= 0) keep_worse(result.worst_row, part.worst_row.index, part.worst_row.squared_norm);
    if (part.bad_weight_index >= 0 &&
        (result.bad_weight_index < 0 || part.bad_weight_index < result.bad_weight_index)) {
      result.bad_weight_index = part.bad_weight_index;
    }
  }
  return result;
}

}  // namespace mlprims::vmf::detail
