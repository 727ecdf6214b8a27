#include "core/vector_io.hpp"

#include <cstdint>

#include "core/elementwise_cpu.hpp"

namespace mlprims::detail {

std::vector<double> read_vector(const TensorView& t) {
#if defined(MLPRIMS_WITH_CUDA)
  if (t.device().is_cuda()) return read_vector_cuda(t);
#endif
  const auto element = static_cast<std::int64_t>(dtype_size(t.dtype()));
  const char* data = static_cast<const char*>(t.data());
  std::vector<double> values(static_cast<std::size_t>(t.shape(0)));
  for (std::int64_t j = 0; j < t.shape(0); ++j) values[j] = load_as_double(data + j * t.stride(0) * element, t.dtype());
  return values;
}

void write_vector(const std::vector<double>& values, const TensorView& out) {
#if defined(MLPRIMS_WITH_CUDA)
  if (out.device().is_cuda()) return write_vector_cuda(values, out);
#endif
  const auto element = static_cast<std::int64_t>(dtype_size(out.dtype()));
  char* data = static_cast<char*>(out.data());
  for (std::int64_t j = 0; j < out.shape(0); ++j)
    store_from_double(data + j * out.stride(0) * element, out.dtype(), 0, values[j]);
}

std::vector<std::int64_t> read_indices(const TensorView& t) {
#if defined(MLPRIMS_WITH_CUDA)
  if (t.device().is_cuda()) return read_indices_cuda(t);
#endif
  const auto* data = t.data_as<const std::int64_t>();
  std::vector<std::int64_t> values(static_cast<std::size_t>(t.shape(0)));
  for (std::int64_t j = 0; j < t.shape(0); ++j) values[j] = data[j * t.stride(0)];
  return values;
}

void write_flags(const std::vector<std::uint8_t>& flags, const TensorView& out) {
#if defined(MLPRIMS_WITH_CUDA)
  if (out.device().is_cuda()) return write_flags_cuda(flags, out);
#endif
  auto* data = static_cast<std::uint8_t*>(out.data());
  for (std::int64_t j = 0; j < out.shape(0); ++j) data[j * out.stride(0)] = flags[j] != 0 ? 1 : 0;
}

}  // namespace mlprims::detail
