// Randomized bases of a matrix's dominant subspace, the first half of a randomized truncated SVD
// (the second is the small SVD of B = Q^T M). Two constructions:
//   subspace iteration (Halko, Martinsson & Tropp 2011), of W's column space (M = W): one block,
//     multiplied by W W^T `iterations` times; only the last block is kept; 2 (iterations + 1)
//     passes over W;
//   block Krylov (Musco & Musco 2015), of the row space of X = W or X = W^T (W's row or column
//     space; M = X^T): every block is kept, Q spans [G, (X^T X) G, ..., (X^T X)^iterations G];
//     each X^T X is one pass (W's fused kernel) or two GEMMs, plus one product for the last
//     block. The whole Krylov space is far more accurate than its last block: the same error
//     takes fewer passes and a narrower block. Rayleigh-Ritz on the row space (X ~ (X Q) Q^T) is
//     at least as accurate as the column-space form Q' Q'^T X with Q' spanning X times one block
//     fewer (docs/design_notes.md).
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

// Which of W's spaces a Krylov basis spans. The row space (Gram matrix W^T W) can use the fused
// one-read Gram pass; the column space (W W^T, two GEMMs per pass) keeps the basis on the short
// side of a wide W, where Gram-Schmidt and Cholesky QR of the blocks cost less.
enum class KrylovSpace { kRows, kColumns };

// kRows: a basis of the range of W^T (Q is n x size, M^T Q = W Q is m x size); kColumns: of the
// range of W (Q is m x size, M^T Q = W^T Q is n x size). iterations + 1 blocks; requires
// (iterations + 1) * block <= min(m, n).
template <class T>
RangeBasis<T> block_krylov_basis(std::int64_t m, std::int64_t n, const T* a, std::int64_t block, int iterations,
                                 std::uint64_t seed, KrylovSpace space);

}  // namespace mlprims::lowrank::detail
