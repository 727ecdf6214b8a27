// Entry points of mlprims/lowrank.hpp: argument checks, the weighted closed form around
// truncated_factors, and where the singular values go.
#include "mlprims/lowrank.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/checks.hpp"
#include "linalg/blas.hpp"
#include "linalg/dense.hpp"
#include "linalg/lapack.hpp"
#include "lowrank/cuda_dense_ops.hpp"
#include "lowrank/device_factors.hpp"
#include "lowrank/elementwise.hpp"
#include "lowrank/host_dense_ops.hpp"
#include "lowrank/truncated_factors.hpp"
#include "lowrank/zero_weight_fit.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::lowrank {
namespace {

using mlprims::detail::ArgRef;
using mlprims::detail::format_double;

bool present(const TensorView& t) { return t.data() != nullptr; }

void require_contiguous(const TensorView& t, ArgRef arg) {
  if (!t.is_contiguous()) throw ValueError(arg.prefix() + " must be C-contiguous");
}

// A weight tensor's values readable on the host: the tensor itself when it is in CPU memory, else
// a copy downloaded into `storage` (W on a CUDA device: weights may be there or on the CPU).
TensorView host_view(const TensorView& t, const TensorView& W, const lowrank::detail::BackendMemory* device_memory,
                     std::vector<unsigned char>& storage, ArgRef arg) {
  require_contiguous(t, arg);
  if (t.device().is_cpu()) return t;
  if (device_memory == nullptr || t.device() != W.device()) {
    throw ValueError(arg.prefix() + " must be in CPU memory" +
                     (W.device().is_cpu() ? std::string(" like W") : " or on W's device " + W.device().str()) +
                     ", got " + t.device().str());
  }
  storage.resize(static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()));
  device_memory->download(t.data(), storage.data(), storage.size());
  return TensorView(storage.data(), t.dtype(), t.shape());
}

// Checks W and the outputs; returns (m, n).
std::pair<std::int64_t, std::int64_t> check_problem(const char* function, const TensorView& W, std::int64_t rank,
                                                    const TensorView& left, const TensorView& right,
                                                    const TensorView& singular_values) {
  const ArgRef w_arg{function, "W"};
  mlprims::detail::require_floating(W, w_arg);
  mlprims::detail::require_ndim(W, 2, w_arg);
  mlprims::detail::require_cuda_build(W, w_arg);
  require_contiguous(W, w_arg);
  const std::int64_t m = W.shape(0), n = W.shape(1);
  if (m < 1 || n < 1) throw ValueError(w_arg.prefix() + " must not be empty, got shape " + shape_str(W.shape()));
  if (rank < 1 || rank > std::min(m, n)) {
    throw ValueError(std::string(function) + ": 'rank' must be in [1, min(m, n)] = [1, " +
                     std::to_string(std::min(m, n)) + "] for W of shape " + shape_str(W.shape()) + ", got " +
                     std::to_string(rank));
  }
  const std::pair<const TensorView*, Shape> outputs[] = {
      {&left, {m, rank}}, {&right, {rank, n}}, {&singular_values, {rank}}};
  const char* names[] = {"left", "right", "singular_values"};
  for (int i = 0; i < 3; ++i) {
    const ArgRef arg{function, names[i]};
    mlprims::detail::require_dtype(*outputs[i].first, W.dtype(), arg);
    mlprims::detail::require_shape(*outputs[i].first, outputs[i].second, arg);
    mlprims::detail::require_same_device(*outputs[i].first, W.device(), arg);
    require_contiguous(*outputs[i].first, arg);
    mlprims::detail::require_writable(*outputs[i].first, arg);
  }
  return {m, n};
}

// W's elements (read in place: W is C-contiguous of dtype T), checked finite, and the sum of their
// squares (in double; inf when it overflows), from the same read.
template <class T>
struct FiniteMatrix {
  const T* data;
  double squared_norm;
};

