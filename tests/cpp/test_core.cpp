// TensorView, errors, threads and the BLAS wrapper.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/checks.hpp"
#include "core/math/scaled_norm.hpp"
#include "mlprims/core/build_info.hpp"
#include "mlprims/core/error.hpp"
#include "mlprims/core/tensor.hpp"
#include "mlprims/core/threading.hpp"
#include "mlprims/special.hpp"

using mlprims::DType;
using mlprims::TensorView;

TEST(TensorView, ContiguousStridesAndNumel) {
  std::vector<double> data(24);
  TensorView t(data.data(), DType::kFloat64, {2, 3, 4});
  EXPECT_EQ(t.strides(), (mlprims::Shape{12, 4, 1}));
  EXPECT_EQ(t.numel(), 24);
  EXPECT_TRUE(t.is_contiguous());
  TensorView transposed(data.data(), DType::kFloat64, {4, 6}, {1, 4});
  EXPECT_FALSE(transposed.is_contiguous());
  EXPECT_EQ(mlprims::shape_str({2, 3}), "(2, 3)");
  EXPECT_EQ(mlprims::shape_str({5}), "(5,)");
  EXPECT_EQ(std::string(mlprims::dtype_name(DType::kBFloat16)), "bfloat16");
  EXPECT_EQ(mlprims::dtype_size(DType::kComplex128), 16u);
}

TEST(TensorView, RejectsInconsistentShapes) {
  double x = 0;
  EXPECT_THROW(TensorView(&x, DType::kFloat64, {2, -1}), mlprims::ValueError);
  EXPECT_THROW(TensorView(&x, DType::kFloat64, {2, 2}, {1}), mlprims::ValueError);
  const TensorView read_only(static_cast<const void*>(&x), DType::kFloat64, {1});
  EXPECT_TRUE(read_only.read_only());
}

TEST(Threads, SetAndGet) {
  const int before = mlprims::get_num_threads();
  mlprims::set_num_threads(1);
  EXPECT_EQ(mlprims::get_num_threads(), 1);
  mlprims::set_num_threads(0);
  EXPECT_GE(mlprims::get_num_threads(), 1);
  EXPECT_THROW(mlprims::set_num_threads(-2), mlprims::ValueError);
  mlprims::set_num_threads(before);
}

TEST(BuildInfo, DescribesTheBuild) {
  EXPECT_FALSE(mlprims::version().empty());
  EXPECT_FALSE(mlprims::blas_library().empty());
  EXPECT_GE(mlprims::cuda_device_count(), 0);
  EXPECT_EQ(mlprims::built_with_cuda(), !mlprims::cuda_libraries().empty());
}

TEST(Errors, CudaTensorsWithoutCudaBuild) {
  if (mlprims::built_with_cuda()) GTEST_SKIP() << "this build has the CUDA back end";
  std::vector<double> data(3, 1.0);
  TensorView on_gpu(data.data(), DType::kFloat64, {3}, {}, mlprims::Device::cuda(0));
  try {
    mlprims::special::log_iv(on_gpu, on_gpu, on_gpu);
    FAIL() << "expected TypeError";
  } catch (const mlprims::TypeError& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA back end"), std::string::npos) << e.what();
  }
}

#include "linalg/blas.hpp"

// The BLAS wrapper against a plain triple loop, with transposes and leading dimensions.
template <class T>
void check_gemm(bool ta, bool tb) {
  const int m = 5, n = 4, k = 3, lda = 7, ldb = 6, ldc = 9;
  std::vector<T> a(static_cast<std::size_t>((ta ? k : m) * lda)), b(static_cast<std::size_t>((tb ? n : k) * ldb));
  std::vector<T> c(static_cast<std::size_t>(m * ldc), T(0.5));
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = T(0.1) * T(i % 13) - T(0.3);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = T(0.2) * T(i % 7) - T(0.5);
  std::vector<T> expected = c;
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      T sum = 0;
      for (int p = 0; p < k; ++p) {
        const T aip = ta ? a[p * lda + i] : a[i * lda + p];
        const T bpj = tb ? b[j * ldb + p] : b[p * ldb + j];
        sum += aip * bpj;
      }
      expected[i * ldc + j] = T(2) * sum + T(0.25) * expected[i * ldc + j];
    }
  }
  mlprims::linalg::gemm<T>(ta, tb, m, n, k, T(2), a.data(), lda, b.data(), ldb, T(0.25), c.data(), ldc);
  for (std::size_t i = 0; i < c.size(); ++i) EXPECT_NEAR(c[i], expected[i], sizeof(T) == 4 ? 1e-5 : 1e-13) << i;
}

TEST(Blas, GemmMatchesLoops) {
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      check_gemm<double>(ta, tb);
      check_gemm<float>(ta, tb);
    }
  }
}

