// The CPU engine of FisherInverse.
#include <string>

#include "mfac/backends.hpp"
#include "mfac/woodbury_solver.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::mfac::detail {
namespace {

class CpuFisher final : public FisherEngine {
 public:
  CpuFisher(const GradientRows& g, double damp, std::int64_t block_size, bool check_finite)
      : solver_(g, damp, static_cast<double>(g.rows), block_size, g.rows, /*force_woodbury=*/false) {
    if (!solver_.build_factors(check_finite)) {
      throw ValueError("FisherInverse: 'grads' must be finite (found NaN or inf; pass check_finite=False to skip "
                       "this scan)");
    }
  }

  SolveInfo ihvp(const TensorView& x, const TensorView& out, bool refine) const override {
    return solver_.solve(x, out, refine);
  }

  std::vector<double> diagonal() const override {
    std::vector<double> values(static_cast<std::size_t>(solver_.gradients().cols));
    solver_.diagonal(values.data());
    return values;
  }

  std::vector<double> solve(const std::vector<double>& x) const override {
    std::vector<double> y(x.size());
    solver_.solve(x.data(), y.data(), 1, /*refine=*/true);
    return y;
  }

  std::vector<double> entries(const std::vector<std::int64_t>& rows,
                              const std::vector<std::int64_t>& cols) const override {
    return solver_.entries(rows, cols);
  }

 private:
  WoodburySolver solver_;
};

}  // namespace

std::unique_ptr<FisherEngine> make_cpu_fisher(const GradientRows& g, double damp, std::int64_t block_size,
                                              bool check_finite) {
  return std::make_unique<CpuFisher>(g, damp, block_size, check_finite);
}

}  // namespace mlprims::mfac::detail
