// The building blocks of sparse (float16/bfloat16 rounding, exact selection, counter-based
// random numbers) against independent references, and the C++ API of mlprims/sparse.hpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "core/counter_random.hpp"
#include "core/exact_select.hpp"
#include "core/half_float.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/core/threading.hpp"
#include "mlprims/sparse.hpp"

namespace {

using mlprims::detail::BFloat16;
using mlprims::detail::Float16;
using mlprims::detail::round_from_double;
using mlprims::detail::to_double;

template <class H>
H from_bits(std::uint16_t bits) {
  return H{bits};
}

template <class H>
bool is_nan_bits(std::uint16_t bits) {
  return std::isnan(to_double(H{bits}));
}

// Every finite pattern converts to float and back unchanged; NaN stays NaN.
template <class H>
void check_round_trips() {
  for (std::uint32_t bits = 0; bits <= 0xffffu; ++bits) {
    const H h{static_cast<std::uint16_t>(bits)};
    const double value = to_double(h);
    const H back = round_from_double<H>(value);
    if (std::isnan(value)) {
      EXPECT_TRUE(std::isnan(to_double(back)));
    } else {
      ASSERT_EQ(back.bits, h.bits) << "pattern " << bits;
    }
  }
}

// Between each pair of neighbouring positive finite values: the exact midpoint goes to the even
// one, anything off the midpoint (by far less than float's precision) to the nearer one.
template <class H>
void check_midpoints(std::uint16_t largest_finite) {
  for (std::uint16_t bits = 0; bits < largest_finite; ++bits) {
    const double low = to_double(H{bits}), high = to_double(H{static_cast<std::uint16_t>(bits + 1)});
    const double mid = 0.5 * (low + high);
    const std::uint16_t even = (bits & 1u) ? static_cast<std::uint16_t>(bits + 1) : bits;
    ASSERT_EQ(round_from_double<H>(mid).bits, even) << "midpoint after pattern " << bits;
    const double nudge = (high - low) * 0x1p-30;  // invisible to a float rounding of mid
    ASSERT_EQ(round_from_double<H>(mid + nudge).bits, bits + 1) << "above the midpoint after " << bits;
    ASSERT_EQ(round_from_double<H>(mid - nudge).bits, bits) << "below the midpoint after " << bits;
    ASSERT_EQ(round_from_double<H>(-(mid + nudge)).bits, (bits + 1) | 0x8000u);
  }
}

TEST(HalfFloat, EveryPatternRoundTrips) {
  check_round_trips<BFloat16>();
  check_round_trips<Float16>();
}

TEST(HalfFloat, RoundsOnceToNearestEven) {
  check_midpoints<BFloat16>(0x7f7f);
  check_midpoints<Float16>(0x7bff);
  // Overflow, infinities, NaN and signed zero.
  EXPECT_EQ(round_from_double<Float16>(65520.0).bits, 0x7c00);
  EXPECT_EQ(round_from_double<Float16>(65519.99).bits, 0x7bff);
  EXPECT_EQ(round_from_double<BFloat16>(1e39).bits, 0x7f80);
  EXPECT_EQ(round_from_double<BFloat16>(-INFINITY).bits, 0xff80);
  EXPECT_EQ(round_from_double<Float16>(-0.0).bits, 0x8000);
  EXPECT_TRUE(std::isnan(to_double(round_from_double<BFloat16>(NAN))));
  EXPECT_EQ(round_from_double<Float16>(0x1p-25).bits, 0);         // half the smallest subnormal: to even
  EXPECT_EQ(round_from_double<Float16>(0x1.000001p-25).bits, 1);  // just above it
}

#if defined(__FLT16_MAX__)
TEST(HalfFloat, Float16MatchesTheCompilersConversion) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> exponent(-28.0, 17.0);
  for (int i = 0; i < 200000; ++i) {
    const double value = std::ldexp(1.0 + std::generate_canonical<double, 53>(rng), static_cast<int>(exponent(rng))) *
                         ((i & 1) ? -1.0 : 1.0);
    const _Float16 reference = static_cast<_Float16>(value);
    std::uint16_t bits;
    std::memcpy(&bits, &reference, sizeof bits);
    ASSERT_EQ(round_from_double<Float16>(value).bits, bits) << value;
  }
}
#endif

