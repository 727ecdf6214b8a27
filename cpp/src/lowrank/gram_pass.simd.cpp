// The float32 Gram pass of gram_pass.hpp for one thread's rows, compiled once per instruction set
// (MLPRIMS_ISA names the namespace). Rows are taken a cache-sized block at a time and each block is
// used twice while it is in cache: y = W_block Z (dot products along a row), then
// acc += W_blockᵀ y (scaled rows added into the columns of acc). Register tiles are sized for
// the vector registers of the set (32 with AVX-512, 16 otherwise).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "lowrank/gram_pass.hpp"

#ifndef MLPRIMS_ISA
#error "compile with -DMLPRIMS_ISA=<namespace>"
#endif

namespace mlprims::lowrank::detail::MLPRIMS_ISA {
namespace {

#if defined(__AVX512F__)
constexpr int kLanes = 16;
constexpr int kDotRows = 4, kDotColumns = 6;       // 24 accumulators
constexpr int kAxpyColumns = 6, kAxpyVectors = 4;  // 24 accumulators
#elif defined(__AVX2__)
constexpr int kLanes = 8;
constexpr int kDotRows = 2, kDotColumns = 4;
constexpr int kAxpyColumns = 3, kAxpyVectors = 3;
#else
constexpr int kLanes = 4;
constexpr int kDotRows = 2, kDotColumns = 4;
constexpr int kAxpyColumns = 3, kAxpyVectors = 3;
#endif

typedef float Vector __attribute__((vector_size(kLanes * sizeof(float))));

inline Vector load(const float* p) {
  Vector v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void store(float* p, Vector v) { std::memcpy(p, &v, sizeof v); }

inline float lane_sum(Vector v) {
  float sum = 0.0f;
  for (int i = 0; i < kLanes; ++i) sum += v[i];
  return sum;
}

// y[r * b + c] = sum_k w[r * n + k] zt[c * n + k] for Rows x Columns outputs.
template <int Rows, int Columns>
void dot_tile(std::int64_t n, const float* w, const float* zt, float* y, std::int64_t b) {
  Vector acc[Rows][Columns] = {};
  std::int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    Vector z[Columns];
    for (int c = 0; c < Columns; ++c) z[c] = load(zt + c * n + k);
    for (int r = 0; r < Rows; ++r) {
      const Vector row = load(w + r * n + k);
      for (int c = 0; c < Columns; ++c) acc[r][c] += row * z[c];
    }
  }
  for (int r = 0; r < Rows; ++r) {
    for (int c = 0; c < Columns; ++c) {
      float sum = lane_sum(acc[r][c]);
      for (std::int64_t t = k; t < n; ++t) sum += w[r * n + t] * zt[c * n + t];
      y[r * b + c] = sum;
    }
  }
}

// The tile for the last `columns` (< Columns) outputs of a row group.
template <int Rows, int Columns>
void dot_tile_narrow(int columns, std::int64_t n, const float* w, const float* zt, float* y, std::int64_t b) {
  if constexpr (Columns > 1) {
    if (columns < Columns) return dot_tile_narrow<Rows, Columns - 1>(columns, n, w, zt, y, b);
  }
  dot_tile<Rows, Columns>(n, w, zt, y, b);
}

template <int Rows>
void dot_rows(std::int64_t n, const float* w, const float* zt, float* y, std::int64_t b) {
  std::int64_t c = 0;
  for (; c + kDotColumns <= b; c += kDotColumns) dot_tile<Rows, kDotColumns>(n, w, zt + c * n, y + c, b);
  if (c < b) dot_tile_narrow<Rows, kDotColumns>(static_cast<int>(b - c), n, w, zt + c * n, y + c, b);
}

template <int Rows>
void dot_rows_narrow(int rows, std::int64_t n, const float* w, const float* zt, float* y, std::int64_t b) {
  if constexpr (Rows > 1) {
    if (rows < Rows) return dot_rows_narrow<Rows - 1>(rows, n, w, zt, y, b);
  }
  dot_rows<Rows>(n, w, zt, y, b);
}

// acc[c * n + k] += sum_i y[i * b + c] w[i * n + k] for Columns columns c and Vectors * kLanes
// consecutive k, over `rows` rows i.
template <int Columns, int Vectors>
void axpy_tile(std::int64_t rows, std::int64_t n, const float* w, const float* y, std::int64_t b, float* acc) {
  Vector sum[Columns][Vectors];
  for (int c = 0; c < Columns; ++c) {
    for (int v = 0; v < Vectors; ++v) sum[c][v] = load(acc + c * n + v * kLanes);
  }
  for (std::int64_t i = 0; i < rows; ++i) {
    Vector row[Vectors];
    for (int v = 0; v < Vectors; ++v) row[v] = load(w + i * n + v * kLanes);
    for (int c = 0; c < Columns; ++c) {
      const float scale = y[i * b + c];
      for (int v = 0; v < Vectors; ++v) sum[c][v] += scale * row[v];
    }
  }
  for (int c = 0; c < Columns; ++c) {
    for (int v = 0; v < Vectors; ++v) store(acc + c * n + v * kLanes, sum[c][v]);
  }
}

template <int Columns, int Vectors>
void axpy_tile_narrow(int columns, std::int64_t rows, std::int64_t n, const float* w, const float* y, std::int64_t b,
                      float* acc) {
  if constexpr (Columns > 1) {
    if (columns < Columns) return axpy_tile_narrow<Columns - 1, Vectors>(columns, rows, n, w, y, b, acc);
  }
  axpy_tile<Columns, Vectors>(rows, n, w, y, b, acc);
}

// acc += yᵀ w over all n: register tiles of kAxpyVectors vectors, scalar tail.
void add_transposed_product(std::int64_t rows, std::int64_t n, const float* w, const float* y, std::int64_t b,
                            float* acc) {
  constexpr std::int64_t kWidth = std::int64_t{kAxpyVectors} * kLanes;
  std::int64_t k = 0;
  for (; k + kWidth <= n; k += kWidth) {
    std::int64_t c = 0;
    for (; c + kAxpyColumns <= b; c += kAxpyColumns) {
      axpy_tile<kAxpyColumns, kAxpyVectors>(rows, n, w + k, y + c, b, acc + c * n + k);
    }
    if (c < b) {
      axpy_tile_narrow<kAxpyColumns, kAxpyVectors>(static_cast<int>(b - c), rows, n, w + k, y + c, b, acc + c * n + k);
    }
  }
  for (std::int64_t c = 0; c < b; ++c) {
    for (std::int64_t i = 0; i < rows; ++i) {
      const float scale = y[i * b + c];
      for (std::int64_t t = k; t < n; ++t) acc[c * n + t] += scale * w[i * n + t];
    }
  }
}

}  // namespace

void gram_rows(std::int64_t rows, std::int64_t n, const float* w, const float* zt, std::int64_t b, float* y,
               float* acc) {
  // ~512 KiB of W per block: it stays in the L2 cache between its two uses.
  const std::int64_t block = std::max<std::int64_t>(kDotRows, (std::int64_t{1} << 19) / (n * 4) / kDotRows * kDotRows);
  for (std::int64_t first = 0; first < rows; first += block) {
    const std::int64_t count = std::min(block, rows - first);
    const float* w_block = w + first * n;
    float* y_block = y + first * b;
    std::int64_t r = 0;
    for (; r + kDotRows <= count; r += kDotRows) dot_rows<kDotRows>(n, w_block + r * n, zt, y_block + r * b, b);
    if (r < count) {
      dot_rows_narrow<kDotRows>(static_cast<int>(count - r), n, w_block + r * n, zt, y_block + r * b, b);
    }
    if (acc != nullptr) add_transposed_product(count, n, w_block, y_block, b, acc);
  }
}

}  // namespace mlprims::lowrank::detail::MLPRIMS_ISA
