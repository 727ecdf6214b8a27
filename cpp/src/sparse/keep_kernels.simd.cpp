// The kernels of keep_kernels.hpp for one instruction set (MLPRIMS_ISA names the namespace).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "core/counter_random.hpp"
#include "core/float_elements.hpp"
#include "core/half_float.hpp"
#include "sparse/keep_kernels.hpp"

#ifndef MLPRIMS_ISA
#error "compile with -DMLPRIMS_ISA=<namespace>"
#endif

namespace mlprims::sparse::detail::MLPRIMS_ISA {

namespace {

using mlprims::detail::BFloat16;
using mlprims::detail::BracketCounts;
using mlprims::detail::Float16;
using mlprims::detail::MagnitudeKey;
using mlprims::detail::same_bits;
using mlprims::detail::storage_bits;

constexpr int kBlock = 64;

// |value|'s bits read as a signed integer: magnitude keys never have the top bit set, and signed
// comparisons vectorize on every instruction set (unsigned 64-bit ones do not on AVX2).
template <class V>
inline std::make_signed_t<MagnitudeKey<V>> signed_key(V value) {
  return static_cast<std::make_signed_t<MagnitudeKey<V>>>(mlprims::detail::magnitude_key(value));
}

// A bound on keys in the signed key type; bounds past every key clamp to the largest key (that of
// a NaN: a comparison with it may then count wrongly, but any NaN also counts as invalid in the
// same pass, and the selection is refused).
template <class V>
inline std::make_signed_t<MagnitudeKey<V>> clamp_key(std::uint64_t bound) {
  using Signed = std::make_signed_t<MagnitudeKey<V>>;
  constexpr auto kLargest = static_cast<std::uint64_t>(std::numeric_limits<Signed>::max());
  return static_cast<Signed>(bound < kLargest ? bound : kLargest);
}

// tuned - base in float64 (delta_source.hpp's exact).
template <class T>
inline double exact_delta(const T* base, const T* tuned, std::int64_t i) {
  return mlprims::detail::to_double(tuned[i]) - mlprims::detail::to_double(base[i]);
}

// x86 returns the first operand's NaN from a subtraction of two NaNs, as the double path does
// after widening; ARM prefers a signalling operand, so there the float shortcut below would keep
// another NaN's payload.
#if defined(__x86_64__) || defined(__i386__)
constexpr bool kFloatDeltaShortcut = true;
#else
constexpr bool kFloatDeltaShortcut = false;
#endif

// The stored value of position i: the delta rounded once to V, or the entry itself.
// A float delta of 16-bit entries is one float subtraction, which rounds the exact difference
// once, as the double subtraction and the rounding to float of delta_source.hpp do: the double
// difference is exact unless the operands' exponents are more than 45 apart, and then both give
// the larger operand, far from any float rounding boundary. (Half the vector width of doubles.)
template <class T, class V, bool kDelta>
inline V value_at(const T* base, const T* tuned, std::int64_t i) {
  if constexpr (!kDelta) {
    static_assert(std::is_same_v<T, V>);
    return tuned[i];
  } else if constexpr (sizeof(T) == 2 && std::is_same_v<V, float> && kFloatDeltaShortcut) {
    return mlprims::detail::to_float(tuned[i]) - mlprims::detail::to_float(base[i]);
  } else {
    return mlprims::detail::round_from_double<V>(exact_delta(base, tuned, i));
  }
}

// 64 flags (bytes 0 or 1) as the bits of a word: one byte comparison with AVX-512, two byte
// masks with AVX2; else each multiply gathers 8 bytes' low bits into one byte (the products of
// distinct bytes land on distinct bits, so nothing carries).
inline std::uint64_t pack_flags(const std::uint8_t* flags) {
#if defined(__AVX512BW__)
  return _mm512_test_epi8_mask(_mm512_loadu_si512(flags), _mm512_set1_epi8(1));
#elif defined(__AVX2__)
  auto top_bits = [](const std::uint8_t* bytes) {  // bit 0 of each byte moved to bit 7
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bytes));
    return static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_slli_epi16(v, 7)));
  };
  return top_bits(flags) | (std::uint64_t{top_bits(flags + 32)} << 32);
#else
  std::uint64_t word = 0;
  for (int byte = 0; byte < 8; ++byte) {
    std::uint64_t eight;
    std::memcpy(&eight, flags + 8 * byte, sizeof eight);
    word |= ((eight * 0x0102040810204080ull) >> 56) << (8 * byte);
  }
  return word;