TEST(CounterRandom, IsTheSplitMix64StreamAndUniform) {
  // The reference stream: SplitMix64 with state seed, advanced by the golden gamma.
  std::uint64_t state = 12345;
  for (std::uint64_t i = 0; i < 100; ++i) {
    state += mlprims::detail::kSplitMixGamma;
    EXPECT_EQ(mlprims::detail::counter_bits(12345, i), mlprims::detail::splitmix64_mix(state));
  }
  double sum = 0.0;
  const int n = 1000000;
  for (int i = 0; i < n; ++i) sum += mlprims::detail::counter_uniform(7, static_cast<std::uint64_t>(i));
  EXPECT_NEAR(sum / n, 0.5, 5 * std::sqrt(1.0 / 12 / n));
}

// The positions of the k largest keys (lower position first among equal keys), by sorting.
std::vector<std::int64_t> sorted_largest(const std::vector<std::uint64_t>& keys, std::int64_t k) {
  std::vector<std::int64_t> order(keys.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return keys[a] > keys[b]; });
  order.resize(static_cast<std::size_t>(k));
  std::sort(order.begin(), order.end());
  return order;
}

std::vector<std::int64_t> selected(const std::vector<std::uint64_t>& keys, std::int64_t k, int key_bits) {
  const auto n = static_cast<std::int64_t>(keys.size());
  const auto selection = mlprims::detail::select_largest(
      n, k, key_bits, ~std::uint64_t{0}, [&](std::int64_t i) { return keys[static_cast<std::size_t>(i)]; });
  std::vector<std::int64_t> positions;
  for (std::int64_t c = 0; c < mlprims::detail::select_chunk_count(n); ++c) {
    EXPECT_EQ(static_cast<std::int64_t>(positions.size()), selection.selected_before[static_cast<std::size_t>(c)]);
    std::int64_t ties = selection.ties_before[static_cast<std::size_t>(c)];
    for (std::int64_t i = c * mlprims::detail::kSelectChunk; i < std::min(n, (c + 1) * mlprims::detail::kSelectChunk);
         ++i) {
      if (selection.keeps(keys[static_cast<std::size_t>(i)], ties)) positions.push_back(i);
    }
  }
  EXPECT_EQ(static_cast<std::int64_t>(positions.size()), selection.selected_before.back());
  return positions;
}

TEST(ExactSelect, EqualsSortingWithTiesToTheLowerPosition) {
  std::mt19937_64 rng(3);
  const std::int64_t n = 300007;
  for (int key_bits : {16, 32, 64}) {
    for (std::uint64_t distinct : {std::uint64_t{1}, std::uint64_t{7}, std::uint64_t{5000}, ~std::uint64_t{0}}) {
      std::vector<std::uint64_t> keys(static_cast<std::size_t>(n));
      const std::uint64_t mask = key_bits == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << key_bits) - 1;
      for (auto& key : keys)
        key = distinct == ~std::uint64_t{0} ? (rng() & mask) : (rng() % distinct) * (mask / distinct);
      for (std::int64_t k : {std::int64_t{1}, std::int64_t{1000}, n / 2, n - 1, n}) {
        const auto expected = sorted_largest(keys, k);
        for (int threads : {1, 2}) {
          mlprims::set_num_threads(threads);
          ASSERT_EQ(selected(keys, k, key_bits), expected) << key_bits << " bits, " << distinct << " values, k " << k;
        }
      }
    }
  }
}

// Above 2^20 keys the bracket comes from a sample; keys that hide from the sample (large ones at
// positions the sample skips) make it miss, and the radix passes take over.
TEST(ExactSelect, SampledBracketAndItsFallbackEqualSorting) {
  std::mt19937_64 rng(5);
  const std::int64_t n = (std::int64_t{1} << 21) + 13;
  const std::int64_t stride = n / (std::int64_t{1} << 16);
  for (int variant = 0; variant < 4; ++variant) {
    std::vector<std::uint64_t> keys(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      const std::uint64_t r = rng();
      auto& key = keys[static_cast<std::size_t>(i)];
      switch (variant) {
        case 0:
          key = r >> 1;
          break;  // distinct 63-bit keys
        case 1:
          key = (r % 7) << 40;
          break;  // seven values: huge ties
        case 2:
          key = i % stride == 0 ? 1000 + (r % 1000) : r % 1000;
          break;  // the sample sees only the large
        default:
          key = 42;
          break;  // one value
      }
    }
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return keys[a] > keys[b]; });
    for (std::int64_t k : {std::int64_t{1}, std::int64_t{777}, n / 3, n - 5, n}) {
      std::vector<std::int64_t> expected(order.begin(), order.begin() + k);
      std::sort(expected.begin(), expected.end());
      for (int threads : {1, 2}) {
        mlprims::set_num_threads(threads);
        ASSERT_EQ(selected(keys, k, 64), expected) << "variant " << variant << ", k " << k << ", threads " << threads;
      }
    }
  }
}