template <class T>
FiniteMatrix<T> finite_matrix(const TensorView& W, const char* function) {
  const T* data = static_cast<const T*>(W.data());
  const std::int64_t count = W.shape(0) * W.shape(1);
  T probe = 0;  // x * 0 is 0 for finite x and NaN for inf or NaN; a sum vectorizes, a branch does not
  double squares = 0.0;
#pragma omp simd reduction(+ : probe, squares)
  for (std::int64_t e = 0; e < count; ++e) {
    probe += data[e] * T(0);
    squares += static_cast<double>(data[e]) * static_cast<double>(data[e]);
  }
  if (!(probe == T(0))) throw ValueError(std::string(function) + ": 'W' must be finite, got NaN or inf");
  return {data, squares};
}

// All elements of a C-contiguous float32/float64 view, as doubles.
std::vector<double> as_doubles(const TensorView& t) {
  std::int64_t count = 1;
  for (std::int64_t extent : t.shape()) count *= extent;
  if (t.dtype() == DType::kFloat64) {
    const auto* data = static_cast<const double*>(t.data());
    return std::vector<double>(data, data + count);
  }
  const auto* data = static_cast<const float*>(t.data());
  return std::vector<double>(data, data + count);
}

// ValueError naming the first element that is negative, NaN or inf; its position is printed as
// "index i" for vectors (columns == 0) and "(i, j)" for row-major matrices with `columns` columns.
void require_nonnegative(const std::vector<double>& values, std::int64_t columns, ArgRef arg) {
  for (std::size_t e = 0; e < values.size(); ++e) {
    if (values[e] >= 0.0 && std::isfinite(values[e])) continue;
    const auto index = static_cast<std::int64_t>(e);
    const std::string where = columns == 0 ? "index " + std::to_string(index)
                                           : "(" + std::to_string(index / columns) + ", " +
                                                 std::to_string(index % columns) + ")";
    throw ValueError(arg.prefix() + " must be finite and >= 0, got " + format_double(values[e]) + " at " + where);
  }
}

// Weights of one kind as doubles, checked: shape, finite, >= 0, not all zero (all-zero weights make
// the objective 0 for any factors: no answer to report).
std::vector<double> diagonal_weights(const TensorView& t, std::int64_t length, const TensorView& W,
                                     const lowrank::detail::BackendMemory* device_memory, ArgRef arg) {
  mlprims::detail::require_floating(t, arg);
  mlprims::detail::require_shape(t, {length}, arg);
  std::vector<unsigned char> storage;
  std::vector<double> out = as_doubles(host_view(t, W, device_memory, storage, arg));
  require_nonnegative(out, 0, arg);
  if (std::all_of(out.begin(), out.end(), [](double value) { return value == 0.0; })) {
    throw ValueError(arg.prefix() + " must not be all zero (the objective would be 0 for any factors)");
  }
  return out;
}

// A Gram matrix's values as doubles, checked: shape, finite, symmetric, not zero; and max |G|.
std::pair<std::vector<double>, double> checked_gram(const TensorView& t, std::int64_t size, const TensorView& W,
                                                    const lowrank::detail::BackendMemory* device_memory,
                                                    ArgRef arg) {
  mlprims::detail::require_floating(t, arg);
  mlprims::detail::require_shape(t, {size, size}, arg);
  std::vector<unsigned char> storage;
  std::vector<double> g = as_doubles(host_view(t, W, device_memory, storage, arg));
  for (double value : g) {
    if (!std::isfinite(value)) throw ValueError(arg.prefix() + " must be finite, got NaN or inf");
  }
  double largest = 0.0, asymmetry = 0.0;
  for (std::int64_t i = 0; i < size; ++i) {
    for (std::int64_t j = 0; j < size; ++j) {
      largest = std::max(largest, std::fabs(g[i * size + j]));
      asymmetry = std::max(asymmetry, std::fabs(g[i * size + j] - g[j * size + i]));
    }
  }
  const double tolerance = (t.dtype() == DType::kFloat64 ? 1e-12 : 1e-5) * largest;
  if (asymmetry > tolerance) {
    throw ValueError(arg.prefix() + " must be symmetric, got max |G - G^T| = " + format_double(asymmetry) +
                     " against max |G| = " + format_double(largest));
  }
  if (largest == 0.0) throw ValueError(arg.prefix() + " must not be zero");
  return {std::move(g), largest};
}

