// The hot loops of a tensor-level selection (extract, topk_abs), one chunk of positions at a
// time, compiled once per instruction set (keep_kernels.simd.cpp) and picked at run time.
//
// Each kernel reads a block of 64 positions into registers, computes their stored values and
// magnitude keys with vector instructions, packs the per-position decisions into a 64-bit word,
// and touches individual positions only through the set bits of that word. So a pass costs a
// few instructions per position plus a few per kept one, instead of a branch-free but scalar
// read-modify-write per position. The results are those of the scalar definitions
// (sparse/delta_source.hpp) bit for bit: the kernels use the same conversions (the one multiply-add
// a compiler may form, in the float16 rounding, has an exact product).
#pragma once

#include <cstdint>

#include "core/exact_select.hpp"
#include "mlprims/core/tensor.hpp"

namespace mlprims::sparse::detail {

// What a pass keeps. kMagnitude: keys above `threshold`, then the first `ties_left` keys equal
// to it (in position order); kChanged: bits differ (atol = 0) or |delta| > atol; kRandom: bits
// differ and counter_uniform(seed, i) < density, the value scaled by `value_scale`.
struct ChunkRule {
  enum class Kind { kMagnitude, kChanged, kRandom } kind = Kind::kMagnitude;
  std::uint64_t threshold = 0;
  std::int64_t ties_left = 0;
  double atol = 0.0;
  std::uint64_t seed = 0;
  double density = 1.0;
  double value_scale = 1.0;
};

// Where a bracket pass puts the keys strictly inside its bracket. It is implemented outside the
// per-instruction-set files on purpose: a standard-library template instantiated in them (a
// vector's growth, say) would be emitted there as a weak copy compiled for AVX-512, and the linker
// keeps one copy of each for the whole library.
class KeySink {
 public:
  virtual void append(const std::uint64_t* keys, std::int64_t count) = 0;

 protected:
  ~KeySink() = default;
};

// The kernels for one (stored dtype, value dtype) pair. `base` is null for a single tensor
// (topk_abs), whose values are its own entries. Positions are [begin, end) with begin a multiple
// of 64.
struct KeepKernels {
  // A bracket pass (core/exact_select.hpp's bracket_counter) over the values' magnitude keys.
  mlprims::detail::BracketCounts (*count_bracket)(const void* base, const void* tuned, std::int64_t begin,
                                                  std::int64_t end, std::uint64_t low, std::uint64_t high,
                                                  std::uint64_t largest_valid, bool store, KeySink& inside);
  // How many positions the rule keeps (kChanged, kRandom).
  std::int64_t (*count_kept)(const void* base, const void* tuned, std::int64_t begin, std::int64_t end,
                             const ChunkRule& rule);
  // The kept positions as bits (word w holds positions begin + 64w ...; (end - begin + 63) / 64
  // words) and their values, in position order, to values[0 .. capacity); returns the count.
  std::int64_t (*write_kept)(const void* base, const void* tuned, std::int64_t begin, std::int64_t end,
                             const ChunkRule& rule, std::uint64_t* words, void* values, std::int64_t capacity);
};

// For the best instruction set of this CPU. `delta` false: values are the entries of `tuned`
// (stored must equal value); count_kept is null then.
const KeepKernels& keep_kernels(DType stored, DType value, bool delta);

// The variants; dtypes as indices in the order float16, bfloat16, float32, float64.
#define MLPRIMS_DECLARE_KEEP_KERNELS(ISA)                             \
  namespace ISA {                                                     \
  const KeepKernels& keep_kernels(int stored, int value, bool delta); \
  }
MLPRIMS_DECLARE_KEEP_KERNELS(baseline)
MLPRIMS_DECLARE_KEEP_KERNELS(x86_64_v3)
MLPRIMS_DECLARE_KEEP_KERNELS(x86_64_v4)
#undef MLPRIMS_DECLARE_KEEP_KERNELS

}  // namespace mlprims::sparse::detail
