// Sparse weight updates: extract the entries of a fine-tune's change that matter, store them
// compactly, apply and merge them, in one or two streaming passes over the tensors.
//
// Conventions (the same for every function):
//  * Tensors are C-contiguous CPU arrays of float16, bfloat16, float32 or float64; positions are
//    flat (row-major) indices; "rows" are the last dimension.
//  * The delta of an entry is v = tuned - base computed in float64 and rounded once to the value
//    dtype (float32 for 16-bit tensors, float64 for float32/float64 ones unless the caller picks
//    another): wide enough that base + v reproduces tuned bit for bit wherever |tuned| and |base|
//    are within a factor 2^16 (16-bit tensors) or 2^28 (float32) of each other.
//  * Magnitude selections rank |v| (the stored value), larger first, and among equal magnitudes
//    the lower position first, so "exactly k" is exactly k and reproducible. NaN in v cannot be
//    ranked and is a ValueError for magnitude selections; the changed-entry rule counts NaN as
//    changed.
//  * Results that update weights are computed in float64 and rounded once to the weights' dtype
//    (round to nearest, ties to even).
#pragma once

#include <cstdint>
#include <vector>

#include "mlprims/core/tensor.hpp"

namespace mlprims::sparse {

enum class Select : std::uint8_t {
  kChanged,      // v != 0 (atol = 0: tuned and base differ in bits) or |v| > atol; NaN is changed
  kMagnitude,    // the k entries of largest |v| (per row with Scope::kRow)
  kRandom,       // DARE: each changed entry kept with probability `density`, its value / density
  kBreadcrumbs,  // per row: drop the floor(drop_top * m) largest |v|, keep the next floor(keep * m)
};

enum class Scope : std::uint8_t { kTensor, kRow };

struct SelectRule {
  Select select = Select::kChanged;
  Scope scope = Scope::kTensor;  // kMagnitude only
  double atol = 0.0;             // kChanged
  std::int64_t k = 0;            // kMagnitude: entries kept in the tensor, or in each row
  double density = 1.0;          // kRandom: keep probability in (0, 1]
  std::uint64_t seed = 0;        // kRandom: the same seed keeps the same entries, on any thread count
  double drop_top = 0.0;         // kBreadcrumbs: fractions of each row, in [0, 1]
  double keep = 0.0;
};

// The entries a rule keeps, found by the passes the rule needs (a count, or an exact selection);
// write() then fills the positions and values in a final pass. base and tuned must stay alive and
// unchanged in between. `value_dtype` is the dtype of the values written (see the conventions).
class Extraction {
 public:
  Extraction(const TensorView& base, const TensorView& tuned, const SelectRule& rule, DType value_dtype);
  ~Extraction();
  Extraction(Extraction&&) noexcept;
  Extraction& operator=(Extraction&&) noexcept;

  std::int64_t nnz() const;
  // indices: int32 or int64, (nnz,), ascending positions; values: (nnz,) of the value dtype.
  void write(const TensorView& indices, const TensorView& values) const;
  // The same with the positions as a bitmask (uint8, ceil(numel / 8) bytes; see apply_bitmask).
  void write_bitmask(const TensorView& bitmask, const TensorView& values) const;

  struct State;