// The smallest documented shift that lets `factorize` (a Cholesky factorization in place of its
// column-major argument, lower triangle; the strictly upper part is zeroed beforehand) succeed on
// the checked Gram matrix g; returns the shift.
template <class Factorize>
double cholesky_with_shift(const std::vector<double>& g, std::int64_t size, double largest, ArgRef arg,
                           Factorize&& factorize) {
  for (double shift = 0.0;; shift = shift == 0.0 ? 1e-12 * largest : 10.0 * shift) {
    std::vector<double> shifted(g);
    for (std::int64_t j = 0; j < size; ++j) {
      shifted[j * size + j] += shift;
      for (std::int64_t i = 0; i < j; ++i) shifted[j * size + i] = 0.0;
    }
    if (factorize(shifted)) return shift;
    // Rounding needs shifts of ~eps n ||G||; a matrix that needs more than 1e-6 ||G|| is indefinite.
    if (shift >= 1e-6 * largest) {
      throw ValueError(arg.prefix() + " must be positive semi-definite (Cholesky failed even with a shift of " +
                       format_double(shift, 3) + " = 1e-6 max|G|)");
    }
  }
}

// Lower Cholesky root (column-major, upper triangle zeroed) of a CPU Gram matrix, and its shift.
std::pair<std::vector<double>, double> gram_root(const TensorView& t, std::int64_t size, const TensorView& W,
                                                 ArgRef arg) {
  const auto [g, largest] = checked_gram(t, size, W, nullptr, arg);
  std::vector<double> root;
  const double shift = cholesky_with_shift(g, size, largest, arg, [&](std::vector<double>& a) {
    if (!linalg::cholesky(size, a.data(), size)) return false;
    root = std::move(a);
    return true;
  });
  return {std::move(root), shift};
}

// Rows of `factor` (rows x rank, row-major) for the indices where `weights` is 0: the
// least-squares fit of those rows of `target` (rows x cols) by the rows of `other` (rank x cols):
// x = t other^T (other other^T)^{-1}, with a relative ridge of 1e-12 if other is rank-deficient.
template <class T>
void fit_unweighted_rows(const std::vector<double>& weights, const T* target, std::int64_t cols,
                         const std::vector<T>& other, std::int64_t rank, std::vector<T>& factor) {
  std::vector<std::int64_t> zero;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] == 0.0) zero.push_back(static_cast<std::int64_t>(i));
  }
  if (zero.empty()) return;
  std::vector<double> gram(static_cast<std::size_t>(rank * rank), 0.0);
  for (std::int64_t a = 0; a < rank; ++a) {
    for (std::int64_t b = 0; b < rank; ++b) {
      double sum = 0.0;
      for (std::int64_t j = 0; j < cols; ++j) sum += double(other[a * cols + j]) * double(other[b * cols + j]);
      gram[a * rank + b] = sum;
    }
  }
  detail::factor_fit_gram(rank, gram);
  std::vector<double> rhs(static_cast<std::size_t>(rank * zero.size()));
  for (std::size_t z = 0; z < zero.size(); ++z) {
    for (std::int64_t a = 0; a < rank; ++a) {
      double sum = 0.0;
      for (std::int64_t j = 0; j < cols; ++j) sum += double(target[zero[z] * cols + j]) * double(other[a * cols + j]);
      rhs[z * rank + a] = sum;
    }
  }
  linalg::cholesky_solve(rank, static_cast<std::int64_t>(zero.size()), gram.data(), rank, rhs.data(), rank);
  for (std::size_t z = 0; z < zero.size(); ++z) {
    for (std::int64_t a = 0; a < rank; ++a) factor[zero[z] * rank + a] = static_cast<T>(rhs[z * rank + a]);
  }
}

