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

// Element (i, j) of a float32/float64 matrix view, as double.
struct MatrixReader {
  const char* data;
  DType dtype;
  std::int64_t row_stride;
  std::int64_t col_stride;

  explicit MatrixReader(const TensorView& t)
      : data(static_cast<const char*>(t.data())),
        dtype(t.dtype()),
        row_stride(t.stride(0)),
        col_stride(t.ndim() > 1 ? t.stride(1) : 0) {}

  double operator()(std::int64_t i, std::int64_t j) const {
    const std::int64_t offset = i * row_stride + j * col_stride;
    return dtype == DType::kFloat64 ? reinterpret_cast<const double*>(data)[offset]
                                    : static_cast<double>(reinterpret_cast<const float*>(data)[offset]);
  }
};

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
  const MatrixReader x(X);
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
    mlprims::detail::store_from_double(out_data + i * out_stride * out_element, out.dtype(), log_c + kappa * dot);
  }
  WorstRow result;
  for (const WorstRow& w : worst) {
    if (w.index >= 0) keep_worse(result, w.index, w.squared_norm);
  }
  return result;
}

WeightedSum weighted_sum_cpu(const TensorView& X, const TensorView* weights) {
  const std::int64_t n = X.shape(0), p = X.shape(1);
  const MatrixReader x(X);
  const std::optional<MatrixReader> w = weights ? std::optional<MatrixReader>(MatrixReader(*weights)) : std::nullopt;
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
