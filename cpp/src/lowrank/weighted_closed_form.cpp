#include "lowrank/weighted_closed_form.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/math/scaled_norm.hpp"
#include "linalg/lapack.hpp"
#include "lowrank/argument_checks.hpp"
#include "lowrank/svd_plan.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::lowrank::detail {
namespace {

// gram (rank x rank, column-major, lower triangle read) <- the Cholesky factor of gram plus a
// relative ridge of 1e-12, which keeps a rank-deficient fitting factor solvable.
void factor_fit_gram(std::int64_t rank, std::vector<double>& gram) {
  double trace = 0.0;
  for (std::int64_t a = 0; a < rank; ++a) trace += gram[a * rank + a];
  for (std::int64_t a = 0; a < rank; ++a) gram[a * rank + a] += 1e-12 * trace / rank + 1e-300;
  if (!linalg::cholesky(rank, gram.data(), rank)) throw Error("lowrank: zero-weight fit failed (internal error)");
}

// The reciprocals of weights as T, 0 for a zero weight.
template <class T>
std::vector<T> reciprocals(const std::vector<double>& weights) {
  std::vector<T> out(weights.size());
  for (std::size_t i = 0; i < weights.size(); ++i) out[i] = weights[i] > 0 ? static_cast<T>(1.0 / weights[i]) : T(0);
  return out;
}

template <class T>
std::vector<T> as_type(const std::vector<double>& values) {
  return std::vector<T>(values.begin(), values.end());
}

std::vector<std::int64_t> zero_indices(const std::vector<double>& weights) {
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] == 0.0) out.push_back(static_cast<std::int64_t>(i));
  }
  return out;
}

// factor (rows x rank) rows `indices` <- the rows of Z (F^T F)^{-1}, the least-squares
// coefficients on the columns of `fit` (fit_rows x rank) whose right-hand sides Z = target F were
// formed by the caller, with the CPU path's ridge. Small (rank x rank and rows x rank): solved on
// the host.
template <class T>
void fit_rows(const DenseOps<T>& ops, std::int64_t rows, std::int64_t rank, T* factor,
              const std::vector<std::int64_t>& indices, std::int64_t fit_rows_count, const T* fit, const T* z) {
  BackendArray<double> gram_device = ops.template allocate<double>(rank * rank);
  ops.gram(fit_rows_count, rank, fit, fit_rows_count, gram_device.data());
  std::vector<double> gram = ops.download_vector(gram_device.data(), rank * rank);
  factor_fit_gram(rank, gram);
  const std::vector<T> rhs_all = ops.download_vector(z, rows * rank);
  const auto count = static_cast<std::int64_t>(indices.size());
  std::vector<double> rhs(static_cast<std::size_t>(rank * count));
  for (std::int64_t k = 0; k < count; ++k) {
    for (std::int64_t a = 0; a < rank; ++a) rhs[k * rank + a] = rhs_all[indices[k] + a * rows];
  }
  linalg::cholesky_solve(rank, count, gram.data(), rank, rhs.data(), rank);
  std::vector<T> host = ops.download_vector(factor, rows * rank);
  for (std::int64_t k = 0; k < count; ++k) {
    for (std::int64_t a = 0; a < rank; ++a) host[indices[k] + a * rows] = static_cast<T>(rhs[k * rank + a]);
  }
  ops.upload(host.data(), factor, host.size() * sizeof(T));
}

// `factor` (rows x rank) times diag(s).
template <class T>
BackendArray<T> scaled_by(const DenseOps<T>& ops, const BackendArray<T>& factor, std::int64_t rows,
                          const std::vector<T>& s) {
  BackendArray<T> out = ops.duplicate(factor.data(), factor.count());
  const BackendArray<T> s_device = ops.upload_vector(s);
  ops.scale(rows, static_cast<std::int64_t>(s.size()), out.data(), rows, nullptr, s_device.data());
  return out;
}

