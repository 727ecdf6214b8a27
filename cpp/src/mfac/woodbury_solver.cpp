#include "mfac/woodbury_solver.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/elementwise_cpu.hpp"
#include "core/parallel.hpp"
#include "linalg/lapack.hpp"
#include "mfac/column_sweep.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace mlprims::mfac::detail {
namespace {

constexpr int kMaxRhs = 8;          // right-hand sides per pass (accumulators stay in cache)
constexpr int kMaxRefinements = 6;  // refinement steps at most (two sufficed in every test)
constexpr int kPowerIterations = 8;  // for the lower bound on ||F||
// Refinement stops at this backward error (4 eps): the residual is then at its rounding level.
constexpr double kConverged = 4.0 * std::numeric_limits<double>::epsilon();

int thread_index() {
#if defined(_OPENMP)
  return omp_get_thread_num();
#else
  return 0;
#endif
}

}  // namespace

WoodburySolver::WoodburySolver(const GradientRows& g, double damp, double scale, std::int64_t block_size,
                               std::int64_t max_rows, bool force_woodbury)
    : g_(g), damp_(damp), scale_(scale) {
  const std::int64_t d = g.cols;
  const std::int64_t step = block_size > 0 ? block_size : d;
  std::int64_t storage = 0;
  for (std::int64_t begin = 0; begin < d; begin += step) {
    Block block;
    block.begin = begin;
    block.end = std::min(d, begin + step);
    block.dense = !force_woodbury && block.width() <= max_rows;
    const std::int64_t n = block.dense ? block.width() : max_rows;
    block.factor.n = block.dense ? block.width() : g.rows;
    storage += n * n;
    blocks_.push_back(std::move(block));
  }
  factor_storage_.assign(static_cast<std::size_t>(storage), 0.0);
  std::int64_t offset = 0;
  for (Block& block : blocks_) {
    block.factor.data = factor_storage_.data() + offset;
    const std::int64_t n = block.dense ? block.width() : max_rows;
    offset += n * n;
  }
}

void WoodburySolver::reset_rows(const GradientRows& g, double scale) {
  g_ = g;
  scale_ = scale;
  blocks_.front().factor.n = g.rows;
}

double WoodburySolver::build_block(Block& block, bool& finite) {
  const std::int64_t m = g_.rows;
  SymmetricFactor& f = block.factor;
  const std::int64_t n = f.n;
  std::fill(f.data, f.data + n * n, 0.0);
  if (block.dense) {
    // F_b = damp I + (1/scale) G_b^T G_b from the b columns of the block, widened to double.
    std::vector<double> columns(static_cast<std::size_t>(m * block.width()));
    finite = widen_columns(g_, block.begin, block.end, columns.data()) && finite;
    linalg::syrk_lower(false, n, m, 1.0 / scale_, columns.data(), n, 0.0, f.data, n);
    for (std::int64_t j = 0; j < n; ++j) f.data[j * n + j] += damp_;
  } else {
    // K_b = scale damp I + G_b G_b^T, accumulated chunk by chunk of widened columns.
    const std::int64_t chunk = std::max<std::int64_t>(512, (std::int64_t{1} << 19) / std::max<std::int64_t>(m, 1));
    std::vector<double> columns(static_cast<std::size_t>(m * std::min(chunk, block.width())));
    for (std::int64_t begin = block.begin; begin < block.end; begin += chunk) {
      const std::int64_t end = std::min(block.end, begin + chunk);
      finite = widen_columns(g_, begin, end, columns.data()) && finite;
      linalg::syrk_lower(true, m, end - begin, 1.0, columns.data(), end - begin, 1.0, f.data, n);
    }
    for (std::int64_t j = 0; j < n; ++j) f.data[j * n + j] += scale_ * damp_;
  }
  // ||F_b|| = lambda_max(F_b), or lambda_max(K_b)/scale for the Woodbury form.
  const double bound = largest_eigenvalue_bound(n, f.data, n, kPowerIterations) / (block.dense ? 1.0 : scale_);
  factorize(f);
  return bound;
}

