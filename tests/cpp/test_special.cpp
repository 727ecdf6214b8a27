// log I, log K and the ratio through the C++ API: stored Arb values, the array engine
// (broadcasting, strides, float32, in place) and argument checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "mlprims/core/error.hpp"
#include "mlprims/special.hpp"

using mlprims::DType;
using mlprims::TensorView;
namespace special = mlprims::special;

namespace {

struct ReferencePoint {
  double v, x, log_iv, log_kv;
};

std::vector<ReferencePoint> load_reference() {
  std::ifstream file(std::string(MLPRIMS_TEST_DATA_DIR) + "/bessel_reference_small.csv");
  EXPECT_TRUE(file.good()) << "missing tests/data/bessel_reference_small.csv";
  std::vector<ReferencePoint> points;
  std::string line;
  std::getline(file, line);  // header
  while (std::getline(file, line)) {
    std::replace(line.begin(), line.end(), ',', ' ');
    std::istringstream row(line);
    ReferencePoint p{};
    row >> p.v >> p.x >> p.log_iv >> p.log_kv;
    points.push_back(p);
  }
  return points;
}

double guarded_error(double got, double ref) { return std::fabs(got - ref) / std::max(1.0, std::fabs(ref)); }

TensorView view(std::vector<double>& data, mlprims::Shape shape, mlprims::Shape strides = {}) {
  return TensorView(data.data(), DType::kFloat64, std::move(shape), std::move(strides));
}

}  // namespace

TEST(Special, ScalarFunctionsMatchArb) {
  const auto points = load_reference();
  ASSERT_GE(points.size(), 200u);
  for (const auto& p : points) {
    EXPECT_LE(guarded_error(special::log_iv(p.v, p.x), p.log_iv), 1e-14) << "log_iv v=" << p.v << " x=" << p.x;
    EXPECT_LE(guarded_error(special::log_kv(p.v, p.x), p.log_kv), 1e-14) << "log_kv v=" << p.v << " x=" << p.x;
  }
}

TEST(Special, ArrayFunctionsMatchScalarFunctions) {
  const auto points = load_reference();
  std::vector<double> v, x;
  for (const auto& p : points) {
    v.push_back(p.v);
    x.push_back(p.x);
  }
  const auto n = static_cast<std::int64_t>(v.size());
  std::vector<double> out_i(v.size()), out_k(v.size());
  special::log_iv(view(v, {n}), view(x, {n}), view(out_i, {n}));
  special::log_kv(view(v, {n}), view(x, {n}), view(out_k, {n}));
  for (std::size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(out_i[i], special::log_iv(v[i], x[i]));
    EXPECT_EQ(out_k[i], special::log_kv(v[i], x[i]));
  }
}

TEST(Special, BroadcastingAndStrides) {
  std::vector<double> v = {0.0, 1.5, 40.0};                         // shape (3, 1)
  std::vector<double> x = {0.5, -1, 2.0, -1, 30.0, -1, 900.0, -1};  // shape (4,), stride 2
  std::vector<double> out(12);
  special::log_kv(view(v, {3, 1}), view(x, {4}, {2}), view(out, {3, 4}));
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) EXPECT_EQ(out[i * 4 + j], special::log_kv(v[i], x[2 * j]));
  }
  // A transposed output view.
  std::vector<double> out_t(12);
  special::log_kv(view(v, {3, 1}), view(x, {4}, {2}), view(out_t, {3, 4}, {1, 3}));
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) EXPECT_EQ(out_t[j * 3 + i], out[i * 4 + j]);
  }
}

TEST(Special, LargeArraysUseEveryThreadAndAgree) {
  const std::int64_t n = 100003;
  std::vector<double> v(n), x(n), out(n);
  for (std::int64_t i = 0; i < n; ++i) {
    v[i] = 0.5 + 0.01 * static_cast<double>(i % 1000);
    x[i] = 1e-3 * static_cast<double>(i + 1);
  }
  special::iv_ratio(view(v, {n}), view(x, {n}), view(out, {n}));
  for (std::int64_t i = 0; i < n; i += 997) EXPECT_EQ(out[i], special::iv_ratio(v[i], x[i]));
}