// Below 2^20 keys the radix passes choose the bracket. Here it holds 74,600 keys, all in the
// chunks of the second of two threads, more than half of n: a per-thread share of a store limit
// used to refuse them, and the selection came back empty (nnz = k, nothing written).
TEST(ExactSelect, LastRadixBracketHeldByOneThreadEqualsSorting) {
  const std::int64_t n = 149000, split = 74400;
  std::vector<std::uint64_t> keys(static_cast<std::size_t>(n), 0x3f000000u);  // 0.5f
  for (std::int64_t i = split; i < n; ++i)
    keys[static_cast<std::size_t>(i)] = 0x3f800000u + 1 + static_cast<std::uint64_t>((i - split) % 65534);
  for (std::int64_t k : {std::int64_t{100}, std::int64_t{50000}, n - split + 7}) {
    const auto expected = sorted_largest(keys, k);
    for (int threads : {1, 2}) {
      mlprims::set_num_threads(threads);
      ASSERT_EQ(selected(keys, k, 32), expected) << "k " << k << ", threads " << threads;
    }
  }
}

TEST(SparseApi, ExtractApplyReproducesTunedInBfloat16) {
  const std::int64_t n = 100000;
  std::mt19937_64 rng(4);
  std::normal_distribution<double> normal;
  std::vector<BFloat16> base(n), tuned(n);
  for (std::int64_t i = 0; i < n; ++i) {
    base[i] = round_from_double<BFloat16>(normal(rng));
    tuned[i] = i % 7 == 0 ? round_from_double<BFloat16>(to_double(base[i]) + 0.05 * normal(rng)) : base[i];
  }
  using mlprims::DType;
  const mlprims::TensorView base_view(base.data(), DType::kBFloat16, {n}),
      tuned_view(tuned.data(), DType::kBFloat16, {n});
  mlprims::sparse::SelectRule rule;  // the changed entries
  const mlprims::sparse::Extraction extraction(base_view, tuned_view, rule, DType::kFloat32);
  std::vector<std::int64_t> indices(static_cast<std::size_t>(extraction.nnz()));
  std::vector<float> values(indices.size());
  const auto nnz = static_cast<std::int64_t>(indices.size());
  extraction.write(mlprims::TensorView(indices.data(), DType::kInt64, {nnz}),
                   mlprims::TensorView(values.data(), DType::kFloat32, {nnz}));
  std::vector<BFloat16> rebuilt = base;
  mlprims::sparse::apply_indices(mlprims::TensorView(rebuilt.data(), DType::kBFloat16, {n}),
                                 mlprims::TensorView(indices.data(), DType::kInt64, {nnz}),
                                 mlprims::TensorView(values.data(), DType::kFloat32, {nnz}), 1.0);
  for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(rebuilt[i].bits, tuned[i].bits) << i;
}

TEST(SparseApi, BadInputIsAClearError) {
  std::vector<float> a(12, 0.0f), b(12, 1.0f);
  using mlprims::DType;
  const mlprims::TensorView base(a.data(), DType::kFloat32, {3, 4}), tuned(b.data(), DType::kFloat32, {3, 4}),
      other(b.data(), DType::kFloat32, {4, 3});
  mlprims::sparse::SelectRule rule;
  rule.select = mlprims::sparse::Select::kMagnitude;
  rule.k = 13;
  EXPECT_THROW(mlprims::sparse::Extraction(base, tuned, rule, DType::kFloat32), mlprims::ValueError);
  rule.k = 2;
  EXPECT_THROW(mlprims::sparse::Extraction(base, other, rule, DType::kFloat32), mlprims::ValueError);
  EXPECT_THROW(mlprims::sparse::Extraction(base, tuned, rule, DType::kInt32), mlprims::TypeError);
  mlprims::sparse::MergeOptions options;
  options.density = 0.5;
  EXPECT_THROW(mlprims::sparse::merge(base, {tuned}, options, tuned), mlprims::ValueError);  // out aliases a task
  EXPECT_NO_THROW(mlprims::sparse::merge(base, {tuned}, options, base));                     // in place: fine
  try {
    mlprims::sparse::kth_largest_abs(base, 0);
    FAIL();
  } catch (const mlprims::ValueError& e) {
    EXPECT_STREQ(e.what(), "sparse.kth_largest_abs: 'k' must be in [1, 12] (the number of elements), got 0");
  }
}

}  // namespace
