#include "lowrank/argument_checks.hpp"

#include <algorithm>

namespace mlprims::lowrank::detail {

using mlprims::detail::format_double;

TensorView host_view(const TensorView& t, const TensorView& W, const BackendMemory& memory,
                     std::vector<unsigned char>& storage, ArgRef arg) {
  require_contiguous(t, arg);
  if (t.device().is_cpu()) return t;
  if (t.device() != W.device()) {
    throw ValueError(arg.prefix() + " must be in CPU memory" +
                     (W.device().is_cpu() ? std::string(" like W") : " or on W's device " + W.device().str()) +
                     ", got " + t.device().str());
  }
  storage.resize(static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()));
  memory.download(t.data(), storage.data(), storage.size());
  return TensorView(storage.data(), t.dtype(), t.shape());
}

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

void require_nonnegative(const std::vector<double>& values, std::int64_t columns, ArgRef arg) {
  for (std::size_t e = 0; e < values.size(); ++e) {
    if (values[e] >= 0.0 && std::isfinite(values[e])) continue;
    const auto index = static_cast<std::int64_t>(e);
    const std::string where =
        columns == 0 ? "index " + std::to_string(index)
                     : "(" + std::to_string(index / columns) + ", " + std::to_string(index % columns) + ")";
    throw ValueError(arg.prefix() + " must be finite and >= 0, got " + format_double(values[e]) + " at " + where);
  }
}

std::vector<double> diagonal_weights(const TensorView& t, std::int64_t length, const TensorView& W,
                                     const BackendMemory& memory, ArgRef arg) {
  mlprims::detail::require_floating(t, arg);
  mlprims::detail::require_shape(t, {length}, arg);
  std::vector<unsigned char> storage;
  std::vector<double> out = as_doubles(host_view(t, W, memory, storage, arg));
  require_nonnegative(out, 0, arg);
  if (std::all_of(out.begin(), out.end(), [](double value) { return value == 0.0; })) {
    throw ValueError(arg.prefix() + " must not be all zero (the objective would be 0 for any factors)");
  }
  return out;
}

std::pair<std::vector<double>, double> checked_gram(const TensorView& t, std::int64_t size, const TensorView& W,
                                                    const BackendMemory& memory, ArgRef arg) {
  mlprims::detail::require_floating(t, arg);
  mlprims::detail::require_shape(t, {size, size}, arg);
  std::vector<unsigned char> storage;
  std::vector<double> g = as_doubles(host_view(t, W, memory, storage, arg));
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

}  // namespace mlprims::lowrank::detail
