#include "linalg/log_sum_exp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/math/elementary.hpp"
#include "core/parallel.hpp"
#include "linalg/exp_sums.hpp"

namespace mlprims::linalg {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// log(sum) + shift, where the sum was taken with `shift` (the largest term) factored out; a shift
// of +-inf or NaN is the answer itself (every term -inf, some term +inf, or NaN).
double finish(double sum, double shift) { return std::isfinite(shift) ? std::log(sum) + shift : shift; }

// Columns are taken in blocks of this many, each block walked down all rows by one thread: rows of
// the block stay contiguous in memory and no two threads write the same output.
constexpr std::int64_t kColumnBlock = 256;

}  // namespace

double log_sum_exp_row(std::int64_t m, const double* c, double scale, const double* bias) {
  double largest = -kInf;
  bool has_nan = false;
  for (std::int64_t j = 0; j < m; ++j) {
    const double z = scale * c[j] + (bias ? bias[j] : 0.0);
    has_nan |= std::isnan(z);
    largest = std::max(largest, z);
  }
  if (has_nan) return std::numeric_limits<double>::quiet_NaN();
  if (!std::isfinite(largest)) return largest;
  return finish(sum_exp_affine(m, c, scale, bias, largest), largest);
}

template <class T>
void log_sum_exp_rows(std::int64_t n, std::int64_t m, const T* C, std::int64_t ld, double scale, const double* bias,
                      double* out, int threads) {
  const int used = std::min(threads, detail::threads_for(n * m, 1 << 15));
#pragma omp parallel num_threads(used)
  {
    std::vector<double> row(static_cast<std::size_t>(m));
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      const T* source = C + i * ld;
      std::copy(source, source + m, row.begin());
      out[i] = log_sum_exp_row(m, row.data(), scale, bias);
    }
  }
}

template <class T>
void log_sum_exp_columns(std::int64_t n, std::int64_t m, const T* C, std::int64_t ld, double scale, const double* bias,
                         double* out, int threads) {
  const std::int64_t blocks = (m + kColumnBlock - 1) / kColumnBlock;
  const int used =
      std::min({threads, detail::threads_for(n * m, 1 << 15), static_cast<int>(std::max<std::int64_t>(blocks, 1))});
#pragma omp parallel for num_threads(used) schedule(dynamic)
  for (std::int64_t block = 0; block < blocks; ++block) {
    const std::int64_t j0 = block * kColumnBlock, width = std::min(kColumnBlock, m - j0);
    double largest[kColumnBlock], sum[kColumnBlock];
    bool has_nan[kColumnBlock];
    for (std::int64_t j = 0; j < width; ++j) largest[j] = -kInf, sum[j] = 0.0, has_nan[j] = false;
    for (std::int64_t i = 0; i < n; ++i) {
      const T* row = C + i * ld + j0;
      const double b = bias ? bias[i] : 0.0;
      for (std::int64_t j = 0; j < width; ++j) {
        const double z = scale * static_cast<double>(row[j]) + b;
        has_nan[j] |= std::isnan(z);
        largest[j] = std::max(largest[j], z);
      }
    }
    for (std::int64_t i = 0; i < n; ++i) {
      const T* row = C + i * ld + j0;
      const double b = bias ? bias[i] : 0.0;
#pragma omp simd
      for (std::int64_t j = 0; j < width; ++j) {
        const double shift = std::isfinite(largest[j]) ? largest[j] : 0.0;
        sum[j] += detail::exp_flush_to_zero(scale * static_cast<double>(row[j]) + b - shift);
      }
    }
    for (std::int64_t j = 0; j < width; ++j) {
      out[j0 + j] = has_nan[j] ? std::numeric_limits<double>::quiet_NaN() : finish(sum[j], largest[j]);
    }
  }
}

template void log_sum_exp_rows<float>(std::int64_t, std::int64_t, const float*, std::int64_t, double, const double*,
                                      double*, int);
template void log_sum_exp_rows<double>(std::int64_t, std::int64_t, const double*, std::int64_t, double, const double*,
                                       double*, int);
template void log_sum_exp_columns<float>(std::int64_t, std::int64_t, const float*, std::int64_t, double, const double*,
                                         double*, int);
template void log_sum_exp_columns<double>(std::int64_t, std::int64_t, const double*, std::int64_t, double,
                                          const double*, double*, int);

}  // namespace mlprims::linalg