template <class T>
std::vector<T> transposed(const T* a, std::int64_t rows, std::int64_t cols) {
  std::vector<T> t(static_cast<std::size_t>(rows * cols));
  linalg::transpose(rows, cols, a, t.data());
  return t;
}

// left = u S^a, right = S^b vt per the placement, written to the outputs.
template <class T>
void write_factors(const detail::TruncatedFactors<T>& f, std::vector<T> u, std::vector<T> vt, Placement placement,
                   const TensorView& left, const TensorView& right, const TensorView& singular_values) {
  const auto rank = static_cast<std::int64_t>(f.s.size());
  const std::int64_t m = static_cast<std::int64_t>(u.size()) / rank, n = static_cast<std::int64_t>(vt.size()) / rank;
  for (std::int64_t a = 0; a < rank; ++a) {
    const double s = f.s[a];
    const double on_left = placement == Placement::kLeft ? s : placement == Placement::kBalanced ? std::sqrt(s) : 1.0;
    const double on_right = placement == Placement::kRight ? s : placement == Placement::kBalanced ? std::sqrt(s) : 1.0;
    for (std::int64_t i = 0; i < m; ++i) u[i * rank + a] = static_cast<T>(u[i * rank + a] * on_left);
    for (std::int64_t j = 0; j < n; ++j) vt[a * n + j] = static_cast<T>(vt[a * n + j] * on_right);
  }
  std::copy(u.begin(), u.end(), static_cast<T*>(left.data()));
  std::copy(vt.begin(), vt.end(), static_cast<T*>(right.data()));
  std::copy(f.s.begin(), f.s.end(), static_cast<T*>(singular_values.data()));
}

