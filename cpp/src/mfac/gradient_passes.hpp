// Everything M-FAC does with the gradient matrix G itself, behind one interface with a CPU and a
// CUDA implementation. The solver (woodbury_solver.hpp) and the sliding window are written once
// against it: they keep the small m x m systems on the host and never touch d-length data
// directly, only through these operations.
//
// Vectors of length d (k right-hand sides: k x d row-major doubles) live in the backend's memory
// (host or device) and are passed as raw pointers; everything of size m (projections,
// coefficients, Gram matrices) is on the host.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "mfac/gradient_rows.hpp"
#include "mfac/symmetric_factor.hpp"
#include "mlprims/core/tensor.hpp"

namespace mlprims::mfac::detail {

// Runs of consecutive columns with their own inverse. Woodbury blocks work with the m x m system
// K_b = scale damp I + G_b G_b^T; dense blocks (no wider than m) with F_b itself.
struct BlockRange {
  std::int64_t begin = 0;
  std::int64_t end = 0;
  bool dense = false;
  std::int64_t width() const { return end - begin; }
};

enum class Select { kWoodbury, kDense, kAll };

// out = out_scale (a + b_scale b - G_b^T c_b) on the columns of each selected block b (plus the old
// out when accumulating), where c_b is that block's k x m slice of `coefficients` (none: 0).
// Afterwards, optionally, out_projection (k x m per block, all blocks) += G out over the selected
// blocks, and norms (2k values) = the Euclidean norms over the selected columns of out's rows and
// then of b's rows (scaled sums: no overflow or underflow for finite values, on either back end).
struct Combination {
  Select select = Select::kAll;
  int k = 1;
  const double* a = nullptr;  // k x d, backend memory; may be `out`
  const double* b = nullptr;  // k x d or nullptr
  double b_scale = 0.0;
  const double* coefficients = nullptr;  // host, blocks x k x m, or nullptr
  double out_scale = 1.0;
  bool accumulate = false;
  double* out = nullptr;             // k x d, backend memory
  double* out_projection = nullptr;  // host or nullptr
  double* norms = nullptr;           // host (2k) or nullptr
};

class GradientPasses;

// A k x d block of doubles in the backend's memory. Buffers from GradientPasses::allocate go back
// to their passes' cache when released (`home`); the memory itself is freed by `release`.
class VectorBuffer {
 public:
  using Release = std::function<void(double*)>;
  VectorBuffer() = default;
  VectorBuffer(double* data, Release release, std::int64_t count = 0) : data_(data, release), count_(count) {}
  VectorBuffer(VectorBuffer&&) noexcept = default;
  VectorBuffer& operator=(VectorBuffer&& other) noexcept;
  ~VectorBuffer();
  double* data() const { return data_.get(); }
  std::int64_t count() const { return count_; }

 private:
  friend class GradientPasses;
  std::unique_ptr<double, Release> data_{nullptr, nullptr};
  std::int64_t count_ = 0;
  const GradientPasses* home_ = nullptr;
};

class GradientPasses {
 public:
  explicit GradientPasses(const GradientRows& g) : g_(g) {}
  virtual ~GradientPasses() = default;
  GradientPasses(const GradientPasses&) = delete;
  GradientPasses& operator=(const GradientPasses&) = delete;

  const GradientRows& rows() const { return g_; }
  // The sliding window changes how many rows are present.
  void set_row_count(std::int64_t count) { g_.rows = count; }
  const std::vector<BlockRange>& blocks() const { return blocks_; }
  void set_blocks(std::vector<BlockRange> blocks) { blocks_ = std::move(blocks); }

  // q (host, k x m per block) += G v over the selected blocks.
  virtual void project(Select select, int k, const double* v, double* q) const = 0;
  virtual void combine(const Combination& c) const = 0;

  // Lower triangle (ld = n) of G_b G_b^T (m x m) for a Woodbury block, or of G_b^T G_b (b x b) for
  // a dense one, accumulated in double; false if G_b holds NaN or inf.
  virtual bool gram(const BlockRange& block, double* out) const = 0;
  // out[c] = g_c^T K_b^{-1} g_c for the columns c of a Woodbury block (g_c: column c of G, m values).
  virtual void woodbury_quadratic(const BlockRange& block, const SymmetricFactor& factor, double* out) const = 0;
  // Columns of G as doubles on the host, m values per requested column.
  virtual std::vector<double> gather_columns(const std::vector<std::int64_t>& columns) const = 0;

  // Vectors of doubles in the backend's memory. Released buffers are kept (up to 4 d doubles in
  // all) and handed out again: fresh memory costs page faults on the CPU (25% of a two-pass
  // product at d = 1e7, measured) and a trip through the stream-ordered pool on CUDA. Thread-safe.
  VectorBuffer allocate(std::int64_t count) const;
  virtual void copy(const double* from, double* to, std::int64_t count) const = 0;
  virtual void download(const double* from, double* host, std::int64_t count) const = 0;
  virtual void upload(const double* host, double* to, std::int64_t count) const = 0;
  // Euclidean norms (host, k values) of the k rows of v (k x d), right for all finite v: the CPU
  // accumulates scaled sums of squares (core/math/scaled_norm.hpp), CUDA sums squares per thread
  // block for values times a power of two and merges the blocks' sums on the host.
  virtual void norms(const double* v, int k, double* out) const = 0;
  // Rows [first, first + k) of x ((d,) or (rows, d), float32/float64, any strides) as k x d
  // doubles, and back into out.
  virtual void load(const TensorView& x, std::int64_t first, int k, double* to) const = 0;
  virtual void store(const double* from, std::int64_t first, int k, const TensorView& out) const = 0;

  // Sliding window: row `slot` of the owned gradient buffer <- `from` (d doubles, rounded to the
  // storage type), and the stored row read back as doubles.
  virtual void store_row(std::int64_t slot, const double* from) = 0;
  virtual void widen_row(std::int64_t slot, double* to) const = 0;

 protected:
  // New memory for `count` doubles, with how to free it.
  virtual VectorBuffer allocate_memory(std::int64_t count) const = 0;

  GradientRows g_;
  std::vector<BlockRange> blocks_;

 private:
  friend class VectorBuffer;
  void keep(VectorBuffer& buffer) const;  // takes the memory of a released buffer into the cache

  mutable std::mutex cache_mutex_;
  mutable std::vector<VectorBuffer> cache_;  // sorted by count, smallest first
};

}  // namespace mlprims::mfac::detail
