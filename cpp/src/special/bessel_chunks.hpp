// log I and log K over one chunk (at most kElementwiseChunk elements) of contiguous float64
// input. The definitions (bessel_chunks.simd.cpp) are compiled once per instruction set
// (baseline x86-64, AVX2 = x86-64-v3, AVX-512 = x86-64-v4 on x86; baseline elsewhere), each in
// its own namespace, and bessel_chunk_functions() picks the best the CPU runs.
#pragma once

#include <cstdint>

namespace mlprims::special::detail {

using BesselChunk = void (*)(const double* v, const double* x, double* out, std::int64_t n);

struct BesselChunkFunctions {
  BesselChunk log_iv;
  BesselChunk log_kv;
  const char* instruction_set;
};

// Chosen once, on first use.
const BesselChunkFunctions& bessel_chunk_functions();

#define MLPRIMS_DECLARE_BESSEL_CHUNKS(ISA)                                          \
  namespace ISA {                                                                   \
  void log_iv_chunk(const double* v, const double* x, double* out, std::int64_t n); \
  void log_kv_chunk(const double* v, const double* x, double* out, std::int64_t n); \
  }

MLPRIMS_DECLARE_BESSEL_CHUNKS(baseline)
MLPRIMS_DECLARE_BESSEL_CHUNKS(x86_64_v3)
MLPRIMS_DECLARE_BESSEL_CHUNKS(x86_64_v4)

#undef MLPRIMS_DECLARE_BESSEL_CHUNKS

}  // namespace mlprims::special::detail
