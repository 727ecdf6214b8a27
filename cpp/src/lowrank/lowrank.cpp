// Entry points of mlprims/lowrank.hpp: the argument checks common to all, then the dispatch to
// the element-wise solver (elementwise_solve.hpp) or the closed form (weighted_closed_form.hpp) on
// W's back end.
#include "mlprims/lowrank.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "lowrank/argument_checks.hpp"
#include "lowrank/backend.hpp"
#include "lowrank/dense_ops_svd.hpp"
#include "lowrank/elementwise_solve.hpp"
#include "lowrank/testing.hpp"
#include "lowrank/truncated_factors.hpp"
#include "lowrank/weighted_closed_form.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::lowrank {
namespace {

using detail::ArgRef;
using detail::as_doubles;
using detail::check_problem;
using detail::host_view;
using detail::present;
using detail::require_nonnegative;

// The closed form on W's back end: CUDA with the device algorithm; the host with the tuned CPU
// SVD, or with the device algorithm when `host_backend` (tests: the GPU's code on the CPU).
template <class T>
LowRankResult closed_form(const char* function, const TensorView& W, std::int64_t rank, const Weights& weights,
                          const SvdOptions& options, const TensorView& left, const TensorView& right,
                          const TensorView& singular_values, bool host_backend) {
#if defined(MLPRIMS_WITH_CUDA)
  if (W.device().is_cuda()) {
    const auto ops = detail::make_cuda_dense_ops<T>(W.device().index, W.stream());
    return detail::solve_weighted<T>(*ops, detail::dense_ops_truncated_factors<T>, function, W, rank, weights, options,
                                     left, right, singular_values);
  }
#endif
  const detail::TruncatedSvd<T> svd =
      host_backend ? detail::dense_ops_truncated_factors<T> : detail::cpu_truncated_factors<T>;
  return detail::solve_weighted<T>(detail::CpuDenseOps<T>(), svd, function, W, rank, weights, options, left, right,
                                   singular_values);
}

// `host_backend`: CPU tensors through the device algorithm (tests).
LowRankResult run(const char* function, const TensorView& W, std::int64_t rank, const Weights& weights,
                  const SvdOptions& options, const IterativeOptions& iteration, const TensorView& left,
                  const TensorView& right, const TensorView& singular_values, bool host_backend = false) {
  check_problem(function, W, rank, left, right, singular_values);
  if (options.oversample < -1 || options.power_iters < -1) {
    throw ValueError(std::string(function) + ": 'oversample' and 'power_iters' must be >= 0");
  }
  if (present(weights.row_weights) && present(weights.left_gram)) {
    throw ValueError(std::string(function) + ": give at most one of 'row_weights' and 'left_gram'");
  }
  if (present(weights.col_weights) && present(weights.right_gram)) {
    throw ValueError(std::string(function) + ": give at most one of 'col_weights' and 'right_gram'");
  }
  if (present(weights.elementwise)) {
    if (present(weights.row_weights) || present(weights.col_weights) || present(weights.left_gram) ||
        present(weights.right_gram)) {
      throw ValueError(std::string(function) +
                       ": element-wise 'weights' cannot be combined with row_weights, col_weights, left_gram or "
                       "right_gram (fold diagonal weights into them: w_ij * row_i^2 * col_j^2)");
    }
    return detail::solve_elementwise(function, W, rank, weights.elementwise, options, iteration, left, right,
                                     singular_values);
  }
  return W.dtype() == DType::kFloat64
             ? closed_form<double>(function, W, rank, weights, options, left, right, singular_values, host_backend)
             : closed_form<float>(function, W, rank, weights, options, left, right, singular_values, host_backend);
}

}  // namespace

LowRankResult truncated_svd(const TensorView& W, std::int64_t rank, const SvdOptions& options, const TensorView& left,
                            const TensorView& right, const TensorView& singular_values) {
  return run("truncated_svd", W, rank, Weights{}, options, IterativeOptions{}, left, right, singular_values);
}

LowRankResult weighted_svd(const TensorView& W, std::int64_t rank, const Weights& weights, const SvdOptions& options,
                           const TensorView& left, const TensorView& right, const TensorView& singular_values,
                           const IterativeOptions& iteration) {
  return run("weighted_svd", W, rank, weights, options, iteration, left, right, singular_values);
}

LowRankResult fwsvd(const TensorView& W, const TensorView& fisher, std::int64_t rank, int input_axis,
                    const SvdOptions& options, const TensorView& left, const TensorView& right,
                    const TensorView& singular_values) {
  const char* function = "fwsvd";
  check_problem(function, W, rank, left, right, singular_values);
  if (input_axis != 0 && input_axis != 1) {
    throw ValueError(std::string(function) + ": 'axis' must be 0 or 1, got " + std::to_string(input_axis));
  }
  const ArgRef arg{function, "fisher"};
  mlprims::detail::require_floating(fisher, arg);
  if (fisher.shape() != W.shape()) {
    throw ValueError(std::string(function) + ": 'fisher' must have W's shape " + shape_str(W.shape()) + ", got " +
                     shape_str(fisher.shape()));
  }
  const std::int64_t m = W.shape(0), n = W.shape(1), features = input_axis == 0 ? m : n;
  std::unique_ptr<detail::BackendMemory> memory = std::make_unique<detail::CpuDenseOps<float>>();
#if defined(MLPRIMS_WITH_CUDA)
  if (W.device().is_cuda()) memory = detail::make_cuda_dense_ops<float>(W.device().index, W.stream());
#endif
  std::vector<unsigned char> storage;
  const std::vector<double> values = as_doubles(host_view(fisher, W, *memory, storage, arg));
  require_nonnegative(values, n, arg);
  std::vector<double> sums(static_cast<std::size_t>(features), 0.0);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      sums[static_cast<std::size_t>(input_axis == 0 ? i : j)] += values[static_cast<std::size_t>(i * n + j)];
    }
  }
  for (double& value : sums) value = std::sqrt(value);
  if (std::all_of(sums.begin(), sums.end(), [](double value) { return value == 0.0; })) {
    throw ValueError(arg.prefix() + " must not be all zero (the objective would be 0 for any factors)");
  }
  Weights weights;
  (input_axis == 0 ? weights.row_weights : weights.col_weights) = TensorView(sums.data(), DType::kFloat64, {features});
  return run(function, W, rank, weights, options, IterativeOptions{}, left, right, singular_values);
}

namespace detail {

LowRankResult solve_with_device_algorithm(const char* function, const TensorView& W, std::int64_t rank,
                                          const Weights& weights, const SvdOptions& options,
                                          const IterativeOptions& iteration, const TensorView& left,
                                          const TensorView& right, const TensorView& singular_values) {
  return run(function, W, rank, weights, options, iteration, left, right, singular_values, /*host_backend=*/true);
}

}  // namespace detail

}  // namespace mlprims::lowrank
