// How a truncated SVD is computed for a given shape, rank and options: the method 'auto' resolves
// to, the shape of a block Krylov basis, and the test for a repeated singular value that the
// basis could not resolve. Shared by the CPU and CUDA back ends, so both make the same choices.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "mlprims/lowrank.hpp"

namespace mlprims::lowrank::detail {

// Extra columns per block when options.oversample is -1: 10 (kKrylov) or 10 + rank / 2 (kRandomized).
std::int64_t oversample_for(SvdMethod method, std::int64_t rank, const SvdOptions& options);

// Shape of a block Krylov basis: `blocks` blocks of `block` columns.
//
// Narrow blocks with more of them reach a smaller error for the same basis size (Meyer, Musco and
// Musco 2024): float32, singular values k^-0.3 on 4096 x 4096, rank 512: 4 blocks of 522 columns
// (2088) 1.00028x the optimum, 7 of 266 (1862) 1.00003x, 20 of 64 (1280) 1.00004x. Blocks
// narrower than the rank cannot see more than `block` copies of a repeated singular value, so
// they stay at half the rank or more (the caller re-runs with blocks of rank + oversample when the
// Ritz values show such a cluster). The basis size sets the cost of the orthogonalization (size^2)
// and of the Rayleigh-Ritz step (size^3), the block count that of the passes over W:
//  - rank + oversample <= 40, where passes over W dominate: 6 blocks of rank + oversample, each
//    pass one read of W by the fused kernel (5 passes);
//  - above: 9 blocks of ceil(rank / 2) + oversample, at least 40 (8 passes; 10 blocks where
//    p > 2048).
// The block counts are set by the slowest realistic spectrum, a Gaussian matrix's, where the
// singular values crowd at the top: float32 stays within 1.001x of the optimum there from 256^2
// to 4096^2 (5.6e-4 above it at worst, against 1.4e-3 with the 7 half-rank blocks of before);
// decaying spectra converge far sooner (singular values k^-0.3, 4096^2, rank 512: 1.00003x
// with 7 blocks).
// One block less where the basis would exceed 0.6 p (p = min(m, n)) and one block less fits: 'auto'
// stays Krylov there instead of falling to subspace iteration. power_iters, when given, sets
// blocks - 1.
struct KrylovShape {
  std::int64_t block = 0;
  int iterations = 0;  // blocks - 1

  std::int64_t size() const { return (iterations + 1) * block; }
};

// The Krylov basis shape for rank r of a matrix with p = min(m, n) (wide: m < n); half_rank_blocks
// false asks for blocks of rank + oversample.
KrylovShape krylov_shape(std::int64_t rank, std::int64_t p, bool wide, const SvdOptions& options,
                         bool half_rank_blocks);

// Products with W W^T of subspace iteration (kRandomized): 10 unless options.power_iters is given.
int subspace_iterations_for(const SvdOptions& options);

// The working precision of W, which sets what kAuto must reach.
enum class Precision { kSingle, kDouble };

template <class T>
constexpr Precision precision_of() {
  return sizeof(T) == sizeof(double) ? Precision::kDouble : Precision::kSingle;
}

// The method kAuto resolves to for an m x n matrix (never kAuto; kKrylov whose basis would not fit
// becomes kExact). In double precision kAuto is kExact: the caller chose float64 for accuracy, and
// on flat spectra a Krylov basis reaches 1e-10 above the optimum only with ~16 blocks, which costs
// as much as the exact SVD or more (768 x 3072 Gaussian, rank 64: 1.8 s against 0.7 s).
SvdMethod resolve_method(std::int64_t m, std::int64_t n, std::int64_t rank, const SvdOptions& options,
                         Precision precision);

// Whether `block` consecutive singular values (descending) agree to 1e-4: the signature of a
// singular value repeated more often than a block can hold (a Krylov space with blocks of b
// columns holds exactly b directions of an exactly repeated singular value, and resolves a
// nearly repeated one only as fast as the spread lets its powers tell them apart). Distinct
// singular values of data are 1e-4 apart in relative terms only past ~1e5 of them.
template <class T>
bool shows_unresolved_cluster(const std::vector<T>& s, std::int64_t block) {
  const auto count = static_cast<std::int64_t>(s.size());
  for (std::int64_t i = 0; i + block - 1 < count; ++i) {
    if (s[i + block - 1] >= (1 - 1e-4) * s[i] && s[i] > 0) return true;
  }
  return false;
}

// ||A - U S V^T||_F for the kept singular values s, from ||A||^2 - sum s^2 with both sides taken for
// A times `scale` (a power of two that keeps the squares inside double's range; scaled_total is
// ||scale A||^2). Where the cancellation would lose the answer's accuracy (the error below 10%
// (float32) or 0.1% (float64) of ||A||), or scaled_total is not finite, it returns -1: the caller
// computes the residual instead. Shared by the CPU path and the device algorithm.
template <class T>
double error_from_kept_energy(double scaled_total, const std::vector<T>& s, double scale) {
  double kept = 0.0;
  for (T value : s) {
    const double scaled = scale * static_cast<double>(value);
    kept += scaled * scaled;
  }
  const double floor = sizeof(T) == sizeof(float) ? 1e-2 : 1e-6;
  if (!(scaled_total < 1.7976931348623157e308) || scaled_total - kept < floor * scaled_total) return -1.0;
  return std::sqrt(scaled_total - kept) / scale;
}

}  // namespace mlprims::lowrank::detail
