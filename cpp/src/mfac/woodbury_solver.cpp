#include "mfac/woodbury_solver.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace mlprims::mfac::detail {
namespace {

constexpr int kMaxRhs = 8;           // right-hand sides per pass (accumulators stay in cache)
constexpr int kMaxRefinements = 6;   // refinement steps at most (two sufficed in every test)
constexpr int kPowerIterations = 8;  // for the lower bound on ||F||
// Refinement stops at this backward error (4 eps): the residual is then at its rounding level.
constexpr double kConverged = 4.0 * std::numeric_limits<double>::epsilon();

}  // namespace

// Diagonal entries of K (or of a dense F block) at most this large keep every entry of the matrix,
// of its factor and of the products below DBL_MAX (a quarter: the solves add a few such terms).
const double kLargestDiagonal = 0.25 * std::numeric_limits<double>::max();

namespace {}  // namespace

WoodburySolver::WoodburySolver(GradientPasses& passes, double damp, double scale, std::int64_t block_size,
                               std::int64_t max_rows, bool force_woodbury)
    : passes_(passes), damp_(damp), scale_(scale) {
  const std::int64_t d = passes.rows().cols;
  step_ = block_size > 0 ? block_size : d;
  std::vector<BlockRange> blocks;
  std::int64_t storage = 0;
  for (std::int64_t begin = 0; begin < d; begin += step_) {
    BlockRange block{begin, std::min(d, begin + step_), false};
    block.dense = !force_woodbury && block.width() <= max_rows;
    const std::int64_t n = block.dense ? block.width() : max_rows;
    storage += n * n;
    any_dense_ = any_dense_ || block.dense;
    any_woodbury_ = any_woodbury_ || !block.dense;
    blocks.push_back(block);
  }
  factor_storage_.assign(static_cast<std::size_t>(storage), 0.0);
  std::int64_t offset = 0;
  for (const BlockRange& block : blocks) {
    SymmetricFactor factor;
    factor.data = factor_storage_.data() + offset;
    factor.n = block.dense ? block.width() : passes.rows().rows;
    const std::int64_t n = block.dense ? block.width() : max_rows;
    offset += n * n;
    factors_.push_back(std::move(factor));
  }
  passes_.set_blocks(std::move(blocks));
}

void WoodburySolver::set_rows(std::int64_t rows, double scale) {
  passes_.set_row_count(rows);
  scale_ = scale;
  factors_.front().n = rows;
}

std::size_t WoodburySolver::projection_size(int k) const {
  return passes_.blocks().size() * static_cast<std::size_t>(k * passes_.rows().rows);
}

double WoodburySolver::build_block(std::size_t b, FactorStatus& status) {
  const BlockRange& block = passes_.blocks()[b];
  SymmetricFactor& f = factors_[b];
  const std::int64_t n = f.n;
  if (!passes_.gram(block, f.data)) status = FactorStatus::kNonFiniteGradients;
  if (block.dense) {
    // F_b = damp I + (1/scale) G_b^T G_b.
    for (std::int64_t j = 0; j < n; ++j) {
      for (std::int64_t i = j; i < n; ++i) f.data[j * n + i] /= scale_;
      f.data[j * n + j] += damp_;
    }
  } else {
    // K_b = scale damp I + G_b G_b^T.
    for (std::int64_t j = 0; j < n; ++j) f.data[j * n + j] += scale_ * damp_;
  }
  // Finite gradients whose squares (or scale damp) overflow leave inf in the matrix: every
  // product would then be NaN. The diagonal is the largest entry of a positive semidefinite
  // matrix, so checking it suffices (O(n)).
  if (status == FactorStatus::kOk) {
    for (std::int64_t j = 0; j < n; ++j) {
      if (!(f.data[j * n + j] <= kLargestDiagonal)) status = FactorStatus::kGramOverflows;
    }
  }
  if (status != FactorStatus::kOk) return 0.0;
  // ||F_b|| = lambda_max(F_b), or lambda_max(K_b)/scale for the Woodbury form.
  const double bound = largest_eigenvalue_bound(n, f.data, n, kPowerIterations) / (block.dense ? 1.0 : scale_);
  factorize(f);
  return bound;
}

FactorStatus WoodburySolver::build_factors() {
  // One block after another: the BLAS threads each Gram product and factorization itself.
  FactorStatus status = FactorStatus::kOk;
  norm_bound_ = 0.0;
  for (std::size_t b = 0; b < factors_.size() && status == FactorStatus::kOk; ++b) {
    norm_bound_ = std::max(norm_bound_, build_block(b, status));
  }
  return status;
}

