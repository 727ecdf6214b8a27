// Randomized bases of a matrix's dominant subspace, the first half of a randomized truncated SVD
// (the second is the small SVD of B = Q^T M). Two constructions:
//   subspace iteration (Halko, Martinsson & Tropp 2011), of W's column space (M = W): one block,
//     multiplied by W W^T `iterations` times; only the last block is kept; 2 (iterations + 1)
//     passes over W;
//   block Krylov (Musco & Musco 2015), of W's row space (M = W^T): every block is kept, Q spans
//     [G, (W^T W) G, ..., (W^T W)^iterations G]; each W^T W is one pass over W, plus one for the
//     last block. The whole Krylov space is far more accurate than its last block: the same
//     error takes fewer passes and a narrower block. Rayleigh-Ritz on the row space
//     (W ~ (W Q) Q^T) is at least as accurate as the column-space form Q' Q'^T W with Q' spanning
//     W times one block fewer (bench/python/lowrank.py; docs/design_notes.md).
#pragma once

#include <cstdint>
#include <vector>

namespace mlprims::lowrank::detail {

// A basis Q of the range of M, m' x n' (M = W or W^T), and M^T Q.
template <class T>
struct RangeBasis {
  std::int64_t size = 0;  // columns of Q
  std::vector<T> q;       // m' x size, row-major, orthonormal columns
  std::vector<T> wt_q;    // n' x size, row-major: M^T Q (= B^T for B = Q^T M)
};

// W is the row-major m x n matrix `a`; `block` <= min(m, n) columns per block; G is Gaussian from `seed`.
// A basis of the range of W (Q is m x block, M^T Q = W^T Q is n x block).
template <class T>
RangeBasis<T> subspace_iteration_basis(std::int64_t m, std::int64_t n, const T* a, std::int64_t block, int iterations,
                                       std::uint64_t seed);

// A basis of the range of W^T (Q is n x size, M^T Q = W Q is m x size); iterations + 1 blocks;
// requires (iterations + 1) * block <= min(m, n).
template <class T>
RangeBasis<T> block_krylov_basis(std::int64_t m, std::int64_t n, const T* a, std::int64_t block, int iterations,
                                 std::uint64_t seed);

}  // namespace mlprims::lowrank::detail