#endif
}

template <class Visit>
inline void for_each_bit(std::uint64_t word, const Visit& visit) {
  while (word != 0) {
    visit(__builtin_ctzll(word));
    word &= word - 1;
  }
}

#if defined(__AVX512F__)
// AVX-512 compress and masked store of 64-bit or 32-bit lanes.
template <int kLaneBytes>
struct Compress;
template <>
struct Compress<8> {
  using Mask = __mmask8;
  static __m512i packed(Mask select, __m512i lanes) { return _mm512_maskz_compress_epi64(select, lanes); }
  static void store(void* out, Mask first, __m512i lanes) { _mm512_mask_storeu_epi64(out, first, lanes); }
};
template <>
struct Compress<4> {
  using Mask = __mmask16;
  static __m512i packed(Mask select, __m512i lanes) { return _mm512_maskz_compress_epi32(select, lanes); }
  static void store(void* out, Mask first, __m512i lanes) { _mm512_mask_storeu_epi32(out, first, lanes); }
};
#endif

// Stores values[j] for the set bits j of `kept` at out[slot...] in order, and returns the next
// slot; nothing is stored at or past `capacity`. With AVX-512 a compress per 8 or 16 values
// replaces the loop over bits, whose exit mispredicts once a block.
template <class V>
inline std::int64_t store_kept(std::uint64_t kept, const MagnitudeKey<V>* values, V* out, std::int64_t slot,
                               std::int64_t capacity) {
#if defined(__AVX512F__)
  if constexpr (sizeof(V) == 8 || sizeof(V) == 4) {
    if (slot + __builtin_popcountll(kept) <= capacity) {
      using C = Compress<sizeof(V)>;
      constexpr int kLanes = 64 / sizeof(V);
      for (int part = 0; part < kBlock / kLanes; ++part) {
        const auto select = static_cast<typename C::Mask>(kept >> (kLanes * part));
        const __m512i packed = C::packed(select, _mm512_loadu_si512(values + kLanes * part));
        const int taken = __builtin_popcount(select);
        C::store(out + slot, static_cast<typename C::Mask>((1u << taken) - 1u), packed);
        slot += taken;
      }
      return slot;
    }
  }
#endif
  for_each_bit(kept, [&](int j) {
    if (slot < capacity) std::memcpy(out + slot, values + j, sizeof(V));
    ++slot;
  });
  return slot;
}

template <class T, class V, bool kDelta>
BracketCounts count_bracket(const void* base_data, const void* tuned_data, std::int64_t begin, std::int64_t end,
                            std::uint64_t low, std::uint64_t high, std::uint64_t largest_valid, bool store,
                            KeySink& inside) {
  const auto* base = static_cast<const T*>(base_data);
  const auto* tuned = static_cast<const T*>(tuned_data);
  using Signed = std::make_signed_t<MagnitudeKey<V>>;
  const Signed low_key = clamp_key<V>(low), high_key = clamp_key<V>(high), valid_key = clamp_key<V>(largest_valid);
  // An end past every key (clamped) has no key equal to it; a bracket of one key has one end.
  const bool count_high = high == static_cast<std::uint64_t>(high_key);
  const bool count_low = low < high && low == static_cast<std::uint64_t>(low_key);
  auto key_at = [&](std::int64_t i) { return signed_key(value_at<T, V, kDelta>(base, tuned, i)); };
  BracketCounts counts;
  // One vector loop over a span counts and flags; the keys inside (about 1% of them) are then
  // recomputed one by one from the flags, which costs less than storing every key.
  constexpr int kSpan = 4096;
  alignas(64) std::uint8_t within[kSpan];
  std::uint64_t out[kSpan + 1];  // + 1: the harmless stores below
  for (std::int64_t start = begin; start < end; start += kSpan) {
    const int count = static_cast<int>(std::min<std::int64_t>(kSpan, end - start));
    // Counters as wide as the keys: the comparisons' lanes add up without conversions (a span
    // fits even 16-bit counters).
    Signed above = 0, at_high = 0, at_low = 0, invalid = 0, inside_count = 0;
#pragma omp simd reduction(+ : above, at_high, at_low, invalid, inside_count)
    for (int j = 0; j < count; ++j) {
      const Signed key = key_at(start + j);
      above += key > high_key;
      at_high += (key == high_key) & count_high;
      at_low += (key == low_key) & count_low;
      invalid += key > valid_key;
      const bool in = (key > low_key) & (key < high_key);
      within[j] = in;
      inside_count += in;
    }
    counts.above += above;
    counts.at_high += at_high;
    counts.at_low += at_low;
    counts.invalid += invalid;
    counts.within += inside_count;
    if (!store || inside_count == 0) continue;
    if (count % kBlock != 0) std::memset(within + count, 0, static_cast<std::size_t>(kBlock - count % kBlock));
    int taken = 0;
    for (int w = 0; w < (count + kBlock - 1) / kBlock; ++w) {
      std::uint64_t word = pack_flags(within + kBlock * w);
      const std::int64_t first = start + kBlock * w;
      const int last = std::min(kBlock, count - kBlock * w) - 1;
      // The first two without a branch: a block holds about one, and a loop whose trip count is
      // 0, 1 or 2 at random mispredicts once a block, which cost as much as the block's arithmetic.
      for (int r = 0; r < 2; ++r) {
        const int j = std::min(last, __builtin_ctzll(word | (std::uint64_t{1} << 63)));  // word = 0: a harmless read
        out[taken] = static_cast<std::uint64_t>(key_at(first + j));
        taken += word != 0;
        word &= word - 1;
      }
      for_each_bit(word, [&](int j) { out[taken++] = static_cast<std::uint64_t>(key_at(first + j)); });
    }
    inside.append(out, taken);
  }
  return counts;
}