bool WoodburySolver::build_factors(bool check_finite) {
  // One block after another: the BLAS threads each Gram product and factorization itself.
  bool finite = true;
  norm_bound_ = 0.0;
  for (Block& block : blocks_) norm_bound_ = std::max(norm_bound_, build_block(block, finite));
  return finite || !check_finite;
}

std::int64_t WoodburySolver::block_of(std::int64_t column) const {
  const std::int64_t step = blocks_.front().width();
  return std::min<std::int64_t>(column / std::max<std::int64_t>(step, 1), static_cast<std::int64_t>(blocks_.size()) - 1);
}

template <class Finish>
void WoodburySolver::sweep(Select select, int k, const double* coefficients, Finish&& finish,
                           const double* project_source, double* project_out, double* norms) const {
  const std::int64_t m = g_.rows, d = g_.cols;
  const bool fused = coefficients != nullptr && project_source != nullptr;
  const std::int64_t chunk = fused ? fused_chunk_columns(g_) : streaming_chunk_columns(g_, k);
  const auto selected = [select](const Block& b) {
    return select == Select::kAll || (select == Select::kDense) == b.dense;
  };
  const auto run_chunk = [&](std::size_t b, std::int64_t begin, std::int64_t end, double* acc, double* project,
                             double* chunk_norms) {
    if (coefficients != nullptr) combine_columns(g_, begin, end, coefficients + b * k * m, k, acc);
    finish(blocks_[b], begin, end, acc, chunk_norms);
    if (project_source != nullptr) project_columns(g_, begin, end, project_source, d, k, project);
  };
  if (norms != nullptr) std::fill(norms, norms + 2 * k, 0.0);
  if (blocks_.size() == 1) {
    // One block: split its chunks among threads, each with private projection accumulators.
    if (!selected(blocks_.front())) return;
    const std::int64_t chunks = (d + chunk - 1) / chunk;
    const int threads = mlprims::detail::threads_for(m * d, 1 << 16);
    std::vector<double> private_projections(static_cast<std::size_t>(threads * k * m), 0.0);
    std::vector<double> private_norms(static_cast<std::size_t>(threads * 2 * k), 0.0);
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
#endif
    {
      const int t = thread_index();
      std::vector<double> acc(static_cast<std::size_t>(k * chunk));
#if defined(_OPENMP)
#pragma omp for schedule(static)
#endif
      for (std::int64_t c = 0; c < chunks; ++c) {
        run_chunk(0, c * chunk, std::min(d, (c + 1) * chunk), acc.data(), private_projections.data() + t * k * m,
                  private_norms.data() + t * 2 * k);
      }
    }
    for (int t = 0; t < threads; ++t) {
      if (project_out != nullptr) {
        for (std::int64_t i = 0; i < k * m; ++i) project_out[i] += private_projections[t * k * m + i];
      }
      if (norms != nullptr) {
        for (int r = 0; r < 2 * k; ++r) norms[r] += private_norms[t * 2 * k + r];
      }
    }
    return;
  }
  // Many blocks: one thread per block at a time, writing its own projections.
  const int threads = mlprims::detail::threads_for(static_cast<std::int64_t>(blocks_.size()), 1);
  std::vector<double> private_norms(static_cast<std::size_t>(threads * 2 * k), 0.0);
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
#endif
  {
    const int t = thread_index();
    std::vector<double> acc(static_cast<std::size_t>(k * chunk));
#if defined(_OPENMP)
#pragma omp for schedule(dynamic, 4)
#endif
    for (std::size_t b = 0; b < blocks_.size(); ++b) {
      if (!selected(blocks_[b])) continue;
      for (std::int64_t begin = blocks_[b].begin; begin < blocks_[b].end; begin += chunk) {
        run_chunk(b, begin, std::min(blocks_[b].end, begin + chunk), acc.data(),
                  project_out != nullptr ? project_out + b * k * m : nullptr, private_norms.data() + t * 2 * k);
      }
    }
  }
  if (norms != nullptr) {
    for (int t = 0; t < threads; ++t) {
      for (int r = 0; r < 2 * k; ++r) norms[r] += private_norms[t * 2 * k + r];
    }
  }
}

