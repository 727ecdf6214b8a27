#include "mfac/backend.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/math/scaled_norm.hpp"
#include "core/parallel.hpp"
#include "linalg/lapack.hpp"
#include "mfac/column_sweep.hpp"

namespace mlprims::mfac::detail {
namespace {

using mlprims::detail::ScaledSumOfSquares;

// sum += v[0..n)^2. A plain sum of squares is exact to rounding while the largest magnitude is
// within [2^-450, 2^450] (squares neither overflow nor lose anything that matters to underflow),
// and it is several times faster than scaling each term; outside that range the terms are
// added scaled (core/math/scaled_norm.hpp).
void add_norm(const double* v, std::int64_t n, ScaledSumOfSquares& sum) {
  double squares = 0.0, largest = 0.0;
#pragma omp simd reduction(+ : squares) reduction(max : largest)
  for (std::int64_t i = 0; i < n; ++i) {
    squares += v[i] * v[i];
    largest = std::max(largest, std::fabs(v[i]));
  }
  constexpr double kSmall = 0x1p-450, kLarge = 0x1p450;
  if (largest == 0.0) return;
  if (largest >= kSmall && largest <= kLarge) {  // also false for NaN
    sum.add(std::sqrt(squares));                 // adds `squares` to the scaled sum
    return;
  }
  for (std::int64_t i = 0; i < n; ++i) sum.add(v[i]);
}

// Element offset of x[row, j] for a 1-D (row 0) or 2-D view.
std::int64_t offset_of(const TensorView& t, std::int64_t row, std::int64_t j) {
  return t.ndim() == 1 ? j * t.stride(0) : row * t.stride(0) + j * t.stride(1);
}

// Calls body(tag) with tag::type float or double for x and out, which are float32/float64
// (argument_checks).
template <typename Body>
void with_float_type(DType dtype, Body&& body) {
  if (dtype == DType::kFloat32) {
    body(StorageTag<float>{});
  } else {
    body(StorageTag<double>{});
  }
}

// body(j) for j in [0, d), split among threads for long vectors.
template <typename Body>
void parallel_columns(std::int64_t d, Body&& body) {
  const int threads = mlprims::detail::threads_for(d, 1 << 15);
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
  for (std::int64_t j = 0; j < d; ++j) body(j);
}

class CpuPasses final : public GradientPasses {
 public:
  explicit CpuPasses(const GradientRows& g) : GradientPasses(g) {}

  // Owning variant for the sliding window.
  CpuPasses(std::int64_t window, std::int64_t dim, DType dtype)
      : GradientPasses(GradientRows{}), storage_(static_cast<std::size_t>(window * dim) * dtype_size(dtype), 0) {
    g_ = GradientRows::window(storage_.data(), dtype, dim);
  }

  void project(Select select, int k, const double* v, double* q) const override {
    sweep(
        select, k, nullptr, [](std::int64_t, std::int64_t, const double*, ScaledSumOfSquares*) {}, v, q, nullptr);
  }

  void combine(const Combination& c) const override {
    const std::int64_t d = g_.cols;
    const int k = c.k;
    sweep(
        c.select, k, c.coefficients,
        [&](std::int64_t begin, std::int64_t end, const double* acc, ScaledSumOfSquares* chunk_norms) {
          const std::int64_t width = end - begin;
          for (int r = 0; r < k; ++r) {
            for (std::int64_t col = 0; col < width; ++col) {
              const std::int64_t j = r * d + begin + col;
              double value = c.a[j];
              if (c.b != nullptr) value += c.b_scale * c.b[j];
              if (acc != nullptr) value -= acc[r * width + col];
              value *= c.out_scale;
              if (c.accumulate) value += c.out[j];
              c.out[j] = value;
            }
            if (c.norms != nullptr) {
              add_norm(c.out + r * d + begin, width, chunk_norms[r]);
              if (c.b != nullptr) add_norm(c.b + r * d + begin, width, chunk_norms[k + r]);
            }
          }
        },
        c.out_projection != nullptr ? c.out : nullptr, c.out_projection, c.norms);
  }

