// The C++ API of masked training (mlprims/sparse.hpp): the masked AdamW step against a dense
// float64 AdamW written here, the position-keyed normal against thread count and mask encoding,
// threshold selection and SSD against direct loops.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "mlprims/core/error.hpp"
#include "mlprims/core/threading.hpp"
#include "mlprims/sparse.hpp"

namespace {

using mlprims::DType;
using mlprims::TensorView;
using mlprims::sparse::Support;

TensorView f64(std::vector<double>& v) {
  return TensorView(v.data(), DType::kFloat64, {static_cast<std::int64_t>(v.size())});
}
TensorView i64(std::vector<std::int64_t>& v) {
  return TensorView(v.data(), DType::kInt64, {static_cast<std::int64_t>(v.size())});
}
TensorView u8(std::vector<std::uint8_t>& v) {
  return TensorView(v.data(), DType::kUInt8, {static_cast<std::int64_t>(v.size())});
}

struct RandomMask {
  std::vector<std::int64_t> positions;
  std::vector<std::uint8_t> bitmask;
  std::vector<bool> selected;
};

RandomMask random_mask(std::int64_t n, double density, unsigned seed) {
  RandomMask m;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  m.bitmask.assign(static_cast<std::size_t>((n + 7) / 8), 0);
  for (std::int64_t i = 0; i < n; ++i) {
    const bool on = u(rng) < density;
    m.selected.push_back(on);
    if (on) {
      m.positions.push_back(i);
      m.bitmask[static_cast<std::size_t>(i / 8)] |= static_cast<std::uint8_t>(1u << (i % 8));
    }
  }
  return m;
}

TEST(MaskedAdam, EqualsDenseAdamWOnTheMaskAndLeavesTheRestUntouched) {
  const std::int64_t n = 5000;
  RandomMask mask = random_mask(n, 0.1, 1);
  std::mt19937_64 rng(2);
  std::normal_distribution<double> normal;
  std::vector<double> param(n), reference, m_ref(n, 0.0), v_ref(n, 0.0);
  for (double& p : param) p = normal(rng);
  reference = param;
  const std::vector<double> start = param;
  const std::size_t nnz = mask.positions.size();
  std::vector<double> m(nnz, 0.0), v(nnz, 0.0);
  mlprims::sparse::AdamOptions o;
  o.lr = 1e-2;
  o.weight_decay = 0.1;
  for (int step = 1; step <= 50; ++step) {
    std::vector<double> grad(n);
    for (double& g : grad) g = normal(rng);
    o.step = step;
    mlprims::sparse::masked_adam_step(f64(param), f64(grad), Support{Support::Encoding::kIndices, i64(mask.positions)},
                                      f64(m), f64(v), o);
    for (std::int64_t i = 0; i < n; ++i) {
      if (!mask.selected[static_cast<std::size_t>(i)]) continue;
      const auto k = static_cast<std::size_t>(i);
      reference[k] *= 1 - o.lr * o.weight_decay;
      m_ref[k] = o.beta1 * m_ref[k] + (1 - o.beta1) * grad[k];
      v_ref[k] = o.beta2 * v_ref[k] + (1 - o.beta2) * grad[k] * grad[k];
      const double m_hat = m_ref[k] / (1 - std::pow(o.beta1, step));
      const double v_hat = v_ref[k] / (1 - std::pow(o.beta2, step));
      reference[k] -= o.lr * m_hat / (std::sqrt(v_hat) + o.eps);  // the textbook form of torch's order
    }
  }
  for (std::int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    if (mask.selected[k]) {
      EXPECT_NEAR(param[k], reference[k], 1e-12 * (1 + std::abs(reference[k])));
    } else {
      EXPECT_EQ(param[k], start[k]);
    }
  }
}

TEST(MaskedAdam, RejectsMomentsOfTheWrongLength) {
  std::vector<double> param(10, 1.0), grad(10, 1.0), m(3, 0.0), v(4, 0.0);
  std::vector<std::int64_t> positions = {1, 4, 7, 8};
  EXPECT_THROW(mlprims::sparse::masked_adam_step(
                   f64(param), f64(grad), Support{Support::Encoding::kIndices, i64(positions)}, f64(m), f64(v), {}),
               mlprims::ValueError);
  std::vector<std::int64_t> unordered = {4, 1};
  std::vector<double> m2(2), v2(2);
  EXPECT_THROW(mlprims::sparse::masked_adam_step(
                   f64(param), f64(grad), Support{Support::Encoding::kIndices, i64(unordered)}, f64(m2), f64(v2), {}),
               mlprims::ValueError);
}

TEST(MaskedPerturb, TheNormalAtAPositionIgnoresMaskEncodingAndThreads) {
  const std::int64_t n = 200000;
  RandomMask mask = random_mask(n, 0.3, 3);
  const int before = mlprims::get_num_threads();
  for (int threads : {1, 2}) {
    mlprims::set_num_threads(threads);
    std::vector<double> by_indices(n, 0.0), by_bitmask(n, 0.0), dense(n, 0.0);
    mlprims::sparse::masked_perturb(f64(by_indices), Support{Support::Encoding::kIndices, i64(mask.positions)}, 9, 1.0);
    mlprims::sparse::masked_perturb(f64(by_bitmask), Support{Support::Encoding::kBitmask, u8(mask.bitmask)}, 9, 1.0);
    mlprims::sparse::masked_perturb(f64(dense), Support{}, 9, 1.0);
    for (std::int64_t i = 0; i < n; ++i) {
      const auto k = static_cast<std::size_t>(i);
      ASSERT_EQ(dense[k], mlprims::sparse::position_normal(9, i));
      ASSERT_EQ(by_indices[k], mask.selected[k] ? dense[k] : 0.0);
      ASSERT_EQ(by_bitmask[k], by_indices[k]);
    }
  }
  mlprims::set_num_threads(before);
}

TEST(ThresholdSelection, KeepsExactlyTheEntriesBelowOrAbove) {
  std::vector<double> x = {0.5, -0.001, NAN, 0.002, -3.0, 0.0, 0.0019};
  for (bool below : {true, false}) {
    mlprims::sparse::ThresholdSelection plan(f64(x), 0.002, below);
    std::vector<std::int64_t> got(static_cast<std::size_t>(plan.nnz()));
    plan.write(i64(got));
    std::vector<std::int64_t> expected;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (below ? std::abs(x[i]) < 0.002 : std::abs(x[i]) > 0.002) expected.push_back(static_cast<std::int64_t>(i));
    }
    EXPECT_EQ(got, expected);
  }
}

TEST(SelectiveSynapticDampening, EqualsTheFormulaAndCounts) {
  std::vector<double> param = {1.0, 2.0, -3.0, 4.0}, forget = {10.0, 1.0, 0.0, 8.0}, retain = {1.0, 1.0, 0.0, 2.0};
  const std::int64_t selected = mlprims::sparse::ssd_dampen(f64(param), f64(forget), f64(retain), 3.0, 1.0);
  EXPECT_EQ(selected, 2);  // entries 0 (10 > 3) and 3 (8 > 6)
  EXPECT_EQ(param[0], 1.0 * 0.1);
  EXPECT_EQ(param[1], 2.0);
  EXPECT_EQ(param[2], -3.0);
  EXPECT_EQ(param[3], 4.0 * 0.25);
  std::vector<double> negative = {1.0, -1.0, 0.0, 0.0};
  EXPECT_THROW(mlprims::sparse::ssd_dampen(f64(param), f64(negative), f64(retain), 3.0, 1.0), mlprims::ValueError);
}

}  // namespace
