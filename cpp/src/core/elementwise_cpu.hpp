// CPU engine for elementwise functions: broadcasting, strides, float32/float64 conversion,
// chunking and OpenMP threads are handled here once, so that every math kernel only sees
// contiguous double buffers:
//   kernel(const double* const* inputs, double* out, std::int64_t n)
// Contiguous float64 operands are passed through without copies.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "core/broadcast.hpp"
#include "core/parallel.hpp"
#include "core/typed_access.hpp"
#include "mlprims/core/tensor.hpp"

namespace mlprims::detail {

constexpr std::int64_t kElementwiseChunk = 1024;

// Walks `count` elements of an operand from the multi-index `start` (row-major over `shape`).
template <class Visit>
inline void walk(const Shape& shape, const ElementwiseOperand& op, std::int64_t start, std::int64_t count,
                 Visit&& visit) {
  const int ndim = static_cast<int>(shape.size());
  std::vector<std::int64_t> index(shape.size());
  std::int64_t rest = start;
  std::int64_t offset = 0;
  for (int d = ndim - 1; d >= 0; --d) {
    index[d] = rest % shape[d];
    rest /= shape[d];
    offset += index[d] * op.strides[d];
  }
  const std::int64_t element = static_cast<std::int64_t>(dtype_size(op.dtype));
  const std::int64_t inner_stride = op.strides[ndim - 1];
  std::int64_t done = 0;
  while (done < count) {
    const std::int64_t run = std::min(count - done, shape[ndim - 1] - index[ndim - 1]);
    const char* p = op.data + offset * element;
    for (std::int64_t j = 0; j < run; ++j) visit(done + j, p + j * inner_stride * element);
    done += run;
    offset += run * inner_stride;
    index[ndim - 1] += run;
    for (int d = ndim - 1; d > 0 && index[d] == shape[d]; --d) {
      offset -= shape[d] * op.strides[d];
      index[d] = 0;
      ++index[d - 1];
      offset += op.strides[d - 1];
    }
  }
}

// Runs kernel over out = f(inputs...) with inputs broadcast to out's shape. All operands are
// float32 or float64 CPU views (checked by the caller).
template <std::size_t N, class Kernel>
void run_elementwise_cpu(const std::array<const TensorView*, N>& inputs, const TensorView& out, Kernel&& kernel) {
  const std::int64_t total = out.numel();
  if (total == 0) return;
  Shape shape = out.shape();
  std::array<ElementwiseOperand, N> in_ops;
  for (std::size_t k = 0; k < N; ++k) in_ops[k] = align_to_output(*inputs[k], shape);
  ElementwiseOperand out_op = align_to_output(out, shape);
  std::vector<ElementwiseOperand*> all;
  for (auto& op : in_ops) all.push_back(&op);
  all.push_back(&out_op);
  coalesce(shape, all);

  const bool flat = shape.size() == 1;
  auto direct = [&](const ElementwiseOperand& op) { return flat && op.dtype == DType::kFloat64 && op.strides[0] == 1; };
  std::array<bool, N> in_direct;
  for (std::size_t k = 0; k < N; ++k) in_direct[k] = direct(in_ops[k]);
  const bool out_direct = direct(out_op);

  const std::int64_t chunks = (total + kElementwiseChunk - 1) / kElementwiseChunk;
  const int threads = threads_for(total, 8 * kElementwiseChunk);
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
#endif
  {
    std::vector<double> buffers((N + 1) * kElementwiseChunk);
#if defined(_OPENMP)
#pragma omp for schedule(dynamic, 1)
#endif
    for (std::int64_t c = 0; c < chunks; ++c) {
      const std::int64_t start = c * kElementwiseChunk;
      const std::int64_t count = std::min(kElementwiseChunk, total - start);
      std::array<const double*, N> in_ptrs;
      for (std::size_t k = 0; k < N; ++k) {
        if (in_direct[k]) {
          in_ptrs[k] = reinterpret_cast<const double*>(in_ops[k].data) + start;
          continue;
        }
        double* buffer = buffers.data() + k * kElementwiseChunk;
        const DType dtype = in_ops[k].dtype;
        walk(shape, in_ops[k], start, count,
             [&](std::int64_t i, const char* p) { buffer[i] = load_as_double(p, dtype); });
        in_ptrs[k] = buffer;
      }
      double* out_ptr =
          out_direct ? reinterpret_cast<double*>(out_op.data) + start : buffers.data() + N * kElementwiseChunk;
      kernel(in_ptrs.data(), out_ptr, count);
      if (!out_direct) {
        walk(shape, out_op, start, count, [&](std::int64_t i, const char* p) {
          store_from_double(const_cast<char*>(p), out_op.dtype, 0, out_ptr[i]);
        });
      }
    }
  }
}

}  // namespace mlprims::detail