// Whether the rule keeps position i (kChanged, kRandom).
template <ChunkRule::Kind kKind, class T>
inline bool rule_keeps(const T* base, const T* tuned, std::int64_t i, const ChunkRule& rule) {
  if constexpr (kKind == ChunkRule::Kind::kChanged) {
    // Both tests and a select by the loop-invariant atol == 0, not a branch: the loop vectorizes.
    const bool bits_differ = !same_bits(tuned[i], base[i]);
    const bool beyond_atol = !(std::fabs(exact_delta(base, tuned, i)) <= rule.atol);
    const bool bitwise = rule.atol == 0.0;
    return (bits_differ & bitwise) | (beyond_atol & !bitwise);
  } else {
    return !same_bits(tuned[i], base[i]) &
           (mlprims::detail::counter_uniform(rule.seed, static_cast<std::uint64_t>(i)) < rule.density);
  }
}

template <ChunkRule::Kind kKind, class T>
std::int64_t count_rule(const T* base, const T* tuned, std::int64_t begin, std::int64_t end, const ChunkRule& rule) {
  std::int64_t kept = 0;
  if (kKind == ChunkRule::Kind::kChanged && rule.atol == 0.0) {
#pragma omp simd reduction(+ : kept)
    for (std::int64_t i = begin; i < end; ++i) kept += !same_bits(tuned[i], base[i]);
  } else {
#pragma omp simd reduction(+ : kept)
    for (std::int64_t i = begin; i < end; ++i) kept += rule_keeps<kKind>(base, tuned, i, rule);
  }
  return kept;
}

template <class T>
std::int64_t count_kept(const void* base, const void* tuned, std::int64_t begin, std::int64_t end,
                        const ChunkRule& rule) {
  const auto* b = static_cast<const T*>(base);
  const auto* t = static_cast<const T*>(tuned);
  if (rule.kind == ChunkRule::Kind::kChanged) return count_rule<ChunkRule::Kind::kChanged>(b, t, begin, end, rule);
  return count_rule<ChunkRule::Kind::kRandom>(b, t, begin, end, rule);
}

