#include "ot/dual_passes.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/math/elementary.hpp"
#include "core/parallel.hpp"
#include "core/top_entries.hpp"
#include "ot/plan_rows.hpp"

namespace mlprims::ot::detail {

Marginals make_marginals(std::vector<double> a, std::vector<double> b) {
  Marginals w;
  w.a = std::move(a);
  w.b = std::move(b);
  w.log_a.resize(w.a.size());
  w.log_b.resize(w.b.size());
  for (std::size_t i = 0; i < w.a.size(); ++i) w.log_a[i] = std::log(w.a[i]), w.mass += w.a[i];
  for (std::size_t j = 0; j < w.b.size(); ++j) w.log_b[j] = std::log(w.b[j]);
  return w;
}

namespace {

// out = reg (log_weight - LSE(...)) given the LSE values in out.
void finish_transform(std::int64_t count, double reg, const std::vector<double>& log_weight, double* out) {
  for (std::int64_t i = 0; i < count; ++i) out[i] = reg * (log_weight[i] - out[i]);
}

std::vector<double> scaled(std::int64_t count, const double* values, double factor) {
  std::vector<double> result(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) result[i] = values[i] * factor;
  return result;
}

}  // namespace

void update_f(const CostRows& cost, const Marginals& w, double reg, const double* g, double* f, int threads) {
  const std::vector<double> bias = scaled(cost.cols(), g, 1.0 / reg);
  row_log_sum_exp(cost, -1.0 / reg, bias.data(), f, threads);
  finish_transform(cost.rows(), reg, w.log_a, f);
}

void update_g(const CostRows& cost, const Marginals& w, double reg, const double* f, double* g, int threads) {
  const std::vector<double> bias = scaled(cost.rows(), f, 1.0 / reg);
  cost.column_log_sum_exp(-1.0 / reg, bias.data(), g, threads);
  finish_transform(cost.cols(), reg, w.log_b, g);
}

namespace {

// What one thread gathers over its rows.
struct ThreadSums {
  std::vector<double> col_sums, best_value;
  std::vector<std::int64_t> best_row;
  mlprims::detail::LargestEntriesScratch top;
  double total = 0.0, transport_cost = 0.0;
};

}  // namespace

PlanEvaluation evaluate_plan(const CostRows& cost, const Marginals& w, double reg, const double* f, const double* g,
                             std::int64_t keep_per_row, int threads) {
  const std::int64_t n = cost.rows(), m = cost.cols();
  const std::int64_t keep = std::min(keep_per_row, m);
  PlanEvaluation out;
  out.row_sums.assign(static_cast<std::size_t>(n), 0.0);
  std::vector<std::int64_t> kept_index(static_cast<std::size_t>(n * keep));
  std::vector<double> kept_value(static_cast<std::size_t>(n * keep));
  std::vector<ThreadSums> sums(static_cast<std::size_t>(plan_row_threads(cost, threads)));
  for_each_plan_row(cost, f, g, reg, threads, nullptr,
                    [&](std::int64_t i, const double* pv, const double* c, double row_sum, double*) {
                      ThreadSums& mine = sums[static_cast<std::size_t>(mlprims::detail::thread_index())];
                      if (mine.col_sums.empty()) {
                        mine.col_sums.assign(static_cast<std::size_t>(m), 0.0);
                        if (keep > 0) {
                          mine.best_value.assign(static_cast<std::size_t>(m), -1.0);
                          mine.best_row.assign(static_cast<std::size_t>(m), -1);
                        }
                      }
                      double* col_sums = mine.col_sums.data();
                      double row_cost = 0.0;
#pragma omp simd reduction(+ : row_cost)
                      for (std::int64_t j = 0; j < m; ++j) {
                        row_cost += pv[j] * c[j];
                        col_sums[j] += pv[j];
                      }
                      out.row_sums[i] = row_sum;
                      mine.total += row_sum;
                      mine.transport_cost += row_cost;
                      if (keep > 0) {
                        std::int64_t* index = kept_index.data() + i * keep;
                        mlprims::detail::largest_entries(m, pv, keep, index, mine.top);
                        std::sort(index, index + keep);
                        for (std::int64_t k = 0; k < keep; ++k) kept_value[i * keep + k] = pv[index[k]];
                        double* best_value = mine.best_value.data();
                        std::int64_t* best_row = mine.best_row.data();
#pragma omp simd
                        for (std::int64_t j = 0; j < m; ++j) {  // selects, not branches: they vectorize
                          const bool larger = pv[j] > best_value[j];
                          best_value[j] = larger ? pv[j] : best_value[j];
                          best_row[j] = larger ? i : best_row[j];
                        }
                      }
                    });

  out.col_sums.assign(static_cast<std::size_t>(m), 0.0);
  std::vector<double> best_value(keep > 0 ? m : 0, -1.0);
  std::vector<std::int64_t> best_row(keep > 0 ? m : 0, -1);
  for (const ThreadSums& mine : sums) {   // threads in order: the lowest row wins ties, as in one thread
    if (mine.col_sums.empty()) continue;  // a thread the runtime did not start
    out.total += mine.total;
    out.transport_cost += mine.transport_cost;
    for (std::int64_t j = 0; j < m; ++j) out.col_sums[j] += mine.col_sums[j];
    if (keep > 0) {
      for (std::int64_t j = 0; j < m; ++j) {
        if (mine.best_value[j] > best_value[j]) best_value[j] = mine.best_value[j], best_row[j] = mine.best_row[j];
      }
    }
  }

  double error = 0.0, dual = 0.0;
  for (std::int64_t i = 0; i < n; ++i) error += std::fabs(out.row_sums[i] - w.a[i]), dual += w.a[i] * f[i];
  for (std::int64_t j = 0; j < m; ++j) error += std::fabs(out.col_sums[j] - w.b[j]), dual += w.b[j] * g[j];
  out.marginal_error = std::isfinite(error) ? error : std::numeric_limits<double>::infinity();
  out.dual = dual - reg * out.total;
  if (!std::isfinite(out.dual)) out.dual = -std::numeric_limits<double>::infinity();

  if (keep > 0) {
    // Each column's largest entry joins its row unless the row kept it already.
    std::vector<std::vector<std::int64_t>> extra(static_cast<std::size_t>(n));
    for (std::int64_t j = 0; j < m; ++j) {
      const std::int64_t i = best_row[j];
      if (i < 0) continue;
      const std::int64_t* index = kept_index.data() + i * keep;
      if (!std::binary_search(index, index + keep, j)) extra[i].push_back(j);
    }
    linalg::CsrMatrix& S = out.kept;
    S.rows = n;
    S.cols = m;
    S.row_start.assign(static_cast<std::size_t>(n + 1), 0);
    for (std::int64_t i = 0; i < n; ++i) S.row_start[i + 1] = S.row_start[i] + keep + extra[i].size();
    S.column.resize(static_cast<std::size_t>(S.row_start[n]));
    S.value.resize(static_cast<std::size_t>(S.row_start[n]));
    double kept_total = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
      std::int64_t slot = S.row_start[i];
      for (std::int64_t k = 0; k < keep; ++k, ++slot) {
        S.column[slot] = kept_index[i * keep + k];
        S.value[slot] = kept_value[i * keep + k];
        kept_total += S.value[slot];
      }
      for (const std::int64_t j : extra[i]) {
        S.column[slot] = j;
        S.value[slot] = best_value[j];
        kept_total += best_value[j];
        ++slot;
      }
    }
    out.kept_mass = out.total > 0.0 ? kept_total / out.total : 0.0;
  }
  return out;
}

}  // namespace mlprims::ot::detail