void WoodburySolver::solve_woodbury_blocks(double* projections, int k) const {
  const std::int64_t m = g_.rows;
  for (std::size_t b = 0; b < blocks_.size(); ++b) {
    if (!blocks_[b].dense) solve_factored(blocks_[b].factor, projections + b * k * m, k, m);
  }
}

void WoodburySolver::solve_dense_blocks(double* vectors, int k) const {
  const std::int64_t d = g_.cols;
  for (const Block& block : blocks_) {
    // The block of k x d row-major vectors is a (width x k) column-major matrix with ld = d.
    if (block.dense) solve_factored(block.factor, vectors + block.begin, k, d);
  }
}

void WoodburySolver::project(const double* x, int k, double* q) const {
  std::fill(q, q + blocks_.size() * static_cast<std::size_t>(k * g_.rows), 0.0);
  sweep(Select::kAll, k, nullptr, [](const Block&, std::int64_t, std::int64_t, const double*, double*) {}, x, q,
        nullptr);
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
  const std::int64_t d = g_.cols;
  const std::size_t projection_size = blocks_.size() * static_cast<std::size_t>(k * g_.rows);
  const double inverse_damp = 1.0 / damp_;
  solve_woodbury_blocks(q, k);  // z = K^{-1} G source
  const double* combination_source = source;
  if (accurate) {
    // w = scale K^{-1} z; v = source - G^T z with G v projected in the same pass; c = K^{-1} G v - damp w.
    std::vector<double> w(q, q + projection_size);
    solve_woodbury_blocks(w.data(), k);
    std::vector<double> projected_v(projection_size, 0.0);
    sweep(
        Select::kWoodbury, k, q,
        [&](const Block&, std::int64_t begin, std::int64_t end, const double* acc, double*) {
          const std::int64_t width = end - begin;
          for (int r = 0; r < k; ++r) {
            for (std::int64_t c = 0; c < width; ++c) {
              scratch[r * d + begin + c] = source[r * d + begin + c] - acc[r * width + c];
            }
          }
        },
        scratch, projected_v.data(), nullptr);
    solve_woodbury_blocks(projected_v.data(), k);
    for (std::size_t i = 0; i < projection_size; ++i) q[i] = projected_v[i] - damp_ * scale_ * w[i];
    combination_source = scratch;
  }
  // target (+)= (source - G^T q)/damp.
  sweep(
      Select::kWoodbury, k, q,
      [&](const Block&, std::int64_t begin, std::int64_t end, const double* acc, double*) {
        const std::int64_t width = end - begin;
        for (int r = 0; r < k; ++r) {
          for (std::int64_t c = 0; c < width; ++c) {
            const std::int64_t j = r * d + begin + c;
            const double value = (combination_source[j] - acc[r * width + c]) * inverse_damp;
            target[j] = accumulate ? target[j] + value : value;
          }
        }
      },
      target_projection != nullptr ? target : nullptr, target_projection, nullptr);
}

void WoodburySolver::apply_dense(const double* source, double* target, int k, bool accumulate,
                                 double* target_projection) const {
  const std::int64_t d = g_.cols;
  std::vector<double> solved(static_cast<std::size_t>(k * d), 0.0);
  for (const Block& b : blocks_) {
    if (!b.dense) continue;
    for (int r = 0; r < k; ++r) std::copy(source + r * d + b.begin, source + r * d + b.end, solved.data() + r * d + b.begin);
  }
  solve_dense_blocks(solved.data(), k);
  for (const Block& b : blocks_) {
    if (!b.dense) continue;
    for (int r = 0; r < k; ++r) {
      for (std::int64_t j = b.begin; j < b.end; ++j) {
        target[r * d + j] = accumulate ? target[r * d + j] + solved[r * d + j] : solved[r * d + j];
      }
    }
  }
  if (target_projection != nullptr) {
    sweep(Select::kDense, k, nullptr, [](const Block&, std::int64_t, std::int64_t, const double*, double*) {}, target,
          target_projection, nullptr);
  }
}