template <class T>
WeightedResult weighted_typed(const char* function, const TensorView& W, std::int64_t rank, const Weights& weights,
                              const SvdOptions& options, const TensorView& left, const TensorView& right,
                              const TensorView& singular_values) {
  const std::int64_t m = W.shape(0), n = W.shape(1);
  const auto [w, w_squared_norm] = finite_matrix<T>(W, function);
  const std::size_t size = static_cast<std::size_t>(m * n);
  std::vector<double> rows(static_cast<std::size_t>(m), 1.0), cols(static_cast<std::size_t>(n), 1.0);
  if (present(weights.row_weights)) {
    rows = diagonal_weights(weights.row_weights, m, W, nullptr, {function, "row_weights"});
  }
  if (present(weights.col_weights)) {
    cols = diagonal_weights(weights.col_weights, n, W, nullptr, {function, "col_weights"});
  }
  WeightedResult result{SvdMethod::kExact, 0.0, 0.0, 0.0};
  std::vector<T> left_root, right_root;  // column-major lower Cholesky roots
  if (present(weights.left_gram)) {
    auto [root, shift] = gram_root(weights.left_gram, m, W, {function, "left_gram"});
    left_root.assign(root.begin(), root.end());
    result.left_shift = shift;
  }
  if (present(weights.right_gram)) {
    auto [root, shift] = gram_root(weights.right_gram, n, W, {function, "right_gram"});
    right_root.assign(root.begin(), root.end());
    result.right_shift = shift;
  }

  // M = L^T W R. The column-major root array read row-major is L^T (resp. R^T). Without weights
  // M is W itself (no copy).
  std::vector<T> scaled;
  const T* M = w;
  if (present(weights.row_weights) || present(weights.col_weights)) {
    scaled.resize(size);
    for (std::int64_t i = 0; i < m; ++i) {
      for (std::int64_t j = 0; j < n; ++j) scaled[i * n + j] = static_cast<T>(w[i * n + j] * rows[i] * cols[j]);
    }
    M = scaled.data();
  }
  if (!left_root.empty()) {
    std::vector<T> product(size);
    linalg::gemm<T>(false, false, m, n, m, T(1), left_root.data(), m, M, n, T(0), product.data(), n);
    scaled.swap(product);
    M = scaled.data();
  }
  if (!right_root.empty()) {
    std::vector<T> product(size);
    linalg::gemm<T>(false, true, m, n, n, T(1), M, n, right_root.data(), n, T(0), product.data(), n);
    scaled.swap(product);
    M = scaled.data();
  }

  const detail::TruncatedFactors<T> f = detail::truncated_factors(m, n, M, rank, options);
  result.method = f.method;
  // ||M||^2 is known from the finiteness check when M is W itself.
  result.weighted_error = detail::truncation_error(m, n, M, f, M == w ? w_squared_norm : -1.0);

  // Unweight: A = L^{-T} U (rows divided by their weight), B = V^T R^{-1}; singular values are
  // applied after the zero-weight fits, which need the full factors.
  std::vector<T> u(f.u), vt(f.vt);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t a = 0; a < rank; ++a) u[i * rank + a] = rows[i] > 0 ? static_cast<T>(u[i * rank + a] / rows[i]) : T(0);
  }
  for (std::int64_t a = 0; a < rank; ++a) {
    for (std::int64_t j = 0; j < n; ++j) vt[a * n + j] = cols[j] > 0 ? static_cast<T>(vt[a * n + j] / cols[j]) : T(0);
  }
  if (!left_root.empty()) linalg::solve_lower_transposed_left(m, rank, left_root.data(), u.data());
  if (!right_root.empty()) linalg::solve_lower_right(n, rank, right_root.data(), vt.data());
  // Zero-weight columns, then rows: the least-squares fit of W by the other factor (S folded in).
  // The column fit sees the zero-weight rows of U as 0 (they are not set yet), so it uses the
  // weighted rows only; the row fit then uses the final right factor.
  if (std::find(cols.begin(), cols.end(), 0.0) != cols.end()) {
    std::vector<T> us(u);
    for (std::int64_t i = 0; i < m; ++i) {
      for (std::int64_t a = 0; a < rank; ++a) us[i * rank + a] = static_cast<T>(us[i * rank + a] * f.s[a]);
    }
    // Columns of W (rows of W^T) fitted by the columns of U S (rows of (U S)^T).
    std::vector<T> fitted(static_cast<std::size_t>(n * rank));
    fit_unweighted_rows(cols, transposed(w, m, n).data(), m, transposed(us.data(), m, rank), rank, fitted);
    for (std::int64_t j = 0; j < n; ++j) {
      if (cols[j] != 0.0) continue;
      for (std::int64_t a = 0; a < rank; ++a) vt[a * n + j] = fitted[j * rank + a];
    }
  }
  if (std::find(rows.begin(), rows.end(), 0.0) != rows.end()) {
    std::vector<T> s_vt(vt);
    for (std::int64_t a = 0; a < rank; ++a) {
      for (std::int64_t j = 0; j < n; ++j) s_vt[a * n + j] = static_cast<T>(s_vt[a * n + j] * f.s[a]);
    }
    std::vector<T> fitted(u.size());  // coefficients on the rows of S V^T: rows of U
    fit_unweighted_rows(rows, w, n, s_vt, rank, fitted);
    for (std::int64_t i = 0; i < m; ++i) {
      if (rows[i] != 0.0) continue;
      for (std::int64_t a = 0; a < rank; ++a) u[i * rank + a] = fitted[i * rank + a];
    }
  }
  write_factors(f, std::move(u), std::move(vt), options.placement, left, right, singular_values);
  return result;
}