template <ChunkRule::Kind kKind, class T, class V, bool kDelta>
std::int64_t write_rule(const T* base, const T* tuned, std::int64_t begin, std::int64_t end, const ChunkRule& rule,
                        std::uint64_t* words, V* out, std::int64_t capacity) {
  using Signed = std::make_signed_t<MagnitudeKey<V>>;
  const Signed threshold = clamp_key<V>(rule.threshold);
  // A threshold past every key keeps nothing (k = 0); clamped, it would tie with a NaN's key.
  const bool none = rule.threshold > static_cast<std::uint64_t>(threshold);
  std::int64_t ties_left = rule.ties_left;
  std::int64_t slot = 0;
  for (std::int64_t start = begin; start < end; start += kBlock) {
    const int count = static_cast<int>(std::min<std::int64_t>(kBlock, end - start));
    MagnitudeKey<V> values[kBlock];  // storage bits: a struct-typed array would not vectorize
    std::uint8_t kept_flags[kBlock], tie_flags[kBlock];
    if (count < kBlock) {  // the last block: lanes past it are loaded (not kept) by store_kept
      std::memset(values, 0, sizeof values);
      std::memset(kept_flags, 0, sizeof kept_flags);
      std::memset(tie_flags, 0, sizeof tie_flags);
    }
    std::uint64_t kept;
    if constexpr (kKind == ChunkRule::Kind::kMagnitude) {
#pragma omp simd
      for (int j = 0; j < count; ++j) {
        const V value = value_at<T, V, kDelta>(base, tuned, start + j);
        const Signed key = signed_key(value);
        values[j] = storage_bits(value);
        kept_flags[j] = key > threshold;
        tie_flags[j] = key == threshold;
      }
      kept = pack_flags(kept_flags);
      std::uint64_t ties = none ? 0 : pack_flags(tie_flags);
      const auto tie_count = static_cast<std::int64_t>(__builtin_popcountll(ties));
      if (tie_count <= ties_left) {
        kept |= ties;
        ties_left -= tie_count;
      } else {
        for (; ties_left > 0; --ties_left) {  // the first ties in position order: the lowest bits
          kept |= ties & (~ties + 1);
          ties &= ties - 1;
        }
      }
    } else {
#pragma omp simd
      for (int j = 0; j < count; ++j) {
        const std::int64_t i = start + j;
        kept_flags[j] = rule_keeps<kKind>(base, tuned, i, rule);
        if constexpr (kKind == ChunkRule::Kind::kRandom) {
          values[j] =
              storage_bits(mlprims::detail::round_from_double<V>(exact_delta(base, tuned, i) * rule.value_scale));
        } else {
          values[j] = storage_bits(value_at<T, V, true>(base, tuned, i));
        }
      }
      kept = pack_flags(kept_flags);
    }
    words[(start - begin) / kBlock] = kept;
    slot = store_kept(kept, values, out, slot, capacity);
  }
  return slot;
}

template <class T, class V, bool kDelta>
std::int64_t write_kept(const void* base_data, const void* tuned_data, std::int64_t begin, std::int64_t end,
                        const ChunkRule& rule, std::uint64_t* words, void* values, std::int64_t capacity) {
  const auto* base = static_cast<const T*>(base_data);
  const auto* tuned = static_cast<const T*>(tuned_data);
  auto* out = static_cast<V*>(values);
  using Kind = ChunkRule::Kind;
  if constexpr (kDelta) {
    if (rule.kind == Kind::kChanged) {
      return write_rule<Kind::kChanged, T, V, true>(base, tuned, begin, end, rule, words, out, capacity);
    }
    if (rule.kind == Kind::kRandom) {
      return write_rule<Kind::kRandom, T, V, true>(base, tuned, begin, end, rule, words, out, capacity);
    }
  }
  return write_rule<Kind::kMagnitude, T, V, kDelta>(base, tuned, begin, end, rule, words, out, capacity);
}

template <class T, class V, bool kDelta>
constexpr KeepKernels kernels_of() {
  return {&count_bracket<T, V, kDelta>, kDelta ? &count_kept<T> : nullptr, &write_kept<T, V, kDelta>};
}

template <class T>
const KeepKernels& kernels_for_stored(int value, bool delta) {
  static constexpr KeepKernels kDeltas[4] = {kernels_of<T, Float16, true>(), kernels_of<T, BFloat16, true>(),
                                             kernels_of<T, float, true>(), kernels_of<T, double, true>()};
  static constexpr KeepKernels kEntries = kernels_of<T, T, false>();
  return delta ? kDeltas[value] : kEntries;
}

}  // namespace

const KeepKernels& keep_kernels(int stored, int value, bool delta) {
  switch (stored) {
    case 0:
      return kernels_for_stored<Float16>(value, delta);
    case 1:
      return kernels_for_stored<BFloat16>(value, delta);
    case 2:
      return kernels_for_stored<float>(value, delta);
    default:
      return kernels_for_stored<double>(value, delta);
  }
}

}  // namespace mlprims::sparse::detail::MLPRIMS_ISA