// The scaled norm is right where a plain sum of squares over- or underflows, and merges partial
// sums in any order.
TEST(ScaledNorm, ExtremeScalesAndMerging) {
  for (double scale : {1e-300, 1e-160, 1.0, 1e160, 1e300}) {
    const std::vector<double> x = {3 * scale, -4 * scale, 0.0, 12 * scale};
    EXPECT_NEAR(mlprims::detail::scaled_norm<double>(4, x.data()) / (13 * scale), 1.0, 1e-15) << scale;
    mlprims::detail::ScaledSumOfSquares left, right;
    left.add(x[2]);
    left.add(x[3]);
    right.add(x[0]);
    right.add(x[1]);
    left.merge(right);
    EXPECT_NEAR(left.norm() / (13 * scale), 1.0, 1e-15) << scale;
  }
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> with_inf = {1.0, inf, 2.0};
  EXPECT_EQ(mlprims::detail::scaled_norm<double>(3, with_inf.data()), inf);
  const std::vector<double> with_nan = {1.0, std::nan(""), inf};
  EXPECT_TRUE(std::isnan(mlprims::detail::scaled_norm<double>(3, with_nan.data())));
  const std::vector<float> strided = {3.0f, 99.0f, 4.0f, 99.0f};
  EXPECT_DOUBLE_EQ(mlprims::detail::scaled_norm<float>(2, strided.data(), 2), 5.0);
  EXPECT_EQ(mlprims::detail::scaled_norm<double>(0, with_inf.data()), 0.0);
}

TEST(Messages, DoublesReadBackAsTheSameNumber) {
  using mlprims::detail::format_double;
  EXPECT_EQ(format_double(1e-9), "1e-09");  // std::to_string gave "0.000000"
  EXPECT_EQ(format_double(0.1), "0.1");
  EXPECT_EQ(format_double(-2.5), "-2.5");
  EXPECT_EQ(format_double(1.0 / 3.0), "0.3333333333333333");  // as Python prints it
  EXPECT_EQ(format_double(1e300), "1e+300");
  EXPECT_EQ(format_double(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(format_double(std::nan("")), "nan");
  EXPECT_EQ(format_double(12345.678, 3), "1.23e+04");
}

TEST(ScaledNorm, NormalizingPowerOfTwoAndPartialSums) {
  using mlprims::detail::normalizing_power_of_two;
  for (double largest : {1e-320, 1e-300, 0.75, 1.0, 3.0, 1e300, 1.7e308}) {
    const double c = normalizing_power_of_two(largest);
    EXPECT_EQ(c, std::ldexp(1.0, std::ilogb(c))) << largest;  // a power of two
    EXPECT_TRUE(std::isnormal(c) && std::isnormal(1.0 / c)) << largest;
    if (largest >= 0x1p-1000 && largest < 0x1p1000) {
      EXPECT_GE(c * largest, 0.5) << largest;
      EXPECT_LT(c * largest, 1.0) << largest;
    }
  }
  EXPECT_EQ(normalizing_power_of_two(0.0), 1.0);
  EXPECT_EQ(normalizing_power_of_two(std::numeric_limits<double>::infinity()), 1.0);
  EXPECT_EQ(normalizing_power_of_two(std::nan("")), 1.0);
  // Partial sums of squares for x / unit, merged: sqrt(2 + 9 + 16) 1e200.
  auto total = mlprims::detail::ScaledSumOfSquares::from_parts(1e200, 2.0);
  total.merge(mlprims::detail::ScaledSumOfSquares::from_parts(0x1p700, std::pow(3e200 / 0x1p700, 2)));
  total.add(4e200);
  EXPECT_NEAR(total.norm() / (std::sqrt(27.0) * 1e200), 1.0, 1e-15);
  EXPECT_EQ(mlprims::detail::ScaledSumOfSquares::from_parts(1.0, 0.0).norm(), 0.0);
}

// An output whose elements share memory (a zero stride, or rows that overlap) is refused; any
// layout with distinct elements is accepted.
TEST(Errors, OutputsWithOverlappingElements) {
  std::vector<double> v = {2.0}, x = {1, 2, 3, 4, 5}, out(10, 0.0);
  const TensorView order(v.data(), DType::kFloat64, {1});
  const TensorView points(x.data(), DType::kFloat64, {5});
  EXPECT_THROW(mlprims::special::log_iv(order, points, TensorView(out.data(), DType::kFloat64, {5}, {0})),
               mlprims::ValueError);
  const TensorView grid(x.data(), DType::kFloat64, {2, 5}, {0, 1});
  EXPECT_THROW(mlprims::special::log_iv(order, grid, TensorView(out.data(), DType::kFloat64, {2, 5}, {1, 1})),
               mlprims::ValueError);
  mlprims::special::log_iv(order, points, TensorView(out.data(), DType::kFloat64, {5}, {2}));
  EXPECT_NEAR(out[8], mlprims::special::log_iv(2.0, 5.0), 1e-14);
}