// Element-wise weights: ALS (in float64) from the closed form with row and column weights whose
// outer product best approximates sqrt(w).
template <class T>
WeightedResult elementwise_typed(const char* function, const TensorView& W, std::int64_t rank,
                                 const TensorView& weights, const SvdOptions& options, const TensorView& left,
                                 const TensorView& right, const TensorView& singular_values) {
  const std::int64_t m = W.shape(0), n = W.shape(1);
  const ArgRef arg{function, "weights"};
  mlprims::detail::require_floating(weights, arg);
  if (weights.shape() != W.shape()) {
    throw ValueError(arg.prefix() + " must have W's shape " + shape_str(W.shape()) + ", got " +
                     shape_str(weights.shape()));
  }
  std::vector<unsigned char> unused;
  host_view(weights, W, nullptr, unused, arg);  // in CPU memory, contiguous
  if (options.max_iter < 0) throw ValueError(std::string(function) + ": 'max_iter' must be >= 0");
  if (!(options.tol >= 0.0)) throw ValueError(std::string(function) + ": 'tol' must be >= 0");
  const std::vector<double> w = as_doubles(weights);
  require_nonnegative(w, n, arg);
  if (std::all_of(w.begin(), w.end(), [](double value) { return value == 0.0; })) {
    throw ValueError(arg.prefix() + " must not be all zero (the objective would be 0 for any factors)");
  }
  const T* target_typed = finite_matrix<T>(W, function).data;
  const std::vector<double> target(target_typed, target_typed + m * n);
  const detail::ElementwiseProblem problem{m, n, rank, target.data(), w.data()};

  auto [rows, cols] = detail::rank_one_root(problem);
  Weights start;
  start.row_weights = TensorView(rows.data(), DType::kFloat64, {m});
  start.col_weights = TensorView(cols.data(), DType::kFloat64, {n});
  SvdOptions start_options = options;
  start_options.placement = Placement::kBalanced;
  std::vector<double> a(static_cast<std::size_t>(m * rank)), start_right(static_cast<std::size_t>(rank * n)),
      start_s(static_cast<std::size_t>(rank));
  const WeightedResult closed = weighted_typed<double>(
      function, TensorView(target.data(), DType::kFloat64, {m, n}), rank, start, start_options,
      TensorView(a.data(), DType::kFloat64, {m, rank}), TensorView(start_right.data(), DType::kFloat64, {rank, n}),
      TensorView(start_s.data(), DType::kFloat64, {rank}));
  std::vector<double> b = transposed(start_right.data(), rank, n);
  const detail::AlsOutcome outcome = detail::alternating_least_squares(problem, a, b, options);

  const detail::TruncatedFactors<double> canonical = detail::canonical_factors(problem, a, b);
  detail::TruncatedFactors<T> f;
  f.s.assign(canonical.s.begin(), canonical.s.end());
  write_factors(f, std::vector<T>(canonical.u.begin(), canonical.u.end()),
                std::vector<T>(canonical.vt.begin(), canonical.vt.end()), options.placement, left, right,
                singular_values);
  // The error of the factors as returned (rounded to T).
  const T* left_data = static_cast<const T*>(left.data());
  const T* right_data = static_cast<const T*>(right.data());
  const std::vector<double> final_left(left_data, left_data + m * rank), final_right(right_data, right_data + rank * n);
  std::vector<double> work;
  WeightedResult result{closed.method, 0.0, 0.0, 0.0, outcome.iterations, outcome.converged};
  result.weighted_error =
      std::sqrt(detail::elementwise_objective(problem, final_left.data(), transposed(final_right.data(), rank, n).data(), work));
  return result;
}

