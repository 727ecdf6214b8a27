// The vectorized selection kernels (sparse/keep_kernels.hpp), every variant this CPU runs, against
// the scalar definitions of sparse/delta_source.hpp: the same keys, counts, bits and values, bit for
// bit, for every (stored, value) dtype pair, on data with signed zeros, infinities, NaN,
// subnormals and operands whose exponents are far apart.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/counter_random.hpp"
#include "core/float_elements.hpp"
#include "core/instruction_set.hpp"
#include "sparse/delta_source.hpp"
#include "sparse/keep_passes.hpp"

namespace {

using mlprims::detail::BFloat16;
using mlprims::detail::Float16;
using mlprims::sparse::detail::ChunkRule;
using mlprims::sparse::detail::DeltaSource;
using mlprims::sparse::detail::KeepKernels;
using Variant = const KeepKernels& (*)(int, int, bool);

std::vector<std::pair<const char*, Variant>> variants_this_cpu_runs() {
  namespace k = mlprims::sparse::detail;
  std::vector<std::pair<const char*, Variant>> variants = {{"baseline", k::baseline::keep_kernels}};
  const auto best = mlprims::detail::best_instruction_set();
  if (best != mlprims::detail::InstructionSet::kBaseline)
    variants.emplace_back("x86-64-v3", k::x86_64_v3::keep_kernels);
  if (best == mlprims::detail::InstructionSet::kX86_64_V4)
    variants.emplace_back("x86-64-v4", k::x86_64_v4::keep_kernels);
  return variants;
}

template <class T>
constexpr int dtype_index() {
  if constexpr (std::is_same_v<T, Float16>) return 0;
  if constexpr (std::is_same_v<T, BFloat16>) return 1;
  if constexpr (std::is_same_v<T, float>) return 2;
  if constexpr (std::is_same_v<T, double>) return 3;
}

template <class T>
std::uint64_t bits_of(T value) {
  mlprims::detail::MagnitudeKey<T> bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

// base and tuned: fine-tune-like deltas, unchanged entries, and the awkward values.
template <class T>
std::pair<std::vector<T>, std::vector<T>> awkward_pair(std::int64_t n, unsigned seed) {
  std::mt19937_64 random(seed);
  std::normal_distribution<double> normal;
  std::uniform_int_distribution<int> pick(0, 15);
  const double inf = std::numeric_limits<double>::infinity();
  const double specials[] = {0.0, -0.0, inf, -inf, std::nan(""), 1e-7, -3e-8, 6e4, 1e30, -1e-30, 1e-300, 5e-324};
  std::vector<T> base(static_cast<std::size_t>(n)), tuned(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const double b = normal(random);
    double t = b + 0.01 * normal(random);
    double bb = b;
    switch (pick(random)) {
      case 0:
        t = b;  // unchanged
        break;
      case 1:
        t = specials[random() % 12];
        break;
      case 2:
        bb = specials[random() % 12];
        break;
      case 3:
        t = b * 1e20;  // exponents far apart
        break;
      case 4:
        t = b * 1e-20;
        break;
      default:
        break;
    }
    base[static_cast<std::size_t>(i)] = mlprims::detail::round_from_double<T>(bb);
    tuned[static_cast<std::size_t>(i)] = mlprims::detail::round_from_double<T>(t);
  }
  return {base, tuned};
}

constexpr std::int64_t kBegin = 128, kEnd = 128 + 9001;  // spans of 4096 and a partial last block

template <class T, class V, bool kDelta>
void check_pair(const KeepKernels& kernels, const char* isa) {
  SCOPED_TRACE(std::string(isa) + " stored " + std::to_string(dtype_index<T>()) + " value " +
               std::to_string(dtype_index<V>()) + (kDelta ? " delta" : " single"));
  auto [base, tuned] = awkward_pair<T>(kEnd, 7u + dtype_index<T>() * 5u + dtype_index<V>());
  const DeltaSource<T, V> delta{base.data(), tuned.data()};
  auto key = [&](std::int64_t i) -> std::uint64_t {
    if constexpr (kDelta) return delta.key(i);
    return mlprims::detail::magnitude_key(tuned[static_cast<std::size_t>(i)]);
  };
  auto value_bits = [&](std::int64_t i) -> std::uint64_t {
    if constexpr (kDelta) return bits_of(delta.value(i));
    return bits_of(tuned[static_cast<std::size_t>(i)]);
  };
  const void* base_data = kDelta ? base.data() : nullptr;
  std::vector<std::uint64_t> keys;
  for (std::int64_t i = kBegin; i < kEnd; ++i) keys.push_back(key(i));
  std::vector<std::uint64_t> sorted = keys;
  std::sort(sorted.begin(), sorted.end());

  const std::uint64_t all_ones = ~std::uint64_t{0};
  const std::uint64_t largest_valid = mlprims::detail::infinity_key<V>();
  // Bracket passes: a middle bracket, one of a single key, everything, and past every key.
  for (auto [low, high] : {std::pair{sorted[3000], sorted[6000]}, std::pair{sorted[4500], sorted[4500]},
                           std::pair{std::uint64_t{0}, all_ones}, std::pair{all_ones, all_ones}}) {
    mlprims::detail::BracketCounts expected;
    std::vector<std::uint64_t> expected_inside, inside;
    for (std::uint64_t k : keys) {
      expected.above += k > high;
      expected.at_high += k == high;
      expected.at_low += low < high && k == low;
      expected.invalid += k > largest_valid;
      if (k > low && k < high) {
        ++expected.within;
        expected_inside.push_back(k);
      }
    }
    mlprims::sparse::detail::AppendToVector sink(inside);
    const auto got = kernels.count_bracket(base_data, tuned.data(), kBegin, kEnd, low, high, largest_valid, true, sink);
    EXPECT_EQ(got.above, expected.above);
    EXPECT_EQ(got.at_high, expected.at_high);
    EXPECT_EQ(got.at_low, expected.at_low);
    EXPECT_EQ(got.within, expected.within);
    EXPECT_EQ(got.invalid, expected.invalid);
    EXPECT_EQ(inside, expected_inside);
  }

  // Write passes: magnitude with some of the ties at the threshold taken, or none at all.
  std::vector<std::pair<ChunkRule, std::vector<bool>>> cases;
  {
    const std::uint64_t threshold = sorted[sorted.size() / 2];
    std::int64_t ties = 0;
    for (std::uint64_t k : keys) ties += k == threshold;
    ChunkRule rule;
    rule.threshold = threshold;
    rule.ties_left = ties / 2;
    std::vector<bool> kept;
    std::int64_t seen = 0;
    for (std::uint64_t k : keys) kept.push_back(k > threshold || (k == threshold && seen++ < rule.ties_left));
    cases.emplace_back(rule, kept);
    ChunkRule nothing;
    nothing.threshold = all_ones;
    nothing.ties_left = 5;
    cases.emplace_back(nothing, std::vector<bool>(keys.size(), false));
  }
  if constexpr (kDelta) {
    for (double atol : {0.0, 1e-3}) {
      ChunkRule rule;
      rule.kind = ChunkRule::Kind::kChanged;
      rule.atol = atol;
      std::vector<bool> kept;
      for (std::int64_t i = kBegin; i < kEnd; ++i)
        kept.push_back(atol == 0.0 ? delta.bits_differ(i) : !(std::fabs(delta.exact(i)) <= atol));
      cases.emplace_back(rule, kept);
    }
    ChunkRule random_rule;
    random_rule.kind = ChunkRule::Kind::kRandom;
    random_rule.seed = 42;
    random_rule.density = 0.3;
    random_rule.value_scale = 1.0 / 0.3;
    std::vector<bool> kept;
    for (std::int64_t i = kBegin; i < kEnd; ++i)
      kept.push_back(delta.bits_differ(i) &&
                     mlprims::detail::counter_uniform(42, static_cast<std::uint64_t>(i)) < random_rule.density);
    cases.emplace_back(random_rule, kept);
  }
  for (const auto& [rule, kept] : cases) {
    SCOPED_TRACE("rule kind " + std::to_string(static_cast<int>(rule.kind)) + " atol " + std::to_string(rule.atol));
    std::vector<std::uint64_t> expected_words((kEnd - kBegin + 63) / 64, 0), expected_values;
    for (std::int64_t i = kBegin; i < kEnd; ++i) {
      if (!kept[static_cast<std::size_t>(i - kBegin)]) continue;
      expected_words[static_cast<std::size_t>((i - kBegin) / 64)] |= std::uint64_t{1} << ((i - kBegin) % 64);
      if (rule.kind == ChunkRule::Kind::kRandom) {
        expected_values.push_back(bits_of(mlprims::detail::round_from_double<V>(delta.exact(i) * rule.value_scale)));
      } else {
        expected_values.push_back(value_bits(i));
      }
    }
    if (rule.kind != ChunkRule::Kind::kMagnitude) {
      EXPECT_EQ(kernels.count_kept(base_data, tuned.data(), kBegin, kEnd, rule),
                static_cast<std::int64_t>(expected_values.size()));
    }
    const auto capacity = static_cast<std::int64_t>(expected_values.size());
    std::vector<std::uint64_t> words(expected_words.size(), 0xdead);
    std::vector<V> values(static_cast<std::size_t>(capacity) + 1);
    const V sentinel = mlprims::detail::round_from_double<V>(-123.0);
    values.back() = sentinel;
    const std::int64_t count =
        kernels.write_kept(base_data, tuned.data(), kBegin, kEnd, rule, words.data(), values.data(), capacity);
    EXPECT_EQ(count, capacity);
    EXPECT_EQ(words, expected_words);
    std::vector<std::uint64_t> got_values;
    for (std::int64_t j = 0; j < capacity; ++j) got_values.push_back(bits_of(values[static_cast<std::size_t>(j)]));
    EXPECT_EQ(got_values, expected_values);
    EXPECT_EQ(bits_of(values.back()), bits_of(sentinel)) << "wrote past its capacity";
    // A smaller capacity: the count is still all kept, nothing is written past the capacity.
    if (capacity > 2) {
      values.assign(values.size(), sentinel);
      EXPECT_EQ(kernels.write_kept(base_data, tuned.data(), kBegin, kEnd, rule, words.data(), values.data(), 2),
                capacity);
      EXPECT_EQ(bits_of(values[2]), bits_of(sentinel));
    }
  }
}

template <class T>
void check_stored(const std::pair<const char*, Variant>& variant) {
  const auto& [isa, kernels_for] = variant;
  constexpr int s = dtype_index<T>();
  check_pair<T, Float16, true>(kernels_for(s, 0, true), isa);
  check_pair<T, BFloat16, true>(kernels_for(s, 1, true), isa);
  check_pair<T, float, true>(kernels_for(s, 2, true), isa);
  check_pair<T, double, true>(kernels_for(s, 3, true), isa);
  check_pair<T, T, false>(kernels_for(s, s, false), isa);
}

TEST(KeepKernels, EveryVariantMatchesTheScalarDefinitionsForEveryDtypePair) {
  for (const auto& variant : variants_this_cpu_runs()) {
    check_stored<Float16>(variant);
    check_stored<BFloat16>(variant);
    check_stored<float>(variant);
    check_stored<double>(variant);
  }
}

}  // namespace
