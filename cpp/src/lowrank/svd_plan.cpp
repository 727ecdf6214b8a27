#include "lowrank/svd_plan.hpp"

#include <algorithm>

namespace mlprims::lowrank::detail {
namespace {

constexpr std::int64_t kNarrowBlock = 40;  // the fused Gram-pass kernel's width

// Products with the Gram matrix that keep float32 within 1.001x of the optimum on the slowest
// realistic spectrum, a Gaussian matrix's (singular values crowd at the top edge, and the gaps
// there shrink with p). Measured, Gaussian W, excess over the optimum (bench/results notes):
//  - blocks of rank + oversample (rank <= 30): 4 products 7.1e-4 (1024^2, rank 16), 5 products
//    3.2e-4 at worst from 256^2 to 4096^2;
//  - half-rank blocks: 6 products 1.4e-3 (4096^2, rank 64), 2.9e-3 (rank 256); 8 products
//    5.8e-4 and 6.0e-4 there, 9 products 3.7e-4 and 2.2e-4.
int default_krylov_iterations(std::int64_t p, bool full_width) {
  if (full_width) return 5;
  return p > 2048 ? 9 : 8;
}

}  // namespace

std::int64_t oversample_for(SvdMethod method, std::int64_t rank, const SvdOptions& options) {
  if (options.oversample >= 0) return options.oversample;
  return method == SvdMethod::kKrylov ? 10 : 10 + rank / 2;
}

KrylovShape krylov_shape(std::int64_t rank, std::int64_t p, bool wide, const SvdOptions& options,
                         bool half_rank_blocks) {
  const std::int64_t oversample = std::min(oversample_for(SvdMethod::kKrylov, rank, options), p);
  KrylovShape shape;
  // Blocks of rank + oversample: asked for, or narrow enough for the fused kernel anyway.
  const bool full_width = !half_rank_blocks || rank + oversample <= kNarrowBlock;
  shape.block = full_width ? rank + oversample : (rank + 1) / 2 + oversample;
  // Narrower than the fused kernel's width: widened to it. Up to 10% wider: cut to it where W is
  // not wide (one read of W per pass instead of two; rank 64 of 4096 x 4096: 205 ms with 40
  // columns, 240 with 42, both 1.00002x). A wide W keeps the wider blocks, whose GEMM passes put
  // the basis on its short side (768 x 3072 rank 64: 49 ms and 1.000001x with 45 columns, 60 ms
  // and 1.00003x with 40 on the long side).
  const std::int64_t cut_limit = wide ? kNarrowBlock : kNarrowBlock + kNarrowBlock / 10;
  if (!full_width && shape.block <= cut_limit) shape.block = kNarrowBlock;
  if (options.power_iters >= 0) {
    shape.iterations = static_cast<int>(std::min<std::int64_t>(options.power_iters, p));
    return shape;
  }
  shape.iterations = default_krylov_iterations(p, full_width);
  const auto fits = [&](int iterations) { return 5 * (iterations + 1) * shape.block <= 3 * p; };
  if (!fits(shape.iterations) && fits(shape.iterations - 1)) --shape.iterations;
  return shape;
}

// Subspace iteration: 10 products by default, for the same 1.001x in float32 on Gaussian matrices
// (6 products: up to 1.6e-3 above the optimum, 768 x 3072 rank 96; 10: 3.9e-4 at worst, 512 x 2048
// rank 32), at most the exact SVD's time where 'auto' picks it.
int subspace_iterations_for(const SvdOptions& options) { return options.power_iters >= 0 ? options.power_iters : 10; }

namespace {

// Columns of the block Krylov basis; saturated just above p (huge options must not overflow).
std::int64_t krylov_size(std::int64_t rank, std::int64_t p, bool wide, const SvdOptions& options) {
  const KrylovShape shape = krylov_shape(rank, p, wide, options, true);
  return std::min<std::int64_t>(shape.size(), p + 1);
}

}  // namespace

// The method kAuto resolves to for these sizes.
SvdMethod resolve_method(std::int64_t m, std::int64_t n, std::int64_t rank, const SvdOptions& options,
                         Precision precision) {
  const std::int64_t p = std::min(m, n);
  // A Krylov basis that would not fit in p columns would be the whole space: the exact SVD is cheaper.
  const bool wide = m < n;
  if (options.method == SvdMethod::kKrylov && krylov_size(rank, p, wide, options) > p) return SvdMethod::kExact;
  if (options.method != SvdMethod::kAuto) return options.method;
  if (precision == Precision::kDouble) return SvdMethod::kExact;
  // The randomized methods cost ~ 4 m n (basis size) flops and more against ~ 4-10 m n p for the
  // full SVD (p = min(m, n)): they pay when their basis is a small part of p.
  if (p < 256) return SvdMethod::kExact;
  if (5 * krylov_size(rank, p, wide, options) <= 3 * p) return SvdMethod::kKrylov;
  const std::int64_t block = rank + std::min(oversample_for(SvdMethod::kRandomized, rank, options), p);
  return 3 * block <= p ? SvdMethod::kRandomized : SvdMethod::kExact;
}

}  // namespace mlprims::lowrank::detail
