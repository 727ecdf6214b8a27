#include "lowrank/elementwise_solve.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "linalg/dense.hpp"
#include "lowrank/argument_checks.hpp"
#include "lowrank/backend.hpp"
#include "lowrank/elementwise.hpp"
#include "lowrank/truncated_factors.hpp"
#include "lowrank/weighted_closed_form.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::lowrank::detail {
namespace {

template <class T>
std::vector<T> transposed(const T* a, std::int64_t rows, std::int64_t cols) {
  std::vector<T> t(static_cast<std::size_t>(rows * cols));
  linalg::transpose(rows, cols, a, t.data());
  return t;
}

// W and the weights in CPU memory.
template <class T>
LowRankResult solve_on_host(const char* function, const TensorView& W, std::int64_t rank, const TensorView& weights,
                            const SvdOptions& options, IterativeOptions iteration, const TensorView& left,
                            const TensorView& right, const TensorView& singular_values) {
  const std::int64_t m = W.shape(0), n = W.shape(1);
  const ArgRef arg{function, "weights"};
  mlprims::detail::require_floating(weights, arg);
  if (weights.shape() != W.shape()) {
    throw ValueError(arg.prefix() + " must have W's shape " + shape_str(W.shape()) + ", got " +
                     shape_str(weights.shape()));
  }
  const CpuDenseOps<double> host;
  std::vector<unsigned char> unused;
  host_view(weights, W, host, unused, arg);  // in CPU memory, contiguous
  if (iteration.max_iter == -1) iteration.max_iter = 200;
  if (iteration.tol == -1.0) iteration.tol = 1e-8;
  if (iteration.max_iter < 0) throw ValueError(std::string(function) + ": 'max_iter' must be >= 0");
  if (!(iteration.tol >= 0.0)) throw ValueError(std::string(function) + ": 'tol' must be >= 0");
  const std::vector<double> w = as_doubles(weights);
  require_nonnegative(w, n, arg);
  if (std::all_of(w.begin(), w.end(), [](double value) { return value == 0.0; })) {
    throw ValueError(arg.prefix() + " must not be all zero (the objective would be 0 for any factors)");
  }
  const std::vector<double> target = as_doubles(W);
  bool finite = true;
  host.frobenius_norm(n, m, target.data(), n, finite);
  if (!finite) throw ValueError(std::string(function) + ": 'W' must be finite, got NaN or inf");
  const ElementwiseProblem problem{m, n, rank, target.data(), w.data()};

  // The start: the closed form with the diagonal weights of the best rank-one root of w.
  auto [rows, cols] = rank_one_root(problem);
  Weights start;
  start.row_weights = TensorView(rows.data(), DType::kFloat64, {m});
  start.col_weights = TensorView(cols.data(), DType::kFloat64, {n});
  SvdOptions start_options = options;
  start_options.placement = Placement::kBalanced;
  std::vector<double> a(static_cast<std::size_t>(m * rank)), start_right(static_cast<std::size_t>(rank * n)),
      start_s(static_cast<std::size_t>(rank));
  const LowRankResult closed = solve_weighted<double>(
      host, cpu_truncated_factors<double>, function, TensorView(target.data(), DType::kFloat64, {m, n}), rank, start,
      start_options, TensorView(a.data(), DType::kFloat64, {m, rank}),
      TensorView(start_right.data(), DType::kFloat64, {rank, n}), TensorView(start_s.data(), DType::kFloat64, {rank}));
  std::vector<double> b = transposed(start_right.data(), rank, n);
  const AlsOutcome outcome = alternating_least_squares(problem, a, b, options, iteration);

  // The factors in canonical form (U S V^T), the singular values placed, rounded to T.
  const TruncatedFactors<double> canonical = canonical_factors(problem, a, b);
  T* left_out = static_cast<T*>(left.data());
  T* right_out = static_cast<T*>(right.data());
  T* s_out = static_cast<T*>(singular_values.data());
  for (std::int64_t k = 0; k < rank; ++k) {
    const SingularValueSplit split = split_singular_value(options.placement, canonical.s[k]);
    for (std::int64_t i = 0; i < m; ++i)
      left_out[i * rank + k] = static_cast<T>(canonical.u[i * rank + k] * split.left);
    for (std::int64_t j = 0; j < n; ++j) right_out[k * n + j] = static_cast<T>(canonical.vt[k * n + j] * split.right);
    s_out[k] = static_cast<T>(canonical.s[k]);
  }
  // The error of the factors as returned (rounded to T).
  const std::vector<double> final_left(left_out, left_out + m * rank), final_right(right_out, right_out + rank * n);
  std::vector<double> work;
  LowRankResult result;
  result.method = closed.method;
  result.iterations = outcome.iterations;
  result.converged = outcome.converged;
  result.error = std::sqrt(
      elementwise_objective(problem, final_left.data(), transposed(final_right.data(), rank, n).data(), work));
  return result;
}

LowRankResult solve_on_host_as_typed(const char* function, const TensorView& W, std::int64_t rank,
                                     const TensorView& weights, const SvdOptions& options,
                                     const IterativeOptions& iteration, const TensorView& left, const TensorView& right,
                                     const TensorView& singular_values) {
  return W.dtype() == DType::kFloat64
             ? solve_on_host<double>(function, W, rank, weights, options, iteration, left, right, singular_values)
             : solve_on_host<float>(function, W, rank, weights, options, iteration, left, right, singular_values);
}

}  // namespace

LowRankResult solve_elementwise(const char* function, const TensorView& W, std::int64_t rank, const TensorView& weights,
                                const SvdOptions& options, const IterativeOptions& iteration, const TensorView& left,
                                const TensorView& right, const TensorView& singular_values) {
#if defined(MLPRIMS_WITH_CUDA)
  if (W.device().is_cuda()) {
    const auto memory = make_cuda_dense_ops<float>(W.device().index, W.stream());
    std::vector<unsigned char> w_storage, weight_storage;
    const TensorView host_w = host_view(W, W, *memory, w_storage, {function, "W"});
    const TensorView host_weights = host_view(weights, W, *memory, weight_storage, {function, "weights"});
    const std::size_t item = dtype_size(W.dtype());
    std::vector<unsigned char> host_left(static_cast<std::size_t>(left.numel()) * item),
        host_right(static_cast<std::size_t>(right.numel()) * item),
        host_s(static_cast<std::size_t>(singular_values.numel()) * item);
    const LowRankResult result = solve_on_host_as_typed(function, host_w, rank, host_weights, options, iteration,
                                                        TensorView(host_left.data(), W.dtype(), left.shape()),
                                                        TensorView(host_right.data(), W.dtype(), right.shape()),
                                                        TensorView(host_s.data(), W.dtype(), singular_values.shape()));
    memory->upload(host_left.data(), left.data(), host_left.size());
    memory->upload(host_right.data(), right.data(), host_right.size());
    memory->upload(host_s.data(), singular_values.data(), host_s.size());
    return result;
  }
#endif
  return solve_on_host_as_typed(function, W, rank, weights, options, iteration, left, right, singular_values);
}

}  // namespace mlprims::lowrank::detail