SolveInfo WoodburySolver::solve(const double* x, double* y, int k, bool refine, const double* projection) const {
  const std::int64_t d = g_.cols;
  const std::size_t projection_size = blocks_.size() * static_cast<std::size_t>(k * g_.rows);
  const bool any_dense = std::any_of(blocks_.begin(), blocks_.end(), [](const Block& b) { return b.dense; });
  const bool any_woodbury = std::any_of(blocks_.begin(), blocks_.end(), [](const Block& b) { return !b.dense; });
  const auto no_output = [](const Block&, std::int64_t, std::int64_t, const double*, double*) {};
  std::vector<double> q(projection_size, 0.0);  // G x (then overwritten)
  std::vector<double> p(projection_size, 0.0);  // G y, for the residual

  // y = F^{-1} x.
  if (any_woodbury) {
    if (projection != nullptr) {
      std::copy(projection, projection + projection_size, q.begin());
    } else {
      sweep(Select::kWoodbury, k, nullptr, no_output, x, q.data(), nullptr);
    }
    apply_woodbury(x, q.data(), y, y, k, /*accumulate=*/false, /*accurate=*/refine, refine ? p.data() : nullptr);
  }
  if (any_dense) apply_dense(x, y, k, /*accumulate=*/false, refine ? p.data() : nullptr);
  SolveInfo info;
  if (!refine) return info;

  // Iterative refinement: r = x - F y = x - damp y - G^T (G y)/scale (G r projected in the same
  // pass), y += F^{-1} r, until the backward error is at rounding level or stops halving.
  std::vector<double> x_norms(static_cast<std::size_t>(k), 0.0);
  for (int r = 0; r < k; ++r) {
    for (std::int64_t j = 0; j < d; ++j) x_norms[r] += x[r * d + j] * x[r * d + j];
    x_norms[r] = std::sqrt(x_norms[r]);
  }
  std::vector<double> residual(static_cast<std::size_t>(k * d));
  std::vector<double> previous(static_cast<std::size_t>(k * d));
  std::vector<double> t(projection_size), norms(static_cast<std::size_t>(2 * k));  // ||r||^2, then ||y||^2
  std::vector<double> scaled_p(projection_size);
  double best = std::numeric_limits<double>::infinity();
  for (int step = 0;; ++step) {
    for (std::size_t i = 0; i < projection_size; ++i) scaled_p[i] = p[i] / scale_;
    std::fill(t.begin(), t.end(), 0.0);
    sweep(
        Select::kAll, k, scaled_p.data(),
        [&](const Block&, std::int64_t begin, std::int64_t end, const double* acc, double* chunk_norms) {
          const std::int64_t width = end - begin;
          for (int r = 0; r < k; ++r) {
            double residual_sum = 0.0, y_sum = 0.0;
            for (std::int64_t c = 0; c < width; ++c) {
              const std::int64_t j = r * d + begin + c;
              const double value = x[j] - damp_ * y[j] - acc[r * width + c];
              residual[j] = value;
              residual_sum += value * value;
              y_sum += y[j] * y[j];
            }
            chunk_norms[r] += residual_sum;
            chunk_norms[k + r] += y_sum;
          }
        },
        residual.data(), t.data(), norms.data());
    double relative = 0.0, backward = 0.0;
    for (int r = 0; r < k; ++r) {
      const double residual_norm = std::sqrt(norms[r]), y_norm = std::sqrt(norms[k + r]);
      relative = std::max(relative, x_norms[r] > 0.0 ? residual_norm / x_norms[r] : residual_norm);
      const double denominator = norm_bound_ * y_norm + x_norms[r];
      backward = std::max(backward, denominator > 0.0 ? residual_norm / denominator : residual_norm);
    }
    if (!(backward < 0.5 * best)) {
      if (backward > best) {  // the last correction made it worse: keep the better one
        std::copy(previous.begin(), previous.end(), y);
        info.refinement_steps -= 1;
      }
      break;
    }
    best = backward;
    info.relative_residual = relative;
    info.backward_error = backward;
    if (step == kMaxRefinements || backward <= kConverged) break;
    info.refinement_steps = step + 1;
    std::copy(y, y + k * d, previous.begin());
    std::fill(p.begin(), p.end(), 0.0);
    if (any_woodbury) {
      apply_woodbury(residual.data(), t.data(), y, residual.data(), k, /*accumulate=*/true, /*accurate=*/true,
                     p.data());
    }
    if (any_dense) apply_dense(residual.data(), y, k, /*accumulate=*/true, p.data());
  }
  return info;
}