  bool gram(const BlockRange& block, double* out) const override {
    const std::int64_t m = g_.rows;
    bool finite = true;
    if (block.dense) {
      const std::int64_t n = block.width();
      std::vector<double> columns(static_cast<std::size_t>(m * n));
      finite = widen_columns(g_, block.begin, block.end, columns.data());  // m x n row-major = (n x m) col-major
      linalg::syrk_lower(false, n, m, 1.0, columns.data(), n, 0.0, out, n);
      return finite;
    }
    // Chunks of a few megabytes of widened columns, accumulated by syrk.
    const std::int64_t chunk = std::max<std::int64_t>(512, (std::int64_t{1} << 19) / std::max<std::int64_t>(m, 1));
    std::vector<double> columns(static_cast<std::size_t>(m * std::min(chunk, block.width())));
    std::fill(out, out + m * m, 0.0);
    for (std::int64_t begin = block.begin; begin < block.end; begin += chunk) {
      const std::int64_t end = std::min(block.end, begin + chunk);
      finite = widen_columns(g_, begin, end, columns.data()) && finite;
      linalg::syrk_lower(true, m, end - begin, 1.0, columns.data(), end - begin, 1.0, out, m);
    }
    return finite;
  }

  void woodbury_quadratic(const BlockRange& block, const SymmetricFactor& factor, double* out) const override {
    const std::int64_t m = g_.rows;
    const std::int64_t chunk = std::max<std::int64_t>(256, (std::int64_t{1} << 19) / std::max<std::int64_t>(m, 1));
    std::vector<double> columns, solved;
    for (std::int64_t begin = block.begin; begin < block.end; begin += chunk) {
      const std::int64_t width = std::min(chunk, block.end - begin);
      double* result = out + (begin - block.begin);
      columns.resize(static_cast<std::size_t>(m * width));
      widen_columns(g_, begin, begin + width, columns.data());  // row-major m x width = (width x m)^T
      if (factor.cholesky) {
        // g^T K^{-1} g = ||L^{-1} g||^2: one triangular solve for the whole chunk.
        linalg::solve_right_lower_transposed(width, m, factor.data, m, columns.data(), width);
        std::fill(result, result + width, 0.0);
        for (std::int64_t i = 0; i < m; ++i) {
          const double* row = columns.data() + i * width;
          for (std::int64_t c = 0; c < width; ++c) result[c] += row[c] * row[c];
        }
        continue;
      }
      solved.resize(columns.size());
      for (std::int64_t i = 0; i < m; ++i) {
        for (std::int64_t c = 0; c < width; ++c) solved[c * m + i] = columns[i * width + c];
      }
      solve_factored(factor, solved.data(), width, m);
      for (std::int64_t c = 0; c < width; ++c) {
        double quadratic = 0.0;
        for (std::int64_t i = 0; i < m; ++i) quadratic += columns[i * width + c] * solved[c * m + i];
        result[c] = quadratic;
      }
    }
  }

  std::vector<double> gather_columns(const std::vector<std::int64_t>& columns) const override {
    const std::int64_t m = g_.rows;
    std::vector<double> values(columns.size() * static_cast<std::size_t>(m));
    with_storage_type(g_.dtype, [&](auto tag) {
      using T = typename decltype(tag)::type;
      for (std::size_t t = 0; t < columns.size(); ++t) {
        for (std::int64_t i = 0; i < m; ++i)
          values[t * m + i] = widen(reinterpret_cast<const T*>(g_.row(i)), columns[t]);
      }
    });
    return values;
  }

  VectorBuffer allocate_memory(std::int64_t count) const override {
    return VectorBuffer(
        new double[static_cast<std::size_t>(count)], [](double* p) { delete[] p; }, count);
  }
  void copy(const double* from, double* to, std::int64_t count) const override { std::copy(from, from + count, to); }
  void download(const double* from, double* host, std::int64_t count) const override { copy(from, host, count); }
  void upload(const double* host, double* to, std::int64_t count) const override { copy(host, to, count); }

