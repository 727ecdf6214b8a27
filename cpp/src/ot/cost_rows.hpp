// The cost matrix of a transport problem as the solvers see it: one row at a time, as doubles.
// A dense matrix hands out its rows (converted from float32 when needed); point clouds compute
// them on the fly, so that a problem never needs n x m memory unless its costs are given dense.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "mlprims/ot.hpp"

namespace mlprims::ot::detail {

class CostRows {
 public:
  CostRows(std::int64_t rows, std::int64_t cols) : rows_(rows), cols_(cols) {}
  virtual ~CostRows() = default;
  std::int64_t rows() const { return rows_; }
  std::int64_t cols() const { return cols_; }

  // Row i of C: a pointer into the matrix, or into `scratch` (cols() doubles) where it was computed.
  virtual const double* row(std::int64_t i, double* scratch) const = 0;
  // out_j = log sum_i exp(scale * C_ij + bias_i), by whatever walk suits the storage.
  virtual void column_log_sum_exp(double scale, const double* bias, double* out, int threads) const = 0;
  // Whether the rows are a dense matrix in memory (the scaling Sinkhorn keeps a kernel beside it).
  virtual bool is_dense() const = 0;

 private:
  std::int64_t rows_, cols_;
};

// out_i = log sum_j exp(scale * C_ij + bias_j), row by row.
void row_log_sum_exp(const CostRows& cost, double scale, const double* bias, double* out, int threads);

// A row-major matrix of float or double with `ld` elements between rows (not owned).
template <class T>
std::unique_ptr<CostRows> dense_cost(std::int64_t n, std::int64_t m, const T* C, std::int64_t ld);

// C_ij = c(x_i, y_j) for x (n, d) and y (m, d), row-major doubles (copied: O((n + m) d) memory).
std::unique_ptr<CostRows> point_cost(std::int64_t n, std::int64_t m, std::int64_t d, const double* x, const double* y,
                                     PointCost cost);

// For point clouds: sum_j w_j grad_x c(x_i, y_j) for one row's weights w (m), into grad (d).
void point_cost_gradient_row(const CostRows& cost, std::int64_t i, const double* w, double* scratch, double* grad);

}  // namespace mlprims::ot::detail