std::int64_t WoodburySolver::block_of(std::int64_t column) const {
  return std::min<std::int64_t>(column / std::max<std::int64_t>(step_, 1),
                                static_cast<std::int64_t>(factors_.size()) - 1);
}

void WoodburySolver::solve_woodbury_blocks(double* projections, int k) const {
  const std::int64_t m = passes_.rows().rows;
  for (std::size_t b = 0; b < factors_.size(); ++b) {
    if (!passes_.blocks()[b].dense) solve_factored(factors_[b], projections + b * k * m, k, m);
  }
}

void WoodburySolver::solve_dense_blocks(double* vectors, int k) const {
  const std::int64_t d = passes_.rows().cols;
  for (std::size_t b = 0; b < factors_.size(); ++b) {
    // The block of k x d row-major vectors is a (width x k) column-major matrix with ld = d.
    if (passes_.blocks()[b].dense) solve_factored(factors_[b], vectors + passes_.blocks()[b].begin, k, d);
  }
}

// The plain Woodbury product (source - G^T K^{-1} G source)/damp subtracts two nearly equal
// vectors when the source lies in the span of the gradients and damp is small: its error is about
// eps ||source|| / damp in every direction, which F amplifies to a backward error of eps cond(F).
// The accurate form uses F^{-1} = P^2/damp + scale G^T K^{-2} G with P = I - G^T K^{-1} G = damp F^{-1}:
// v = P source is computed once (cancelling, as before), but applying P again damps the error's
// component in the span by m damp / (m damp + sigma^2) and keeps the rest, on which F acts as damp;
// the span part of the answer comes from scale G^T K^{-2} G source, which does not cancel. Its
// backward error is about eps (1 + eps cond(F)) at one more pass over G.
void WoodburySolver::apply_woodbury(const double* source, double* q, double* target, double* scratch, int k,
                                    bool accumulate, bool accurate, double* target_projection) const {
  const std::size_t size = projection_size(k);
  solve_woodbury_blocks(q, k);  // z = K^{-1} G source
  const double* combination_source = source;
  if (accurate) {
    // w = K^{-1} (scale damp z); v = source - G^T z with G v projected in the same pass;
    // q = K^{-1} G v - w. (scale damp z is at most ||G source||, as ||K^{-1}|| <= 1/(scale damp):
    // scaling before the solve keeps w in range where K^{-2} G source alone would under- or
    // overflow, e.g. for ||G|| = 1e150 and damp = 1e294.)
    std::vector<double> w(q, q + size);
    for (double& value : w) value *= damp_ * scale_;
    solve_woodbury_blocks(w.data(), k);
    std::vector<double> projected_v(size, 0.0);
    Combination v;
    v.select = Select::kWoodbury;
    v.k = k;
    v.a = source;
    v.coefficients = q;
    v.out = scratch;
    v.out_projection = projected_v.data();
    passes_.combine(v);
    solve_woodbury_blocks(projected_v.data(), k);
    for (std::size_t i = 0; i < size; ++i) q[i] = projected_v[i] - w[i];
    combination_source = scratch;
  }
  // target (+)= (source - G^T q)/damp.
  Combination result;
  result.select = Select::kWoodbury;
  result.k = k;
  result.a = combination_source;
  result.coefficients = q;
  result.out_scale = 1.0 / damp_;
  result.accumulate = accumulate;
  result.out = target;
  result.out_projection = target_projection;
  passes_.combine(result);
}

void WoodburySolver::apply_dense(const double* source, double* target, int k, bool accumulate,
                                 double* target_projection) const {
  const std::int64_t d = passes_.rows().cols;
  const auto count = static_cast<std::int64_t>(k) * d;
  std::vector<double> solved(static_cast<std::size_t>(count)), result(static_cast<std::size_t>(count));
  passes_.download(source, solved.data(), count);
  solve_dense_blocks(solved.data(), k);
  // Woodbury blocks' columns of the target are kept as they are.
  if (any_woodbury_ || accumulate) passes_.download(target, result.data(), count);
  for (const BlockRange& block : passes_.blocks()) {
    if (!block.dense) continue;
    for (int r = 0; r < k; ++r) {
      for (std::int64_t j = block.begin; j < block.end; ++j) {
        result[r * d + j] = accumulate ? result[r * d + j] + solved[r * d + j] : solved[r * d + j];
      }
    }
  }
  passes_.upload(result.data(), target, count);
  if (target_projection != nullptr) passes_.project(Select::kDense, k, target, target_projection);
}

