// The Gram pass of block Krylov (Y = W Z, Z' = Wᵀ Y): every compiled variant of the fused float32
// kernel and the dispatching entry points, against float64 sums, on sizes that leave remainders
// in every register tile (rows, columns and vector lanes).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/instruction_set.hpp"
#include "gaussian_values.hpp"
#include "lowrank/gram_pass.hpp"

namespace {

namespace detail = mlprims::lowrank::detail;

struct Shape {
  std::int64_t m, n, b;
};

const Shape kShapes[] = {{1, 1, 1},    {5, 17, 1},    {37, 100, 7},   {130, 257, 18},
                         {64, 64, 40}, {97, 131, 41}, {300, 1000, 13}};

using mlprims_test::gaussian;

// y = W Z (m x b) and z_next = Wᵀ y (n x b), in double from the same inputs.
template <class T>
void reference(const Shape& s, const std::vector<T>& w, const std::vector<T>& z, std::vector<double>& y,
               std::vector<double>& z_next) {
  y.assign(static_cast<std::size_t>(s.m * s.b), 0.0);
  z_next.assign(static_cast<std::size_t>(s.n * s.b), 0.0);
  for (std::int64_t i = 0; i < s.m; ++i) {
    for (std::int64_t k = 0; k < s.n; ++k) {
      for (std::int64_t j = 0; j < s.b; ++j) y[i * s.b + j] += double(w[i * s.n + k]) * double(z[k * s.b + j]);
    }
  }
  for (std::int64_t i = 0; i < s.m; ++i) {
    for (std::int64_t k = 0; k < s.n; ++k) {
      for (std::int64_t j = 0; j < s.b; ++j) z_next[k * s.b + j] += double(w[i * s.n + k]) * y[i * s.b + j];
    }
  }
}

// max |got - want| / max |want|
template <class T>
double relative_difference(const std::vector<T>& got, const std::vector<double>& want) {
  double difference = 0.0, scale = 0.0;
  for (std::size_t e = 0; e < want.size(); ++e) {
    difference = std::max(difference, std::abs(double(got[e]) - want[e]));
    scale = std::max(scale, std::abs(want[e]));
  }
  return difference / scale;
}

TEST(GramPass, FloatAndDoubleMatchFloat64Sums) {
  for (const Shape& s : kShapes) {
    SCOPED_TRACE(testing::Message() << s.m << " x " << s.n << ", " << s.b << " columns");
    const auto wf = gaussian<float>(s.m * s.n, 1), zf = gaussian<float>(s.n * s.b, 2);
    std::vector<double> y_want, z_want;
    reference(s, wf, zf, y_want, z_want);
    std::vector<float> y(static_cast<std::size_t>(s.m * s.b)), z_next(static_cast<std::size_t>(s.n * s.b));
    detail::gram_pass<float>(s.m, s.n, wf.data(), zf.data(), s.b, y.data(), z_next.data());
    EXPECT_LT(relative_difference(y, y_want), 1e-5);
    EXPECT_LT(relative_difference(z_next, z_want), 1e-5);
    std::fill(y.begin(), y.end(), 0.0f);
    detail::range_product<float>(s.m, s.n, wf.data(), zf.data(), s.b, y.data());
    EXPECT_LT(relative_difference(y, y_want), 1e-5);

    const std::vector<double> wd(wf.begin(), wf.end()), zd(zf.begin(), zf.end());
    std::vector<double> yd(y.size()), zd_next(z_next.size());
    detail::gram_pass<double>(s.m, s.n, wd.data(), zd.data(), s.b, yd.data(), zd_next.data());
    EXPECT_LT(relative_difference(yd, y_want), 1e-13);
    EXPECT_LT(relative_difference(zd_next, z_want), 1e-13);
  }
}

TEST(GramPass, EveryInstructionSetVariantAccumulates) {
  using Kernel = decltype(&detail::baseline::gram_rows);
  using mlprims::detail::InstructionSet;
  struct Variant {
    InstructionSet set;
    Kernel kernel;
  };
  const Variant variants[] = {
    {InstructionSet::kBaseline, detail::baseline::gram_rows},
#if defined(MLPRIMS_SIMD_X86)
    {InstructionSet::kX86_64_V3, detail::x86_64_v3::gram_rows},
    {InstructionSet::kX86_64_V4, detail::x86_64_v4::gram_rows},
#endif
  };
  const InstructionSet best = mlprims::detail::best_instruction_set();
  int tested = 0;
  for (const Variant& variant : variants) {
    if (static_cast<int>(variant.set) > static_cast<int>(best)) continue;  // this CPU cannot run it
    ++tested;
    for (const Shape& s : kShapes) {
      SCOPED_TRACE(testing::Message() << mlprims::detail::instruction_set_name(variant.set) << ": " << s.m << " x "
                                      << s.n << ", " << s.b << " columns");
      const auto w = gaussian<float>(s.m * s.n, 3), z = gaussian<float>(s.n * s.b, 4);
      std::vector<double> y_want, z_want;
      reference(s, w, z, y_want, z_want);
      std::vector<float> zt(static_cast<std::size_t>(s.b * s.n));
      for (std::int64_t k = 0; k < s.n; ++k) {
        for (std::int64_t j = 0; j < s.b; ++j) zt[j * s.n + k] = z[k * s.b + j];
      }
      // acc starts at 1 everywhere: the kernel adds to it.
      std::vector<float> y(static_cast<std::size_t>(s.m * s.b)), acc(static_cast<std::size_t>(s.b * s.n), 1.0f);
      variant.kernel(s.m, s.n, w.data(), zt.data(), s.b, y.data(), acc.data());
      EXPECT_LT(relative_difference(y, y_want), 1e-5);
      std::vector<float> z_next(static_cast<std::size_t>(s.n * s.b));
      for (std::int64_t k = 0; k < s.n; ++k) {
        for (std::int64_t j = 0; j < s.b; ++j) z_next[k * s.b + j] = acc[j * s.n + k] - 1.0f;
      }
      EXPECT_LT(relative_difference(z_next, z_want), 1e-5);
      std::vector<float> y_only(y.size());
      variant.kernel(s.m, s.n, w.data(), zt.data(), s.b, y_only.data(), nullptr);  // no accumulator
      EXPECT_LT(relative_difference(y_only, y_want), 1e-5);
    }
  }
  EXPECT_GE(tested, 1);
}

}  // namespace