TEST(Special, Float32InFloat32Out) {
  std::vector<float> v = {0.0f, 2.5f, 100.0f}, x = {1.0f, 10.0f, 1000.0f}, out(3);
  special::log_iv(TensorView(v.data(), DType::kFloat32, {3}), TensorView(x.data(), DType::kFloat32, {3}),
                  TensorView(out.data(), DType::kFloat32, {3}));
  for (int i = 0; i < 3; ++i) {
    EXPECT_FLOAT_EQ(out[i], static_cast<float>(special::log_iv(v[i], x[i])));
  }
}

TEST(Special, InPlace) {
  std::vector<double> v = {1.0, 2.0}, x = {3.0, 4.0};
  const double expected0 = special::log_iv(1.0, 3.0), expected1 = special::log_iv(2.0, 4.0);
  special::log_iv(view(v, {2}), view(x, {2}), view(x, {2}));
  EXPECT_EQ(x[0], expected0);
  EXPECT_EQ(x[1], expected1);
}

TEST(Special, EdgeValues) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(special::log_iv(0.0, 0.0), 0.0);
  EXPECT_EQ(special::log_iv(3.0, 0.0), -inf);
  EXPECT_EQ(special::log_kv(3.0, 0.0), inf);
  EXPECT_EQ(special::log_iv(-4.0, 2.0), special::log_iv(4.0, 2.0));
  EXPECT_TRUE(std::isnan(special::log_iv(-4.5, 2.0)));
  EXPECT_EQ(special::log_kv(-4.5, 2.0), special::log_kv(4.5, 2.0));
  EXPECT_TRUE(std::isnan(special::log_kv(1.0, -2.0)));
  EXPECT_TRUE(std::isnan(special::iv_ratio(0.25, 2.0)));
  EXPECT_EQ(special::iv_ratio(2.0, 0.0), 0.0);
  EXPECT_EQ(special::iv_ratio(2.0, inf), 1.0);
  EXPECT_DOUBLE_EQ(special::iv_ratio(0.5, 1.5), std::tanh(1.5));
}

namespace {

template <class Exception>
std::string message_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Exception& e) {
    return e.what();
  }
  ADD_FAILURE() << "no exception of the expected type";
  return {};
}

}  // namespace

TEST(Special, ArgumentChecksNameTheArgument) {
  std::vector<double> a(3, 1.0), b(4, 1.0), out(3);
  std::vector<float> f(3, 1.0f);
  EXPECT_EQ(message_of<mlprims::ValueError>([&] { special::log_iv(view(a, {3}), view(b, {4}), view(out, {3})); }),
            "log_iv: shapes of 'v' (3,) and 'x' (4,) cannot be broadcast together");
  EXPECT_EQ(message_of<mlprims::TypeError>(
                [&] { special::log_kv(view(a, {3}), TensorView(f.data(), DType::kFloat32, {3}), view(out, {3})); }),
            "log_kv: 'x' must have dtype float64, got float32");
  EXPECT_EQ(message_of<mlprims::ValueError>([&] { special::log_iv(view(a, {3}), view(a, {3}), view(b, {4})); }),
            "log_iv: 'out' must have shape (3,), got (4,)");
  TensorView elsewhere(a.data(), DType::kFloat64, {3}, {}, mlprims::Device::cuda(0));
  EXPECT_EQ(message_of<mlprims::ValueError>([&] { special::log_iv(view(a, {3}), elsewhere, view(out, {3})); }),
            "log_iv: 'x' must be on device cpu like the other inputs, got cuda:0");
  const TensorView read_only(static_cast<const void*>(out.data()), DType::kFloat64, {3});
  EXPECT_EQ(message_of<mlprims::ValueError>([&] { special::log_iv(view(a, {3}), view(a, {3}), read_only); }),
            "log_iv: 'out' must be writable, got a read-only array");
  std::vector<double> buffer(4, 1.0);
  EXPECT_NE(message_of<mlprims::ValueError>([&] {
              special::iv_ratio(view(buffer, {3}), view(a, {3}), TensorView(buffer.data() + 1, DType::kFloat64, {3}));
            }).find("must not overlap"),
            std::string::npos);
  std::vector<std::int64_t> ints(3, 1);
  EXPECT_EQ(message_of<mlprims::TypeError>(
                [&] { special::log_iv(TensorView(ints.data(), DType::kInt64, {3}), view(a, {3}), view(out, {3})); }),
            "log_iv: 'v' must have dtype float32 or float64, got int64");
}