  void norms(const double* v, int k, double* out) const override {
    const std::int64_t d = g_.cols;
    const int threads = mlprims::detail::threads_for(d, 1 << 15);
    for (int r = 0; r < k; ++r) {
      const double* row = v + r * d;
      // Per-thread partial sums over static ranges, merged in thread order (deterministic).
      std::vector<ScaledSumOfSquares> partial(static_cast<std::size_t>(threads));
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
      for (int t = 0; t < threads; ++t) {
        const std::int64_t begin = d * t / threads, end = d * (t + 1) / threads;
        add_norm(row + begin, end - begin, partial[static_cast<std::size_t>(t)]);
      }
      ScaledSumOfSquares total;
      for (const ScaledSumOfSquares& part : partial) total.merge(part);
      out[r] = total.norm();
    }
  }

  // load/store move d-length vectors, so they run in parallel (they also first-touch the buffers).
  void load(const TensorView& x, std::int64_t first, int k, double* to) const override {
    const std::int64_t d = g_.cols, step = x.stride(x.ndim() - 1);
    with_float_type(x.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      for (int r = 0; r < k; ++r) {
        const T* source = static_cast<const T*>(x.data()) + offset_of(x, first + r, 0);
        double* target = to + r * d;
        parallel_columns(d, [&](std::int64_t j) { target[j] = static_cast<double>(source[j * step]); });
      }
    });
  }

  void store(const double* from, std::int64_t first, int k, const TensorView& out) const override {
    const std::int64_t d = g_.cols, step = out.stride(out.ndim() - 1);
    with_float_type(out.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      for (int r = 0; r < k; ++r) {
        T* target = static_cast<T*>(out.data()) + offset_of(out, first + r, 0);
        const double* source = from + r * d;
        parallel_columns(d, [&](std::int64_t j) { target[j * step] = static_cast<T>(source[j]); });
      }
    });
  }

  void store_row(std::int64_t slot, const double* from) override {
    const std::int64_t d = g_.cols;
    char* row = storage_.data() + static_cast<std::size_t>(slot * d) * dtype_size(g_.dtype);
    for (std::int64_t j = 0; j < d; ++j) {
      if (g_.dtype == DType::kFloat64) {
        reinterpret_cast<double*>(row)[j] = from[j];
      } else if (g_.dtype == DType::kFloat32) {
        reinterpret_cast<float*>(row)[j] = double_to_float(from[j]);
      } else {
        reinterpret_cast<std::uint16_t*>(row)[j] = double_to_bfloat16(from[j]);
      }
    }
  }

  void widen_row(std::int64_t slot, double* to) const override {
    const std::int64_t d = g_.cols;
    const char* row = storage_.data() + static_cast<std::size_t>(slot * d) * dtype_size(g_.dtype);
    with_storage_type(g_.dtype, [&](auto tag) {
      using T = typename decltype(tag)::type;
      for (std::int64_t j = 0; j < d; ++j) to[j] = widen(reinterpret_cast<const T*>(row), j);
    });
  }

