#include "ot/cost_rows.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "core/parallel.hpp"
#include "linalg/log_sum_exp.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::ot::detail {
namespace {

template <class T>
class DenseCost final : public CostRows {
 public:
  DenseCost(std::int64_t n, std::int64_t m, const T* C, std::int64_t ld) : CostRows(n, m), C_(C), ld_(ld) {}

  const double* row(std::int64_t i, double* scratch) const override {
    const T* source = C_ + i * ld_;
    if constexpr (std::is_same_v<T, double>) {
      return source;
    } else {
      std::copy(source, source + cols(), scratch);
      return scratch;
    }
  }

  void column_log_sum_exp(double scale, const double* bias, double* out, int threads) const override {
    linalg::log_sum_exp_columns(rows(), cols(), C_, ld_, scale, bias, out, threads);
  }

  bool is_dense() const override { return true; }

 private:
  const T* C_;
  std::int64_t ld_;
};

// Distances by differences, coordinate by coordinate (accurate for close points, unlike the
// |x|^2 + |y|^2 - 2 x.y expansion); y is kept transposed so that the inner loop runs over j.
class PointCloudCost final : public CostRows {
 public:
  PointCloudCost(std::int64_t n, std::int64_t m, std::int64_t d, const double* x, const double* y, PointCost cost,
                 bool make_transpose = true)
      : CostRows(n, m), d_(d), cost_(cost), x_(x, x + n * d), y_t_(static_cast<std::size_t>(m * d)) {
    for (std::int64_t j = 0; j < m; ++j)
      for (std::int64_t k = 0; k < d; ++k) y_t_[k * m + j] = y[j * d + k];
    if (make_transpose) transposed_ = std::make_unique<PointCloudCost>(m, n, d, y, x, cost, false);
  }

  const double* row(std::int64_t i, double* scratch) const override {
    const std::int64_t m = cols();
    std::fill(scratch, scratch + m, 0.0);
    for (std::int64_t k = 0; k < d_; ++k) {
      const double xk = x_[i * d_ + k];
      const double* yk = y_t_.data() + k * m;
#pragma omp simd
      for (std::int64_t j = 0; j < m; ++j) {
        const double diff = xk - yk[j];
        scratch[j] += diff * diff;
      }
    }
    if (cost_ == PointCost::kEuclidean) {
#pragma omp simd
      for (std::int64_t j = 0; j < m; ++j) scratch[j] = std::sqrt(scratch[j]);
    }
    return scratch;
  }

  void column_log_sum_exp(double scale, const double* bias, double* out, int threads) const override {
    row_log_sum_exp(*transposed_, scale, bias, out, threads);
  }

  bool is_dense() const override { return false; }

  // sum_j w_j grad_x c(x_i, y_j): 2 sum_j w_j (x_i - y_j), or sum_j w_j (x_i - y_j) / |x_i - y_j|
  // (0 where the points coincide: the subgradient of least norm).
  void gradient_row(std::int64_t i, const double* w, double* scratch, double* grad) const {
    const std::int64_t m = cols();
    const double* weights = w;
    if (cost_ == PointCost::kEuclidean) {
      row(i, scratch);
      for (std::int64_t j = 0; j < m; ++j) scratch[j] = scratch[j] > 0.0 ? w[j] / scratch[j] : 0.0;
      weights = scratch;
    }
    double total = 0.0;
    for (std::int64_t j = 0; j < m; ++j) total += weights[j];
    const double factor = cost_ == PointCost::kSqEuclidean ? 2.0 : 1.0;
    for (std::int64_t k = 0; k < d_; ++k) {
      const double* yk = y_t_.data() + k * m;
      double weighted = 0.0;
#pragma omp simd reduction(+ : weighted)
      for (std::int64_t j = 0; j < m; ++j) weighted += weights[j] * yk[j];
      grad[k] = factor * (total * x_[i * d_ + k] - weighted);
    }
  }

 private:
  std::int64_t d_;
  PointCost cost_;
  std::vector<double> x_, y_t_;
  std::unique_ptr<PointCloudCost> transposed_;
};

}  // namespace

void row_log_sum_exp(const CostRows& cost, double scale, const double* bias, double* out, int threads) {
  const std::int64_t n = cost.rows(), m = cost.cols();
  const int used = std::min(threads, mlprims::detail::threads_for(n * m, 1 << 15));
#pragma omp parallel num_threads(used)
  {
    std::vector<double> scratch(static_cast<std::size_t>(m));
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) out[i] = linalg::log_sum_exp_row(m, cost.row(i, scratch.data()), scale, bias);
  }
}

template <class T>
std::unique_ptr<CostRows> dense_cost(std::int64_t n, std::int64_t m, const T* C, std::int64_t ld) {
  return std::make_unique<DenseCost<T>>(n, m, C, ld);
}
template std::unique_ptr<CostRows> dense_cost<float>(std::int64_t, std::int64_t, const float*, std::int64_t);
template std::unique_ptr<CostRows> dense_cost<double>(std::int64_t, std::int64_t, const double*, std::int64_t);

std::unique_ptr<CostRows> point_cost(std::int64_t n, std::int64_t m, std::int64_t d, const double* x, const double* y,
                                     PointCost cost) {
  return std::make_unique<PointCloudCost>(n, m, d, x, y, cost);
}

void point_cost_gradient_row(const CostRows& cost, std::int64_t i, const double* w, double* scratch, double* grad) {
  const auto* points = dynamic_cast<const PointCloudCost*>(&cost);
  if (points == nullptr) throw Error("point_cost_gradient_row: the cost is not a point cloud");
  points->gradient_row(i, w, scratch, grad);
}

}  // namespace mlprims::ot::detail
