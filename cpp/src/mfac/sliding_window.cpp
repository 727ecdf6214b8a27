// The engine of SlidingFisherInverse: a ring buffer of gradients (owned by the passes, on the CPU
// or a GPU), their exact Gram matrix on the host, and the Cholesky factor of
// K = c damp I + G G^T over the c gradients present, kept up to date by rank-2 updates (one
// update, one downdate) once the window is full.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/checks.hpp"
#include "core/math/scaled_norm.hpp"
#include "mfac/engines.hpp"
#include "mfac/woodbury_solver.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::mfac::detail {
namespace {

// Refactor when an update leaves the factor's row off by more than this (relative to the diagonal);
// a fresh Cholesky factorization is within about window * eps.
constexpr double kDriftTolerance = 1e-12;
constexpr int kPowerIterations = 3;  // per update, warm-started: the bound on ||F|| tracks the window

class SlidingWindow final : public SlidingEngine {
 public:
  SlidingWindow(std::unique_ptr<GradientPasses> passes, std::int64_t window, double damp,
                std::int64_t refactor_interval)
      : passes_(std::move(passes)),
        dim_(passes_->rows().cols),
        window_(window),
        damp_(damp),
        refactor_interval_(refactor_interval > 0 ? refactor_interval : window),
        gram_(static_cast<std::size_t>(window * window), 0.0),
        power_vector_(static_cast<std::size_t>(window), 0.0),
        solver_(*passes_, damp, 1.0, 0, window, /*force_woodbury=*/true) {
    // Half the room of K's diagonal for c damp, half for a gradient's squared norm.
    if (!(static_cast<double>(window) * damp <= 0.5 * kLargestDiagonal)) {
      throw ValueError(
          "SlidingFisherInverse: 'window' * 'damp' must be <= 2.2e307 (K = c damp I + G G^T must stay "
          "finite), got " +
          mlprims::detail::format_double(static_cast<double>(window) * damp));
    }
    largest_norm_ = std::sqrt(0.5 * kLargestDiagonal);
  }

  void update(const TensorView& g) override { insert(g, "SlidingFisherInverse.update"); }

  SolveInfo ihvp(const TensorView& x, const TensorView& out, bool refine) const override {
    require_gradients("ihvp");
    return solver_.solve(x, out, refine);
  }

  SolveInfo update_ihvp(const TensorView& g, const TensorView& out, bool refine) override {
    Insertion inserted = insert(g, "SlidingFisherInverse.update_ihvp");
    const VectorBuffer y = passes_->allocate(dim_);
    return solver_.solve_into(inserted.input.data(), y.data(), 1, refine, inserted.projection.data(), out, 0);
  }

  void reset() override {
    count_ = 0;
    next_ = 0;
    updates_since_refactor_ = 0;
    std::fill(power_vector_.begin(), power_vector_.end(), 0.0);
    std::fill(gram_.begin(), gram_.end(), 0.0);
    solver_.set_rows(0, 1.0);
  }

  std::int64_t size() const override { return count_; }

 private:
  struct Insertion {
    VectorBuffer input;              // g as given, as doubles in the backend's memory
    std::vector<double> projection;  // G g over the gradients now present (host)
  };

  void require_gradients(const char* function) const {
    if (count_ == 0) {
      throw ValueError(std::string("SlidingFisherInverse.") + function +
                       ": the window holds no gradient yet (call update first)");
    }
  }

  // Writes g into the oldest slot, updates the Gram matrix and the factor, and returns G g over
  // the new window (one pass over it). A g that is not finite, not finite once rounded to the
  // storage type, or too large for the Gram matrix is a ValueError and leaves the window as it was.
  Insertion insert(const TensorView& g, const char* function) {
    Insertion result;
    // The input, then (when rounding to the storage type changes it) the stored row.
    const VectorBuffer sources = passes_->allocate(2 * dim_);
    passes_->load(g, 0, 1, sources.data());
    double norm = 0.0;
    passes_->norms(sources.data(), 1, &norm);
    const std::string unchanged = "; the window is unchanged";
    if (!std::isfinite(norm)) {
      // (CUDA sums plain squares: there a finite g with ||g|| > 1.3e154 lands here too.)
      throw ValueError(std::string(function) + ": 'g' must be finite, found NaN or inf (or a norm that overflows)" +
                       unchanged);
    }
    const std::int64_t slot = next_;
    const bool stored_exactly = passes_->rows().dtype == DType::kFloat64 || g.dtype() == passes_->rows().dtype;
    const auto refuse = [&](double stored_norm) {
      if (!std::isfinite(stored_norm)) {
        throw ValueError(std::string(function) + ": 'g' is not finite once rounded to the window's dtype " +
                         dtype_name(passes_->rows().dtype) + " (an entry beyond its range)" + unchanged);
      }
      throw ValueError(std::string(function) + ": 'g' is too large for the Gram matrix G G^T in float64: ||g|| = " +
                       mlprims::detail::format_double(stored_norm, 3) +
                       " must be <= " + mlprims::detail::format_double(largest_norm_, 3) +
                       " (scale the gradients: dividing them by s and damp by s^2 scales F^{-1} by s^2)" + unchanged);
    };
    if (stored_exactly) {
      if (!(norm <= largest_norm_)) refuse(norm);
      passes_->store_row(slot, sources.data());
    } else {
      // Only the rounded row tells whether it fits: keep the row it replaces, to put it back.
      VectorBuffer evicted;
      if (count_ == window_) {
        evicted = passes_->allocate(dim_);
        passes_->widen_row(slot, evicted.data());
      }
      passes_->store_row(slot, sources.data());
      passes_->widen_row(slot, sources.data() + dim_);
      passes_->norms(sources.data() + dim_, 1, &norm);
      if (!(norm <= largest_norm_)) {
        if (evicted.data() != nullptr) passes_->store_row(slot, evicted.data());  // exact: it came from storage
        refuse(norm);
      }
    }
    const std::int64_t count = std::min(count_ + 1, window_);
    solver_.set_rows(count, static_cast<double>(count));
    const int k = stored_exactly ? 1 : 2;
    std::vector<double> projections(static_cast<std::size_t>(k * count), 0.0);
    passes_->project(Select::kAll, k, sources.data(), projections.data());
    const double* column = projections.data() + (stored_exactly ? 0 : count);
    result.projection.assign(projections.begin(), projections.begin() + count);
    result.input = passes_->allocate(dim_);
    passes_->copy(sources.data(), result.input.data(), dim_);

    std::vector<double> delta(static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) {
      delta[i] = column[i] - gram_[slot * window_ + i];
      gram_[slot * window_ + i] = column[i];
      gram_[i * window_ + slot] = column[i];
    }
    const bool filling = count_ < window_;
    count_ = count;
    next_ = (slot + 1) % window_;
    ++updates_since_refactor_;
    if (filling || updates_since_refactor_ >= refactor_interval_ || !update_factor(slot, delta) ||
        drift(slot) > kDriftTolerance) {
      refactor();
    }
    // ||F|| >= (c damp + lambda_max(G G^T)) / c, warm-started power iterations on the Gram matrix.
    const double lambda =
        largest_eigenvalue_bound(count, gram_.data(), window_, kPowerIterations, power_vector_.data());
    solver_.set_norm_bound(damp_ + lambda / static_cast<double>(count));
    return result;
  }