// Writes left (m x rank), right (rank x n) and singular_values (rank) (row-major, back end memory)
// per options.placement; returns the weighted error and sets `method` to the SVD used.
template <class T>
double weighted_factors(const DenseOps<T>& ops, TruncatedSvd<T> svd, const WeightedProblem<T>& problem,
                        std::int64_t rank, const SvdOptions& options, T* left, T* right, T* singular_values,
                        SvdMethod& method) {
  const std::int64_t m = problem.m, n = problem.n;
  // A_w = (L^T W R)^T = R^T A L, A = W^T (n x m).
  const T* a = problem.w;
  BackendArray<T> weighted;
  if (!problem.row_weights.empty() || !problem.col_weights.empty()) {
    weighted = ops.duplicate(problem.w, m * n);
    const BackendArray<T> row_scale = ops.upload_vector(as_type<T>(problem.col_weights));
    const BackendArray<T> col_scale = ops.upload_vector(as_type<T>(problem.row_weights));
    ops.scale(n, m, weighted.data(), n, row_scale.count() > 0 ? row_scale.data() : nullptr,
              col_scale.count() > 0 ? col_scale.data() : nullptr);
    a = weighted.data();
  }
  if (!problem.right_root.empty()) {
    BackendArray<T> product = ops.template allocate<T>(m * n);
    ops.gemm(true, false, n, m, n, T(1), problem.right_root.data(), n, a, n, T(0), product.data(), n);
    weighted = std::move(product);
    a = weighted.data();
  }
  if (!problem.left_root.empty()) {
    BackendArray<T> product = ops.template allocate<T>(m * n);
    ops.gemm(false, false, n, m, m, T(1), a, n, problem.left_root.data(), m, T(0), product.data(), n);
    weighted = std::move(product);
    a = weighted.data();
  }

  BackendFactors<T> f = svd(ops, n, m, a, rank, options);
  method = f.method;

  // ||A_w - U S V^T|| from sqrt(||A_w||^2 - sum s^2) where that keeps its accuracy, else the residual.
  // Both squares are taken for A_w / ||A_w|| (up to a power of two): right at any finite scale.
  bool finite = true;
  const double norm = a == problem.w ? problem.w_norm : ops.frobenius_norm(n, m, a, n, finite);
  const double scale = mlprims::detail::normalizing_power_of_two(norm);
  double error = error_from_kept_energy((scale * norm) * (scale * norm), f.s, scale);
  if (error < 0.0) {
    BackendArray<T> residual = ops.duplicate(a, m * n);
    const BackendArray<T> us = scaled_by(ops, f.u, n, f.s);
    ops.gemm(false, true, n, m, rank, T(-1), us.data(), n, f.v.data(), m, T(1), residual.data(), n);
    error = ops.frobenius_norm(n, m, residual.data(), n, finite);
  }
  weighted = BackendArray<T>();

  // W's left factor is v (m x rank), the transpose of its right factor is u (n x rank):
  // left = L^{-T} U, right^T = R^{-T} V.
  if (!problem.row_weights.empty()) {
    const BackendArray<T> inverse = ops.upload_vector(reciprocals<T>(problem.row_weights));
    ops.scale(m, rank, f.v.data(), m, inverse.data(), nullptr);
  }
  if (!problem.col_weights.empty()) {
    const BackendArray<T> inverse = ops.upload_vector(reciprocals<T>(problem.col_weights));
    ops.scale(n, rank, f.u.data(), n, inverse.data(), nullptr);
  }
  if (!problem.left_root.empty()) ops.solve_lower(true, m, rank, problem.left_root.data(), m, f.v.data(), m);
  if (!problem.right_root.empty()) ops.solve_lower(true, n, rank, problem.right_root.data(), n, f.u.data(), n);
  // Zero-weight columns of W, then rows: fitted to W by the other factor (S folded in), as on the CPU.
  const std::vector<std::int64_t> zero_cols = zero_indices(problem.col_weights);
  if (!zero_cols.empty()) {
    const BackendArray<T> fit = scaled_by(ops, f.v, m, f.s);  // W's columns ~ (U S) x
    BackendArray<T> z = ops.template allocate<T>(n * rank);
    ops.gemm(false, false, n, rank, m, T(1), problem.w, n, fit.data(), m, T(0), z.data(), n);
    fit_rows(ops, n, rank, f.u.data(), zero_cols, m, fit.data(), z.data());
  }
  const std::vector<std::int64_t> zero_rows = zero_indices(problem.row_weights);
  if (!zero_rows.empty()) {
    const BackendArray<T> fit = scaled_by(ops, f.u, n, f.s);  // W's rows ~ y^T (S V^T)
    BackendArray<T> z = ops.template allocate<T>(m * rank);
    ops.gemm(true, false, m, rank, n, T(1), problem.w, n, fit.data(), n, T(0), z.data(), m);
    fit_rows(ops, m, rank, f.v.data(), zero_rows, n, fit.data(), z.data());
  }

  // left (row-major m x rank = column-major rank x m) = (v S^a)^T, right (column-major n x rank) = u S^b.
  std::vector<T> on_left(f.s.size()), on_right(f.s.size());
  for (std::size_t i = 0; i < f.s.size(); ++i) {
    const SingularValueSplit split = split_singular_value(options.placement, f.s[i]);
    on_left[i] = static_cast<T>(split.left);
    on_right[i] = static_cast<T>(split.right);
  }
  ops.transpose(m, rank, f.v.data(), m, left, rank);
  const BackendArray<T> left_scale = ops.upload_vector(on_left), right_scale = ops.upload_vector(on_right);
  ops.scale(rank, m, left, rank, left_scale.data(), nullptr);
  ops.copy(f.u.data(), right, static_cast<std::size_t>(n * rank) * sizeof(T));
  ops.scale(n, rank, right, n, nullptr, right_scale.data());
  ops.upload(f.s.data(), singular_values, f.s.size() * sizeof(T));
  return error;
}

}  // namespace

