// The engine of FisherInverse: a WoodburySolver over CPU or CUDA passes.
#include <string>

#include "mfac/engines.hpp"
#include "mfac/woodbury_solver.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::mfac::detail {
namespace {

class WoodburyFisher final : public FisherEngine {
 public:
  WoodburyFisher(std::unique_ptr<GradientPasses> passes, double damp, std::int64_t block_size)
      : passes_(std::move(passes)),
        solver_(*passes_, damp, static_cast<double>(passes_->rows().rows), block_size, passes_->rows().rows,
                /*force_woodbury=*/false) {
    switch (solver_.build_factors()) {
      case FactorStatus::kOk:
        break;
      case FactorStatus::kNonFiniteGradients:
        throw ValueError("FisherInverse: 'grads' must be finite, found NaN or inf");
      case FactorStatus::kGramOverflows:
        throw ValueError(
            "FisherInverse: the m x m system m*damp*I + G G^T overflows float64 (a diagonal entry above "
            "4.5e307): 'grads' (a squared row norm) or m*'damp' is too large; divide G by s and damp by s^2 "
            "(F^{-1} is then s^2 times the original)");
    }
  }

  SolveInfo ihvp(const TensorView& x, const TensorView& out, bool refine) const override {
    return solver_.solve(x, out, refine);
  }

  std::vector<double> diagonal() const override { return solver_.diagonal(); }

  std::vector<double> entries(const std::vector<std::int64_t>& rows,
                              const std::vector<std::int64_t>& cols) const override {
    return solver_.entries(rows, cols);
  }

  std::vector<double> solve(const std::vector<double>& x) const override {
    const auto d = static_cast<std::int64_t>(x.size());
    const VectorBuffer in = passes_->allocate(d), out = passes_->allocate(d);
    passes_->upload(x.data(), in.data(), d);
    solver_.solve(in.data(), out.data(), 1, /*refine=*/true);
    std::vector<double> y(x.size());
    passes_->download(out.data(), y.data(), d);
    return y;
  }

 private:
  std::unique_ptr<GradientPasses> passes_;
  WoodburySolver solver_;
};

}  // namespace

std::unique_ptr<FisherEngine> make_fisher_engine(std::unique_ptr<GradientPasses> passes, double damp,
                                                 std::int64_t block_size) {
  return std::make_unique<WoodburyFisher>(std::move(passes), damp, block_size);
}

}  // namespace mlprims::mfac::detail