// The figures of one right-hand side from the norms of x, r = x - F y and y. Each quotient is
// formed so that it neither overflows nor underflows where the true value is representable:
// ||F|| ||y|| may overflow although ||r|| / (||F|| ||y||) does not.
void WoodburySolver::add_figures(double x_norm, double residual_norm, double y_norm, SolveInfo& info) const {
  const double relative = x_norm > 0.0 ? residual_norm / x_norm : residual_norm;
  double backward = 0.0;
  if (residual_norm > 0.0) {
    const double scaled_y = norm_bound_ * y_norm;
    if (std::isfinite(scaled_y)) {
      const double denominator = scaled_y + x_norm;
      backward = denominator > 0.0 ? residual_norm / denominator : residual_norm;
    } else {
      backward = residual_norm / y_norm / norm_bound_;  // x_norm is negligible next to ||F|| ||y||
    }
  }
  // NaN (from NaN in x or G) must survive the max.
  info.relative_residual = std::isnan(relative) ? relative : std::max(info.relative_residual, relative);
  info.backward_error = std::isnan(backward) ? backward : std::max(info.backward_error, backward);
}

void WoodburySolver::residual(const double* x, const double* y, const double* gy, int k, double* r,
                              double* r_projection, double* norms) const {
  const std::size_t size = projection_size(k);
  std::vector<double> scaled(size);
  for (std::size_t i = 0; i < size; ++i) scaled[i] = gy[i] / scale_;
  if (r_projection != nullptr) std::fill(r_projection, r_projection + size, 0.0);
  Combination c;
  c.select = Select::kAll;
  c.k = k;
  c.a = x;
  c.b = y;
  c.b_scale = -damp_;
  c.coefficients = scaled.data();
  c.out = r;
  c.out_projection = r_projection;
  c.norms = norms;
  passes_.combine(c);
}

SolveInfo WoodburySolver::solve(const double* x, double* y, int k, bool refine, const double* projection) const {
  const std::int64_t d = passes_.rows().cols;
  const std::size_t size = projection_size(k);
  std::vector<double> q(size, 0.0);  // G x (then overwritten)
  std::vector<double> p(size, 0.0);  // G y, for the residual

  // y = F^{-1} x.
  if (any_woodbury_) {
    if (projection != nullptr) {
      std::copy(projection, projection + size, q.begin());
    } else {
      passes_.project(Select::kWoodbury, k, x, q.data());
    }
    apply_woodbury(x, q.data(), y, y, k, /*accumulate=*/false, /*accurate=*/refine, refine ? p.data() : nullptr);
  }
  if (any_dense_) apply_dense(x, y, k, /*accumulate=*/false, refine ? p.data() : nullptr);
  SolveInfo info;
  if (!refine) return info;

  // Iterative refinement: r = x - F y = x - damp y - G^T (G y)/scale (G r projected in the same
  // pass), y += F^{-1} r, until the backward error is at rounding level or stops halving.
  std::vector<double> x_norms(static_cast<std::size_t>(k));
  passes_.norms(x, k, x_norms.data());
  const VectorBuffer residual_vectors = passes_.allocate(k * d), previous = passes_.allocate(k * d);
  std::vector<double> t(size), norms(static_cast<std::size_t>(2 * k));  // ||r||, then ||y||
  double best = std::numeric_limits<double>::infinity();
  for (int step = 0;; ++step) {
    residual(x, y, p.data(), k, residual_vectors.data(), t.data(), norms.data());
    SolveInfo figures;
    figures.relative_residual = figures.backward_error = 0.0;
    for (int j = 0; j < k; ++j) add_figures(x_norms[j], norms[j], norms[k + j], figures);
    const double backward = figures.backward_error;
    if (!(backward < 0.5 * best)) {
      if (backward > best) {  // the last correction made it worse: keep the better one
        passes_.copy(previous.data(), y, k * d);
        info.refinement_steps -= 1;
      }
      if (std::isnan(backward) && step == 0) {  // nothing better to keep: report the NaN
        info.relative_residual = figures.relative_residual;
        info.backward_error = backward;
      }
      break;
    }
    best = backward;
    info.relative_residual = figures.relative_residual;
    info.backward_error = backward;
    if (step == kMaxRefinements || backward <= kConverged) break;
    info.refinement_steps = step + 1;
    passes_.copy(y, previous.data(), k * d);
    std::fill(p.begin(), p.end(), 0.0);
    if (any_woodbury_) {
      apply_woodbury(residual_vectors.data(), t.data(), y, residual_vectors.data(), k, /*accumulate=*/true,
                     /*accurate=*/true, p.data());
    }
    if (any_dense_) apply_dense(residual_vectors.data(), y, k, /*accumulate=*/true, p.data());
  }
  return info;
}