 private:
  // One pass over the columns of the selected blocks, in chunks: acc = c_b^T G over the chunk
  // (when coefficients are given, else nullptr), finish(begin, end, acc, sums) writes the chunk's
  // outputs and may add to 2k scaled sums of squares (norms receives their 2k norms), then G times `project_source`
  // over the chunk is added to project_out (k x m per block). A chunk is still in cache for the projection.
  template <class Finish>
  void sweep(Select select, int k, const double* coefficients, Finish&& finish, const double* project_source,
             double* project_out, double* norms) const {
    const std::int64_t m = g_.rows, d = g_.cols;
    const bool fused = coefficients != nullptr && project_source != nullptr;
    const std::int64_t chunk = fused ? fused_chunk_columns(g_) : streaming_chunk_columns(g_, k);
    const auto selected = [select](const BlockRange& b) {
      return select == Select::kAll || (select == Select::kDense) == b.dense;
    };
    std::vector<const BlockRange*> chosen;
    std::vector<std::size_t> index;
    for (std::size_t b = 0; b < blocks_.size(); ++b) {
      if (selected(blocks_[b])) {
        chosen.push_back(&blocks_[b]);
        index.push_back(b);
      }
    }
    if (norms != nullptr) std::fill(norms, norms + 2 * k, 0.0);
    if (chosen.empty()) return;
    const auto run_chunk = [&](std::size_t block, std::int64_t begin, std::int64_t end, double* acc, double* project,
                               ScaledSumOfSquares* chunk_norms) {
      double* accumulator = nullptr;
      if (coefficients != nullptr) {
        combine_columns(g_, begin, end, coefficients + block * k * m, k, acc);
        accumulator = acc;
      }
      finish(begin, end, accumulator, chunk_norms);
      if (project_out != nullptr) project_columns(g_, begin, end, project_source, d, k, project);
    };
    // Threads add into private sums, added up at the end in a fixed order (the result does not
    // depend on scheduling).
    if (chosen.size() == 1) {
      // One block: its chunks are split among threads, each with private projections.
      const BlockRange& block = *chosen.front();
      const std::int64_t chunks = (block.width() + chunk - 1) / chunk;
      const int threads = mlprims::detail::threads_for(m * block.width(), 1 << 16);
      const std::size_t size = static_cast<std::size_t>(k * m);
      std::vector<double> private_projections(project_out != nullptr ? threads * size : 0, 0.0);
      std::vector<ScaledSumOfSquares> private_norms(static_cast<std::size_t>(threads * 2 * k));
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
#endif
      {
        const int t = mlprims::detail::thread_index();
        std::vector<double> acc(coefficients != nullptr ? static_cast<std::size_t>(k * chunk) : 0);
#if defined(_OPENMP)
#pragma omp for schedule(static)
#endif
        for (std::int64_t c = 0; c < chunks; ++c) {
          const std::int64_t begin = block.begin + c * chunk;
          run_chunk(index.front(), begin, std::min(block.end, begin + chunk), acc.data(),
                    project_out != nullptr ? private_projections.data() + t * size : nullptr,
                    private_norms.data() + t * 2 * k);
        }
      }
      add_private(threads, private_projections, project_out != nullptr ? project_out + index.front() * size : nullptr,
                  size, private_norms, norms, k);
      return;
    }
    // Many blocks: each block is one thread's, which writes its own projections directly.
    const int threads = mlprims::detail::threads_for(static_cast<std::int64_t>(chosen.size()), 1);
    std::vector<ScaledSumOfSquares> private_norms(static_cast<std::size_t>(threads * 2 * k));
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
#endif
    {
      const int t = mlprims::detail::thread_index();
      std::vector<double> acc(coefficients != nullptr ? static_cast<std::size_t>(k * chunk) : 0);
#if defined(_OPENMP)
#pragma omp for schedule(dynamic, 4)
#endif
      for (std::size_t c = 0; c < chosen.size(); ++c) {
        const BlockRange& block = *chosen[c];
        for (std::int64_t begin = block.begin; begin < block.end; begin += chunk) {
          run_chunk(index[c], begin, std::min(block.end, begin + chunk), acc.data(),
                    project_out != nullptr ? project_out + index[c] * k * m : nullptr,
                    private_norms.data() + t * 2 * k);
        }
      }
    }
    add_private(threads, {}, nullptr, 0, private_norms, norms, k);
  }

  static void add_private(int threads, const std::vector<double>& projections, double* project_out, std::size_t size,
                          const std::vector<ScaledSumOfSquares>& private_norms, double* norms, int k) {
    std::vector<ScaledSumOfSquares> totals(static_cast<std::size_t>(2 * k));
    for (int t = 0; t < threads; ++t) {
      if (project_out != nullptr) {
        for (std::size_t i = 0; i < size; ++i) project_out[i] += projections[t * size + i];
      }
      for (int r = 0; r < 2 * k; ++r) totals[r].merge(private_norms[t * 2 * k + r]);
    }
    if (norms != nullptr) {
      for (int r = 0; r < 2 * k; ++r) norms[r] = totals[r].norm();
    }
  }

  std::vector<char> storage_;  // the sliding window's rows (empty for a view)
};

}  // namespace

std::unique_ptr<GradientPasses> make_cpu_passes(const GradientRows& g) { return std::make_unique<CpuPasses>(g); }

std::unique_ptr<GradientPasses> make_cpu_window(std::int64_t window, std::int64_t dim, DType dtype) {
  return std::make_unique<CpuPasses>(window, dim, dtype);
}

}  // namespace mlprims::mfac::detail
