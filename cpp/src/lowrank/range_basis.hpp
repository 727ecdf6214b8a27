// Randomized bases of a matrix's dominant column space, the first half of a randomized truncated
// SVD (the second is the small SVD of B = Q^T W). Two constructions:
//   subspace iteration (Halko, Martinsson & Tropp 2011): one block, multiplied by W W^T
//     `iterations` times; only the last block is kept;
//   block Krylov (Musco & Musco 2015): every block is kept, Q spans
//     [W G, (W W^T) W G, ..., (W W^T)^iterations W G]. Both make 2 (iterations + 1) passes over W,
//     but the whole Krylov space is far more accurate than its last block: the same error takes
//     fewer passes and a narrower block.
#pragma once

#include <cstdint>
#include <vector>

namespace mlprims::lowrank::detail {

template <class T>
struct RangeBasis {
  std::int64_t size = 0;  // columns of Q
  std::vector<T> q;       // m x size, row-major, orthonormal columns
  std::vector<T> wt_q;    // n x size, row-major: W^T Q (= B^T for B = Q^T W)
};

// W is the row-major m x n matrix `a`; `block` <= min(m, n) columns per block; G is Gaussian from `seed`.
template <class T>
RangeBasis<T> subspace_iteration_basis(std::int64_t m, std::int64_t n, const T* a, std::int64_t block, int iterations,
                                       std::uint64_t seed);

// iterations + 1 blocks; requires (iterations + 1) * block <= min(m, n).
template <class T>
RangeBasis<T> block_krylov_basis(std::int64_t m, std::int64_t n, const T* a, std::int64_t block, int iterations,
                                 std::uint64_t seed);

}  // namespace mlprims::lowrank::detail