  // K changed in row and column `slot` by delta: K + a b^T + b a^T with a = e_slot and
  // b = delta - (delta_slot/2) e_slot. Balanced as (alpha a)(b/alpha)^T + ..., alpha^2 = ||b||, it
  // is + u u^T - w w^T with u, w = (alpha a +- b/alpha)/sqrt(2): both terms then have the size of
  // the change itself (with alpha = 1 they would be ||b||^2 and cancel catastrophically).
  bool update_factor(std::int64_t slot, const std::vector<double>& delta) {
    SymmetricFactor& factor = solver_.only_factor();
    if (!factor.cholesky) return false;
    const std::int64_t n = count_;
    std::vector<double> b(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) b[i] = delta[i] - (i == slot ? 0.5 * delta[slot] : 0.0);
    const double norm = mlprims::detail::scaled_norm(n, b.data());  // Gram entries reach 1e307
    if (norm == 0.0) return true;
    const double alpha = std::sqrt(norm);
    const double root_half = std::sqrt(0.5);
    std::vector<double> u(static_cast<std::size_t>(n)), w(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      const double a = i == slot ? alpha : 0.0;
      u[i] = (a + b[i] / alpha) * root_half;
      w[i] = (a - b[i] / alpha) * root_half;
    }
    return rank_one_update(n, factor.data, u.data(), 1.0) && rank_one_update(n, factor.data, w.data(), -1.0);
  }

  // Largest error of the factor in row `slot` (the one just updated), relative to the diagonal:
  // |(L L^T - K)_{slot,j}| / sqrt(K_slot,slot K_jj). O(window^2), as the update itself.
  double drift(std::int64_t slot) const {
    const double* l = solver_.only_factor().data;
    const std::int64_t n = count_;
    const double shift = static_cast<double>(n) * damp_;
    const auto k_entry = [&](std::int64_t i, std::int64_t j) {
      return gram_[j * window_ + i] + (i == j ? shift : 0.0);
    };
    double worst = 0.0;
    for (std::int64_t j = 0; j < n; ++j) {
      double product = 0.0;
      for (std::int64_t c = 0; c <= std::min(slot, j); ++c) product += l[c * n + slot] * l[c * n + j];
      const double scale = std::sqrt(k_entry(slot, slot)) * std::sqrt(k_entry(j, j));  // no overflow
      worst = std::max(worst, std::abs(product - k_entry(slot, j)) / scale);
    }
    return worst;
  }

  void refactor() {
    SymmetricFactor& factor = solver_.only_factor();
    const std::int64_t n = count_;
    factor.n = n;
    for (std::int64_t j = 0; j < n; ++j) {
      for (std::int64_t i = 0; i < n; ++i) factor.data[j * n + i] = gram_[j * window_ + i];
      factor.data[j * n + j] += static_cast<double>(n) * damp_;
    }
    factor.pivots.clear();
    factorize(factor);
    updates_since_refactor_ = 0;
  }

  std::unique_ptr<GradientPasses> passes_;
  std::int64_t dim_, window_;
  double damp_;
  double largest_norm_ = 0.0;  // of a stored gradient: keeps K's diagonal <= kLargestDiagonal
  std::int64_t refactor_interval_;
  std::vector<double> gram_;  // window x window, column-major, both triangles
  std::vector<double> power_vector_;
  WoodburySolver solver_;
  std::int64_t count_ = 0, next_ = 0, updates_since_refactor_ = 0;
};

}  // namespace

std::unique_ptr<SlidingEngine> make_sliding_engine(std::unique_ptr<GradientPasses> window_passes, std::int64_t window,
                                                   double damp, std::int64_t refactor_interval) {
  return std::make_unique<SlidingWindow>(std::move(window_passes), window, damp, refactor_interval);
}

}  // namespace mlprims::mfac::detail