SolveInfo WoodburySolver::solve(const TensorView& x, const TensorView& out, bool refine) const {
  const std::int64_t d = g_.cols;
  const std::int64_t rows = x.ndim() == 1 ? 1 : x.shape(0);
  const auto direct = [](const TensorView& t) { return t.dtype() == DType::kFloat64 && t.is_contiguous(); };
  const bool x_direct = direct(x), out_direct = direct(out);
  SolveInfo info;
  const std::int64_t batch = std::min<std::int64_t>(kMaxRhs, rows);
  std::vector<double> xs(x_direct ? 0 : static_cast<std::size_t>(batch * d));
  std::vector<double> ys(out_direct ? 0 : static_cast<std::size_t>(batch * d));
  const auto offset = [](const TensorView& t, std::int64_t r, std::int64_t j) -> std::int64_t {
    return t.ndim() == 1 ? j * t.stride(0) : r * t.stride(0) + j * t.stride(1);
  };
  for (std::int64_t first = 0; first < rows; first += kMaxRhs) {
    const int k = static_cast<int>(std::min<std::int64_t>(kMaxRhs, rows - first));
    const double* xp = x_direct ? x.data_as<const double>() + first * d : xs.data();
    double* yp = out_direct ? out.data_as<double>() + first * d : ys.data();
    if (!x_direct) {
      const char* data = static_cast<const char*>(x.data());
      const auto size = static_cast<std::int64_t>(dtype_size(x.dtype()));
      for (int r = 0; r < k; ++r) {
        for (std::int64_t j = 0; j < d; ++j) {
          xs[r * d + j] = mlprims::detail::load_as_double(data + offset(x, first + r, j) * size, x.dtype());
        }
      }
    }
    const SolveInfo part = solve(xp, yp, k, refine);
    info.refinement_steps = std::max(info.refinement_steps, part.refinement_steps);
    info.relative_residual = std::max(info.relative_residual, part.relative_residual);
    info.backward_error = std::max(info.backward_error, part.backward_error);
    if (!out_direct) {
      char* data = static_cast<char*>(out.data());
      const auto size = static_cast<std::int64_t>(dtype_size(out.dtype()));
      for (int r = 0; r < k; ++r) {
        for (std::int64_t j = 0; j < d; ++j) {
          mlprims::detail::store_from_double(data + offset(out, first + r, j) * size, out.dtype(), ys[r * d + j]);
        }
      }
    }
  }
  return info;
}