template <class T>
LowRankResult solve_weighted(const DenseOps<T>& ops, TruncatedSvd<T> svd, const char* function, const TensorView& W,
                             std::int64_t rank, const Weights& weights, const SvdOptions& options,
                             const TensorView& left, const TensorView& right, const TensorView& singular_values) {
  WeightedProblem<T> problem;
  problem.m = W.shape(0);
  problem.n = W.shape(1);
  problem.w = static_cast<const T*>(W.data());
  bool finite = true;
  problem.w_norm = ops.frobenius_norm(problem.n, problem.m, problem.w, problem.n, finite);
  if (!finite) throw ValueError(std::string(function) + ": 'W' must be finite, got NaN or inf");
  if (present(weights.row_weights)) {
    problem.row_weights = diagonal_weights(weights.row_weights, problem.m, W, ops, {function, "row_weights"});
  }
  if (present(weights.col_weights)) {
    problem.col_weights = diagonal_weights(weights.col_weights, problem.n, W, ops, {function, "col_weights"});
  }
  LowRankResult result;
  const auto root_on_backend = [&](const TensorView& gram, std::int64_t size, const char* name, double& shift) {
    const ArgRef arg{function, name};
    const auto [g, largest] = checked_gram(gram, size, W, ops, arg);
    BackendArray<double> root;
    shift = cholesky_with_shift(g, size, largest, arg, [&](std::vector<double>& a) {
      root = ops.upload_vector(a);
      return ops.cholesky(size, root.data());
    });
    BackendArray<T> typed = ops.template allocate<T>(size * size);
    ops.narrow(size * size, root.data(), typed.data());
    return typed;
  };
  if (present(weights.left_gram)) {
    problem.left_root = root_on_backend(weights.left_gram, problem.m, "left_gram", result.left_shift);
  }
  if (present(weights.right_gram)) {
    problem.right_root = root_on_backend(weights.right_gram, problem.n, "right_gram", result.right_shift);
  }
  result.error =
      weighted_factors(ops, svd, problem, rank, options, static_cast<T*>(left.data()), static_cast<T*>(right.data()),
                       static_cast<T*>(singular_values.data()), result.method);
  return result;
}

#define MLPRIMS_INSTANTIATE(T)                                                                                  \
  template LowRankResult solve_weighted<T>(const DenseOps<T>&, TruncatedSvd<T>, const char*, const TensorView&, \
                                           std::int64_t, const Weights&, const SvdOptions&, const TensorView&,  \
                                           const TensorView&, const TensorView&);
MLPRIMS_INSTANTIATE(float)
MLPRIMS_INSTANTIATE(double)
#undef MLPRIMS_INSTANTIATE

}  // namespace mlprims::lowrank::detail
