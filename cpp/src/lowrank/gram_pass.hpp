// One application of the Gram matrix WᵀW to a block Z, the step of block Krylov:
// Y = W Z and Z' = Wᵀ Y. Two GEMMs read W twice; for narrow float32 blocks a fused kernel reads it
// once (each cache-sized block of rows serves both products) and skips OpenBLAS's repacking of W,
// which dominates skinny products: 1.5-2x faster than two GEMMs at 18 columns, on par at ~40-70.
#pragma once

#include <cstdint>

namespace mlprims::lowrank::detail {

// W: row-major m x n `a`; z: n x b row-major; y: m x b (out); z_next: n x b (out) = Wᵀ y.
template <class T>
void gram_pass(std::int64_t m, std::int64_t n, const T* a, const T* z, std::int64_t b, T* y, T* z_next);

// y = W z (n x b z, m x b y), or with `transposed` y = Wᵀ z (m x b z, n x b y), by one GEMM.
template <class T>
void gemm_product(bool transposed, std::int64_t m, std::int64_t n, const T* a, const T* z, std::int64_t b, T* y);

// y = W z alone (the last block of a Krylov space), by the same kernel as gram_pass.
template <class T>
void range_product(std::int64_t m, std::int64_t n, const T* a, const T* z, std::int64_t b, T* y);

// Whether blocks of b columns take mlprims' fused kernel (OpenMP threads) rather than two GEMMs:
// callers keep OpenBLAS single-threaded around it (linalg::SerialBlasScope).
template <class T>
bool gram_pass_is_fused(std::int64_t b);

// The fused float32 kernel for one thread: rows [0, rows) of W (row-major, row length n) give
// y (rows x b) = W Z from zt (b x n, Z transposed), and acc (b x n) += yᵀ W (skipped if acc is null).
void gram_rows(std::int64_t rows, std::int64_t n, const float* w, const float* zt, std::int64_t b, float* y,
               float* acc);

#define MLPRIMS_DECLARE_GRAM_KERNELS(ISA)                                                                      \
  namespace ISA {                                                                                              \
  void gram_rows(std::int64_t rows, std::int64_t n, const float* w, const float* zt, std::int64_t b, float* y, \
                 float* acc);                                                                                  \
  }

MLPRIMS_DECLARE_GRAM_KERNELS(baseline)
MLPRIMS_DECLARE_GRAM_KERNELS(x86_64_v3)
MLPRIMS_DECLARE_GRAM_KERNELS(x86_64_v4)

#undef MLPRIMS_DECLARE_GRAM_KERNELS

}  // namespace mlprims::lowrank::detail
