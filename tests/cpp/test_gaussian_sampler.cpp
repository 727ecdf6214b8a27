// The ziggurat Gaussian sampler against the standard normal distribution.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/gaussian_sampler.hpp"

using mlprims::detail::GaussianSampler;

namespace {

std::vector<double> draw(std::uint64_t seed, std::int64_t count) {
  GaussianSampler normal(seed);
  std::vector<double> values(static_cast<std::size_t>(count));
  normal.fill(values.data(), count);
  return values;
}

}  // namespace

TEST(GaussianSampler, MomentsMatchTheStandardNormal) {
  const std::int64_t count = 1'000'000;
  const std::vector<double> x = draw(7, count);
  double mean = 0, second = 0, third = 0, fourth = 0;
  for (double v : x) {
    mean += v;
    second += v * v;
    third += v * v * v;
    fourth += v * v * v * v;
  }
  mean /= count, second /= count, third /= count, fourth /= count;
  // Five standard errors of each sample moment of N(0, 1).
  const double n = static_cast<double>(count);
  EXPECT_NEAR(mean, 0.0, 5 * std::sqrt(1 / n));
  EXPECT_NEAR(second, 1.0, 5 * std::sqrt(2 / n));
  EXPECT_NEAR(third, 0.0, 5 * std::sqrt(15 / n));
  EXPECT_NEAR(fourth, 3.0, 5 * std::sqrt(96 / n));
}

TEST(GaussianSampler, DistributionPassesKolmogorovSmirnov) {
  const std::int64_t count = 1'000'000;
  std::vector<double> x = draw(11, count);
  std::sort(x.begin(), x.end());
  double largest_gap = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    const double cdf = 0.5 * std::erfc(-x[i] / std::sqrt(2.0));
    largest_gap = std::max({largest_gap, std::abs(cdf - double(i) / count), std::abs(cdf - double(i + 1) / count)});
  }
  EXPECT_LT(largest_gap, 1.95 / std::sqrt(double(count)));  // 0.1% level
}

TEST(GaussianSampler, HistogramPassesChiSquare) {
  // 200 bins of width 0.04 on [-4, 4) and the two tails: the wedges between ziggurat layers are
  // thin slivers that a moment or Kolmogorov-Smirnov test can miss.
  const std::int64_t count = 4'000'000;
  const std::vector<double> x = draw(5, count);
  const int bins = 200;
  const double width = 8.0 / bins;
  std::vector<std::int64_t> counts(bins + 2, 0);  // [0]: below -4, [bins + 1]: 4 and above
  for (double v : x) {
    int bin = v < -4.0 ? 0 : v >= 4.0 ? bins + 1 : 1 + static_cast<int>((v + 4.0) / width);
    counts[static_cast<std::size_t>(std::min(bin, v >= 4.0 ? bins + 1 : bins))]++;
  }
  const auto cdf = [](double t) { return 0.5 * std::erfc(-t / std::sqrt(2.0)); };
  double chi_square = 0;
  for (int b = 0; b <= bins + 1; ++b) {
    const double below = b == 0 ? 0.0 : cdf(-4.0 + width * (b - 1));
    const double above = b == bins + 1 ? 1.0 : cdf(-4.0 + width * b);
    const double expected = count * (above - below);
    chi_square += (counts[b] - expected) * (counts[b] - expected) / expected;
  }
  const double dof = bins + 1;
  EXPECT_LT(chi_square, dof + 5 * std::sqrt(2 * dof));
}

TEST(GaussianSampler, TailBeyondTheBaseLayerHasTheNormalMass) {
  // |x| > 3.4426 comes from the tail method only: P = erfc(3.4426 / sqrt(2)) = 5.76e-4.
  const std::int64_t count = 4'000'000;
  const std::vector<double> x = draw(3, count);
  const double tail_start = 3.442619855899;
  const double expected = count * std::erfc(tail_start / std::sqrt(2.0));
  std::int64_t beyond = 0, far = 0;
  for (double v : x) {
    beyond += std::abs(v) > tail_start;
    far += std::abs(v) > 4.5;
  }
  EXPECT_NEAR(double(beyond), expected, 5 * std::sqrt(expected));
  const double expected_far = count * std::erfc(4.5 / std::sqrt(2.0));  // ~27
  EXPECT_NEAR(double(far), expected_far, 5 * std::sqrt(expected_far));
}

TEST(GaussianSampler, SameSeedSameValuesOtherSeedOthers) {
  EXPECT_EQ(draw(42, 1000), draw(42, 1000));
  const std::vector<double> a = draw(42, 1000), b = draw(43, 1000);
  std::int64_t equal = 0;
  for (std::size_t i = 0; i < a.size(); ++i) equal += a[i] == b[i];
  EXPECT_EQ(equal, 0);
  GaussianSampler normal(42);
  std::vector<float> single(1000);
  normal.fill(single.data(), 1000);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(single[i], static_cast<float>(a[i]));
}
