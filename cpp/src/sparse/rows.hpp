// Rows of a tensor for the per-row rules: the last dimension is a row (a 0-d tensor is one row of
// one entry), and rows are processed in parallel, each by one thread.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/parallel.hpp"
#include "mlprims/core/tensor.hpp"

namespace mlprims::sparse::detail {

struct RowLayout {
  std::int64_t numel = 0;
  std::int64_t length = 1;  // entries per row
  std::int64_t count = 0;   // rows

  static RowLayout of(const TensorView& t) {
    RowLayout rows;
    rows.numel = t.numel();
    rows.length = t.ndim() == 0 ? 1 : t.shape(t.ndim() - 1);
    rows.count = rows.length == 0 ? 0 : rows.numel / rows.length;
    return rows;
  }
};

}  // namespace mlprims::sparse::detail

namespace mlprims::detail {

// body(begin, end) over blocks of rows of `length` entries, in parallel.
template <class Body>
void for_rows(std::int64_t count, std::int64_t length, const Body& body) {
  const std::int64_t block = std::max<std::int64_t>(1, (std::int64_t{1} << 14) / std::max<std::int64_t>(1, length));
  const std::int64_t blocks = (count + block - 1) / block;
  const int threads = threads_for(count * std::max<std::int64_t>(1, length), std::int64_t{1} << 15);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
  for (std::int64_t b = 0; b < blocks; ++b) body(b * block, std::min(count, (b + 1) * block));
}

}  // namespace mlprims::detail