SolveInfo WoodburySolver::measure(const double* x, const double* y, int k) const {
  const std::int64_t d = passes_.rows().cols;
  const std::size_t size = projection_size(k);
  std::vector<double> gy(size, 0.0), x_norms(static_cast<std::size_t>(k)), norms(static_cast<std::size_t>(2 * k));
  passes_.project(Select::kAll, k, y, gy.data());
  passes_.norms(x, k, x_norms.data());
  const VectorBuffer r = passes_.allocate(k * d);
  residual(x, y, gy.data(), k, r.data(), nullptr, norms.data());
  SolveInfo info;
  info.relative_residual = info.backward_error = 0.0;
  for (int j = 0; j < k; ++j) add_figures(x_norms[j], norms[j], norms[k + j], info);
  return info;
}

void WoodburySolver::scale_rows(double* v, int k, const std::vector<double>& factors) const {
  const std::int64_t d = passes_.rows().cols;
  for (int j = 0; j < k; ++j) {
    if (factors[j] == 1.0) continue;
    Combination c;  // no coefficients: a d-length pass that does not read G
    c.select = Select::kAll;
    c.k = 1;
    c.a = v + j * d;
    c.out = v + j * d;
    c.out_scale = factors[j];
    passes_.combine(c);
  }
}

SolveInfo WoodburySolver::solve_into(double* x, double* y, int k, bool refine, double* projection,
                                     const TensorView& out, std::int64_t first) const {
  // F^{-1} is linear: solve for x / 2^e with ||x / 2^e|| in [1, 2) and multiply y by 2^e. Exact
  // (powers of two), and G x, K^{-1} G x and the residual then stay in range for any finite x
  // whose answer is representable (x = 1e300 with ||G|| = 1e100 used to overflow to NaN). With
  // ||x|| in [2^-100, 2^100] nothing can leave the range (||G|| <= ~1e154 sqrt(m) as K is
  // finite), so those rows skip the two d-length scaling passes.
  std::vector<double> norms(static_cast<std::size_t>(k)), down(norms.size(), 1.0), up(norms.size(), 1.0);
  passes_.norms(x, k, norms.data());
  for (int j = 0; j < k; ++j) {
    if (!(norms[j] > 0.0) || !std::isfinite(norms[j])) continue;
    if (norms[j] >= 0x1p-100 && norms[j] <= 0x1p100) continue;
    const int exponent = std::clamp(std::ilogb(norms[j]), -1022, 1023);
    down[j] = std::ldexp(1.0, -exponent);
    up[j] = std::ldexp(1.0, exponent);
  }
  scale_rows(x, k, down);
  if (projection != nullptr) {
    const std::size_t size = projection_size(k);
    const std::size_t m = static_cast<std::size_t>(passes_.rows().rows);
    for (std::size_t i = 0; i < size; ++i) projection[i] *= down[(i / m) % static_cast<std::size_t>(k)];
  }
  SolveInfo info = solve(x, y, k, refine, projection);
  scale_rows(y, k, up);
  passes_.store(y, first, k, out);
  if (refine && out.dtype() != DType::kFloat64) {
    // The figures must describe the array returned, which is y rounded to out's dtype: read it
    // back and measure its residual (two more passes over G).
    passes_.load(out, first, k, y);
    scale_rows(y, k, down);
    const SolveInfo rounded = measure(x, y, k);
    info.relative_residual = rounded.relative_residual;
    info.backward_error = rounded.backward_error;
  }
  return info;
}