void WoodburySolver::diagonal(double* out) const {
  const std::int64_t m = g_.rows;
  const double inverse_damp = 1.0 / damp_;
  // Columns per triangular solve: a few megabytes of widened gradients.
  const std::int64_t chunk = std::max<std::int64_t>(256, (std::int64_t{1} << 19) / std::max<std::int64_t>(m, 1));
  std::vector<double> columns, solved;
  for (const Block& block : blocks_) {
    if (block.dense) {
      const std::int64_t width = block.width();
      solved.assign(static_cast<std::size_t>(width * width), 0.0);
      invert(block.factor, solved.data());
      for (std::int64_t c = 0; c < width; ++c) out[block.begin + c] = solved[c * width + c];
      continue;
    }
    // diag_j = (1 - g_j^T K^{-1} g_j)/damp with g_j the column j of G (an m-vector). With K = L L^T
    // that is (1 - ||L^{-1} g_j||^2)/damp: one triangular solve per chunk of columns.
    for (std::int64_t begin = block.begin; begin < block.end; begin += chunk) {
      const std::int64_t width = std::min(chunk, block.end - begin);
      columns.resize(static_cast<std::size_t>(m * width));
      widen_columns(g_, begin, begin + width, columns.data());  // row-major m x width = (width x m)^T
      if (block.factor.cholesky) {
        linalg::solve_right_lower_transposed(width, m, block.factor.data, m, columns.data(), width);
        for (std::int64_t c = 0; c < width; ++c) out[begin + c] = 0.0;
        for (std::int64_t i = 0; i < m; ++i) {
          const double* row = columns.data() + i * width;
          for (std::int64_t c = 0; c < width; ++c) out[begin + c] += row[c] * row[c];
        }
        for (std::int64_t c = 0; c < width; ++c) out[begin + c] = (1.0 - out[begin + c]) * inverse_damp;
        continue;
      }
      solved.resize(columns.size());
      for (std::int64_t i = 0; i < m; ++i) {
        for (std::int64_t c = 0; c < width; ++c) solved[c * m + i] = columns[i * width + c];  // m x width column-major
      }
      solve_factored(block.factor, solved.data(), width, m);
      for (std::int64_t c = 0; c < width; ++c) {
        double quadratic = 0.0;
        for (std::int64_t i = 0; i < m; ++i) quadratic += columns[i * width + c] * solved[c * m + i];
        out[begin + c] = (1.0 - quadratic) * inverse_damp;
      }
    }
  }
}

std::vector<double> WoodburySolver::entries(const std::vector<std::int64_t>& rows,
                                            const std::vector<std::int64_t>& cols) const {
  const std::int64_t m = g_.rows;
  std::vector<double> values(rows.size(), 0.0);
  // One solve per distinct column: F^{-1} e_c restricted to its block, or K^{-1} g_c.
  std::map<std::int64_t, std::vector<std::size_t>> by_column;
  for (std::size_t t = 0; t < cols.size(); ++t) {
    if (block_of(rows[t]) == block_of(cols[t])) by_column[cols[t]].push_back(t);
  }
  std::vector<double> vector;
  for (const auto& [column, uses] : by_column) {
    const Block& block = blocks_[static_cast<std::size_t>(block_of(column))];
    if (block.dense) {
      vector.assign(static_cast<std::size_t>(block.width()), 0.0);
      vector[column - block.begin] = 1.0;
      solve_factored(block.factor, vector.data(), 1, block.width());
      for (std::size_t t : uses) values[t] = vector[rows[t] - block.begin];
      continue;
    }
    vector.resize(static_cast<std::size_t>(m));
    with_storage_type(g_.dtype, [&](auto tag) {
      using T = typename decltype(tag)::type;
      for (std::int64_t i = 0; i < m; ++i) vector[i] = widen(reinterpret_cast<const T*>(g_.row(i)), column);
      solve_factored(block.factor, vector.data(), 1, m);
      for (std::size_t t : uses) {
        double quadratic = 0.0;
        for (std::int64_t i = 0; i < m; ++i) quadratic += widen(reinterpret_cast<const T*>(g_.row(i)), rows[t]) * vector[i];
        values[t] = ((rows[t] == column ? 1.0 : 0.0) - quadratic) / damp_;
      }
    });
  }
  return values;
}

}  // namespace mlprims::mfac::detail