// The closed forms on a DenseOps back end whose memory holds W and the outputs; weights may also
// be in CPU memory. `device_memory` downloads weights from W's device (nullptr: W is in CPU memory,
// as with the host back end of the tests).
template <class T>
WeightedResult weighted_on_backend(const detail::DenseOps<T>& ops, const detail::BackendMemory* device_memory,
                                   const char* function, const TensorView& W, std::int64_t rank,
                                   const Weights& weights, const SvdOptions& options, const TensorView& left,
                                   const TensorView& right, const TensorView& singular_values) {
  detail::DeviceProblem<T> problem;
  problem.m = W.shape(0);
  problem.n = W.shape(1);
  problem.w = static_cast<const T*>(W.data());
  bool finite = true;
  problem.w_norm = ops.frobenius_norm(problem.n, problem.m, problem.w, problem.n, finite);
  if (!finite) throw ValueError(std::string(function) + ": 'W' must be finite, got NaN or inf");
  if (present(weights.row_weights)) {
    problem.row_weights = diagonal_weights(weights.row_weights, problem.m, W, device_memory, {function, "row_weights"});
  }
  if (present(weights.col_weights)) {
    problem.col_weights = diagonal_weights(weights.col_weights, problem.n, W, device_memory, {function, "col_weights"});
  }
  WeightedResult result{SvdMethod::kExact, 0.0, 0.0, 0.0};
  const auto root_on_backend = [&](const TensorView& gram, std::int64_t size, const char* name, double& shift) {
    const ArgRef arg{function, name};
    const auto [g, largest] = checked_gram(gram, size, W, device_memory, arg);
    detail::BackendArray<double> root;
    shift = cholesky_with_shift(g, size, largest, arg, [&](std::vector<double>& a) {
      root = ops.upload_vector(a);
      return ops.cholesky(size, root.data());
    });
    detail::BackendArray<T> typed = ops.template allocate<T>(size * size);
    ops.narrow(size * size, root.data(), typed.data());
    return typed;
  };
  if (present(weights.left_gram)) {
    problem.left_root = root_on_backend(weights.left_gram, problem.m, "left_gram", result.left_shift);
  }
  if (present(weights.right_gram)) {
    problem.right_root = root_on_backend(weights.right_gram, problem.n, "right_gram", result.right_shift);
  }
  result.weighted_error = detail::device_weighted_factors(
      ops, problem, rank, options, static_cast<T*>(left.data()), static_cast<T*>(right.data()),
      static_cast<T*>(singular_values.data()), result.method);
  return result;
}

#if defined(MLPRIMS_WITH_CUDA)
// Element-wise weights for W on a CUDA device: the alternating least squares (per-row r x r solves
// between GEMMs) run on the host; W and the weights are downloaded and the factors uploaded.
WeightedResult elementwise_through_host(const char* function, const TensorView& W, std::int64_t rank,
                                        const TensorView& weights, const SvdOptions& options, const TensorView& left,
                                        const TensorView& right, const TensorView& singular_values) {
  const auto memory = detail::make_cuda_dense_ops<float>(W.device().index, W.stream());
  std::vector<unsigned char> w_storage, weight_storage;
  const TensorView host_w = host_view(W, W, memory.get(), w_storage, {function, "W"});
  const TensorView host_weights = host_view(weights, W, memory.get(), weight_storage, {function, "weights"});
  const std::size_t item = dtype_size(W.dtype());
  std::vector<unsigned char> host_left(static_cast<std::size_t>(left.numel()) * item),
      host_right(static_cast<std::size_t>(right.numel()) * item),
      host_s(static_cast<std::size_t>(singular_values.numel()) * item);
  const TensorView left_view(host_left.data(), W.dtype(), left.shape()),
      right_view(host_right.data(), W.dtype(), right.shape()),
      s_view(host_s.data(), W.dtype(), singular_values.shape());
  const WeightedResult result =
      W.dtype() == DType::kFloat64
          ? elementwise_typed<double>(function, host_w, rank, host_weights, options, left_view, right_view, s_view)
          : elementwise_typed<float>(function, host_w, rank, host_weights, options, left_view, right_view, s_view);
  memory->upload(host_left.data(), left.data(), host_left.size());
  memory->upload(host_right.data(), right.data(), host_right.size());
  memory->upload(host_s.data(), singular_values.data(), host_s.size());
  return result;
}
#endif