SolveInfo WoodburySolver::solve(const TensorView& x, const TensorView& out, bool refine) const {
  const std::int64_t d = passes_.rows().cols;
  const std::int64_t rows = x.ndim() == 1 ? 1 : x.shape(0);
  const std::int64_t batch = std::min<std::int64_t>(kMaxRhs, rows);
  const VectorBuffer xs = passes_.allocate(batch * d), ys = passes_.allocate(batch * d);
  SolveInfo info;
  for (std::int64_t first = 0; first < rows; first += kMaxRhs) {
    const int k = static_cast<int>(std::min<std::int64_t>(kMaxRhs, rows - first));
    passes_.load(x, first, k, xs.data());
    const SolveInfo part = solve_into(xs.data(), ys.data(), k, refine, nullptr, out, first);
    info.refinement_steps = std::max(info.refinement_steps, part.refinement_steps);
    const bool nan_residual = std::isnan(part.relative_residual) || std::isnan(info.relative_residual);
    const bool nan_backward = std::isnan(part.backward_error) || std::isnan(info.backward_error);
    info.relative_residual = nan_residual ? std::nan("") : std::max(info.relative_residual, part.relative_residual);
    info.backward_error = nan_backward ? std::nan("") : std::max(info.backward_error, part.backward_error);
  }
  return info;
}

std::vector<double> WoodburySolver::diagonal() const {
  std::vector<double> out(static_cast<std::size_t>(passes_.rows().cols));
  std::vector<double> inverse;
  for (std::size_t b = 0; b < factors_.size(); ++b) {
    const BlockRange& block = passes_.blocks()[b];
    double* values = out.data() + block.begin;
    if (block.dense) {
      const std::int64_t width = block.width();
      inverse.assign(static_cast<std::size_t>(width * width), 0.0);
      invert(factors_[b], inverse.data());
      for (std::int64_t c = 0; c < width; ++c) values[c] = inverse[c * width + c];
      continue;
    }
    // diag_j = (1 - g_j^T K^{-1} g_j)/damp with g_j the column j of G (an m-vector).
    passes_.woodbury_quadratic(block, factors_[b], values);
    for (std::int64_t c = 0; c < block.width(); ++c) values[c] = (1.0 - values[c]) / damp_;
  }
  return out;
}

std::vector<double> WoodburySolver::entries(const std::vector<std::int64_t>& rows,
                                            const std::vector<std::int64_t>& cols) const {
  const std::int64_t m = passes_.rows().rows;
  std::vector<double> values(rows.size(), 0.0);
  // Entries within a block, grouped by column: one solve per distinct column.
  std::map<std::int64_t, std::vector<std::size_t>> by_column;
  for (std::size_t t = 0; t < cols.size(); ++t) {
    if (block_of(rows[t]) == block_of(cols[t])) by_column[cols[t]].push_back(t);
  }
  // The columns of G that Woodbury blocks need (column indices and the rows' indices).
  std::map<std::int64_t, std::size_t> needed;
  for (const auto& [column, uses] : by_column) {
    if (passes_.blocks()[static_cast<std::size_t>(block_of(column))].dense) continue;
    needed.emplace(column, 0);
    for (std::size_t t : uses) needed.emplace(rows[t], 0);
  }
  std::vector<std::int64_t> wanted;
  for (auto& [column, position] : needed) {
    position = wanted.size();
    wanted.push_back(column);
  }
  const std::vector<double> g = passes_.gather_columns(wanted);  // m values per wanted column
  std::vector<double> vector;
  for (const auto& [column, uses] : by_column) {
    const std::size_t b = static_cast<std::size_t>(block_of(column));
    const BlockRange& block = passes_.blocks()[b];
    if (block.dense) {
      vector.assign(static_cast<std::size_t>(block.width()), 0.0);
      vector[column - block.begin] = 1.0;
      solve_factored(factors_[b], vector.data(), 1, block.width());
      for (std::size_t t : uses) values[t] = vector[rows[t] - block.begin];
      continue;
    }
    // F^{-1}[r, c] = ([r == c] - g_r^T K^{-1} g_c)/damp.
    const double* g_column = g.data() + needed.at(column) * m;
    vector.assign(g_column, g_column + m);
    solve_factored(factors_[b], vector.data(), 1, m);
    for (std::size_t t : uses) {
      const double* g_row = g.data() + needed.at(rows[t]) * m;
      double quadratic = 0.0;
      for (std::int64_t i = 0; i < m; ++i) quadratic += g_row[i] * vector[i];
      values[t] = ((rows[t] == column ? 1.0 : 0.0) - quadratic) / damp_;
    }
  }
  return values;
}

}  // namespace mlprims::mfac::detail
