// The normal equations of the zero-weight fits (lowrank.hpp: rows and columns with weight 0 are
// least-squares fits of W by the other factor), shared by the CPU path and the device algorithm so
// that both give the same factors.
#pragma once

#include <cstdint>
#include <vector>

#include "linalg/lapack.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::lowrank::detail {

// gram (rank x rank, column-major, lower triangle read) <- the Cholesky factor of gram plus a
// relative ridge of 1e-12, which keeps a rank-deficient fitting factor solvable.
inline void factor_fit_gram(std::int64_t rank, std::vector<double>& gram) {
  double trace = 0.0;
  for (std::int64_t a = 0; a < rank; ++a) trace += gram[a * rank + a];
  for (std::int64_t a = 0; a < rank; ++a) gram[a * rank + a] += 1e-12 * trace / rank + 1e-300;
  if (!linalg::cholesky(rank, gram.data(), rank)) throw Error("lowrank: zero-weight fit failed (internal error)");
}

}  // namespace mlprims::lowrank::detail