// `host_backend`: CPU tensors through the device algorithm (tests).
WeightedResult run(const char* function, const TensorView& W, std::int64_t rank, const Weights& weights,
                   const SvdOptions& options, const TensorView& left, const TensorView& right,
                   const TensorView& singular_values, bool host_backend = false) {
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
#if defined(MLPRIMS_WITH_CUDA)
    if (W.device().is_cuda()) {
      return elementwise_through_host(function, W, rank, weights.elementwise, options, left, right, singular_values);
    }
#endif
    return W.dtype() == DType::kFloat64
               ? elementwise_typed<double>(function, W, rank, weights.elementwise, options, left, right,
                                           singular_values)
               : elementwise_typed<float>(function, W, rank, weights.elementwise, options, left, right,
                                          singular_values);
  }
  if (host_backend && W.device().is_cpu()) {
    if (W.dtype() == DType::kFloat64) {
      return weighted_on_backend<double>(detail::HostDenseOps<double>(), nullptr, function, W, rank, weights, options,
                                         left, right, singular_values);
    }
    return weighted_on_backend<float>(detail::HostDenseOps<float>(), nullptr, function, W, rank, weights, options,
                                      left, right, singular_values);
  }
#if defined(MLPRIMS_WITH_CUDA)
  if (W.device().is_cuda()) {
    if (W.dtype() == DType::kFloat64) {
      const auto ops = detail::make_cuda_dense_ops<double>(W.device().index, W.stream());
      return weighted_on_backend<double>(*ops, ops.get(), function, W, rank, weights, options, left, right,
                                         singular_values);
    }
    const auto ops = detail::make_cuda_dense_ops<float>(W.device().index, W.stream());
    return weighted_on_backend<float>(*ops, ops.get(), function, W, rank, weights, options, left, right,
                                      singular_values);
  }
#endif
  return W.dtype() == DType::kFloat64
             ? weighted_typed<double>(function, W, rank, weights, options, left, right, singular_values)
             : weighted_typed<float>(function, W, rank, weights, options, left, right, singular_values);
}

}  // namespace

SvdResult truncated_svd(const TensorView& W, std::int64_t rank, const SvdOptions& options, const TensorView& left,
                        const TensorView& right, const TensorView& singular_values) {
  return SvdResult{run("truncated_svd", W, rank, Weights{}, options, left, right, singular_values).method};
}

WeightedResult weighted_svd(const TensorView& W, std::int64_t rank, const Weights& weights, const SvdOptions& options,
                            const TensorView& left, const TensorView& right, const TensorView& singular_values) {
  return run("weighted_svd", W, rank, weights, options, left, right, singular_values);
}

WeightedResult fwsvd(const TensorView& W, const TensorView& fisher, std::int64_t rank, int input_axis,
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
  std::unique_ptr<detail::BackendMemory> device_memory;
#if defined(MLPRIMS_WITH_CUDA)
  if (W.device().is_cuda()) device_memory = detail::make_cuda_dense_ops<float>(W.device().index, W.stream());
#endif
  std::vector<unsigned char> storage;
  const std::vector<double> values = as_doubles(host_view(fisher, W, device_memory.get(), storage, arg));
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
  (input_axis == 0 ? weights.row_weights : weights.col_weights) =
      TensorView(sums.data(), DType::kFloat64, {features});
  return run(function, W, rank, weights, options, left, right, singular_values);
}

namespace detail {

WeightedResult weighted_svd_as(const char* function, const TensorView& W, std::int64_t rank, const Weights& weights,
                               const SvdOptions& options, const TensorView& left, const TensorView& right,
                               const TensorView& singular_values, bool host_backend) {
  return run(function, W, rank, weights, options, left, right, singular_values, host_backend);
}

}  // namespace detail

}  // namespace mlprims::lowrank