 private:
  State* state_;
};

// weights[p] += alpha * values[j] for the j-th kept position p: listed (indices, ascending, int32
// or int64) or as a bitmask (uint8, bit p % 8 of byte p / 8, little-endian bit order).
void apply_indices(const TensorView& weights, const TensorView& indices, const TensorView& values, double alpha);
void apply_bitmask(const TensorView& weights, const TensorView& bitmask, const TensorView& values, double alpha);

// Conversions between the two encodings of a support of `numel` positions.
void indices_to_bitmask(const TensorView& indices, std::int64_t numel, const TensorView& bitmask);
void bitmask_to_indices(const TensorView& bitmask, std::int64_t numel, const TensorView& indices);
std::int64_t bitmask_count(const TensorView& bitmask, std::int64_t numel);

// The k-th largest |x| (k in [1, numel]) as a double, and the k entries of largest |x| (ties:
// lower position first) as ascending positions and their values. NaN in x is a ValueError.
double kth_largest_abs(const TensorView& x, std::int64_t k);
void topk_abs(const TensorView& x, std::int64_t k, const TensorView& indices, const TensorView& values);

struct UpdateStats {
  std::int64_t numel = 0;
  std::int64_t changed = 0;  // the kChanged rule's count
  std::int64_t nan = 0;      // entries whose delta is NaN
  double max_abs = 0.0;      // over the deltas that are not NaN (inf when one is infinite)
  double mean_abs = 0.0;     // over the entries whose delta is not NaN
};
UpdateStats update_stats(const TensorView& base, const TensorView& tuned, double atol);

enum class MergeMethod : std::uint8_t { kTaskArithmetic, kTies, kDareTies, kBreadcrumbsTies };
enum class Divisor : std::uint8_t {
  kWeights,  // the sum of the agreeing tasks' weights (mergekit)
  kCount,    // the number of agreeing tasks (peft)
};

struct MergeOptions {
  MergeMethod method = MergeMethod::kTies;
  std::vector<double> weights;  // one per task (empty: all 1)
  double density = 1.0;         // kTies: fraction kept per task by magnitude; kDareTies: keep probability
  Divisor divisor = Divisor::kWeights;
  std::uint64_t seed = 0;  // kDareTies: task t uses seed + t
  double drop_top = 0.0;   // kBreadcrumbsTies
  double keep = 0.0;
};

// out = base + merged task vectors (tuned[t] - base). Task arithmetic: the weighted sum.
// TIES: trim each task vector (its largest floor(density * numel) by magnitude, DARE, or
// breadcrumbs), elect the sign of each entry from the weighted sum of the trimmed vectors (ties go
// to +), and divide the weighted sum of the agreeing entries by the divisor (zero where no task
// agrees). out may be base itself; it may not overlap a tuned tensor.
void merge(const TensorView& base, const std::vector<TensorView>& tuned, const MergeOptions& options,
           const TensorView& out);

// ---- Training on masked coordinates -------------------------------------------------------------
// A Support names the coordinates of a tensor of `numel` elements that a masked operation touches:
// ascending positions (int32/int64), a bitmask (uint8, the layout of apply_bitmask), or all of
// them. The rank of a coordinate is its place in ascending position order; compact arrays (values,
// optimizer moments) hold one entry per coordinate in rank order.
struct Support {
  enum class Encoding : std::uint8_t { kIndices, kBitmask, kAll };
  Encoding encoding = Encoding::kAll;
  TensorView positions;  // kIndices: (nnz,) int32/int64; kBitmask: (ceil(numel / 8),) uint8; kAll: unused
};

// The number of coordinates of a support for a tensor of numel elements, after checking it (ValueError:
// positions not strictly ascending or out of range, a bitmask with bits past numel).
std::int64_t support_count(const Support& mask, std::int64_t numel);

// values[j] = weights[p_j] (rounded once to the values' dtype), and weights[p_j] = values[j].
void gather(const TensorView& weights, const Support& mask, const TensorView& values);
void scatter(const TensorView& weights, const Support& mask, const TensorView& values);

// The coordinates where |x| < threshold (below) or |x| > threshold (above), compared in float64;
// NaN is in neither. Planned by a counting pass, then written in position order.
class ThresholdSelection {
 public:
  ThresholdSelection(const TensorView& x, double threshold, bool below);
  std::int64_t nnz() const { return selected_before_.back(); }
  void write(const TensorView& indices) const;
  void write_bitmask(const TensorView& bitmask) const;

 private:
  TensorView x_;
  double threshold_;
  bool below_;
  std::vector<std::int64_t> selected_before_;  // per chunk of 2^16 positions, and the total
};

// The number of masked coordinates whose value is not finite.
std::int64_t count_nonfinite(const TensorView& values, const Support& mask);

// AdamW (torch.optim.AdamW's formulas, in its order of operations) on the masked coordinates of
// one parameter, in one pass: for each masked p with rank j,
//   param[p] *= 1 - lr * weight_decay
//   m[j] += (1 - beta1) * (grad[p] - m[j]);  v[j] = beta2 * v[j] + (1 - beta2) * grad[p]^2
//   param[p] -= lr / (1 - beta1^step) * m[j] / (sqrt(v[j]) / sqrt(1 - beta2^step) + eps)
// computed in float64 from the stored values, the moments rounded once to their dtype (float32 or
// float64) and the parameter once to its own. grad has the parameter's shape and dtype; m and v are
// (nnz,). Unmasked coordinates are not touched. Non-finite gradients propagate (check first with
// count_nonfinite to skip a step).
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  std::int64_t step = 1;  // this step's number, from 1 (bias corrections)
};
void masked_adam_step(const TensorView& param, const TensorView& grad, const Support& mask, const TensorView& exp_avg,
                      const TensorView& exp_avg_sq, const AdamOptions& options);

// param[p] = decay * param[p] + scale * z(seed, p) on the masked coordinates, computed in float64
// and rounded once. z(seed, p) is a standard normal that depends only on (seed, p): the same for
// any mask, chunking, thread count or device, regenerated on every call and never stored.
void masked_perturb(const TensorView& param, const Support& mask, std::uint64_t seed, double scale, double decay = 1.0);
// The z(seed, p) of masked_perturb.
double position_normal(std::uint64_t seed, std::int64_t position);

// Selective Synaptic Dampening (Foster et al. 2024), in place: where importance_forget >
// alpha * importance_retain, param *= min(lam * importance_retain / importance_forget, 1)
// (compared and computed in float64, rounded once). Importances are non-negative tensors of the
// parameter's shape, of one float dtype. Returns the number of coordinates selected.
std::int64_t ssd_dampen(const TensorView& param, const TensorView& importance_forget,
                        const TensorView& importance_retain, double alpha, double lam);

}  // namespace mlprims::sparse
