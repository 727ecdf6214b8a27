// SplitMix64 (Steele, Lea and Flood 2014; passes BigCrush) as a counter-based generator: the
// i-th number of the stream of a seed is a pure function of (seed, i), so any thread, any chunking
// and a CUDA kernel regenerate the same numbers without a shared state.
#pragma once

#include <cstdint>

#include "core/hd.hpp"
#include "core/isa_copies.hpp"

namespace mlprims::detail {
MLPRIMS_BEGIN_ISA_COPIES

constexpr std::uint64_t kSplitMixGamma = 0x9E3779B97F4A7C15ull;

// SplitMix64's output function of a state.
MLPRIMS_HD inline std::uint64_t splitmix64_mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The index-th output (from 0) of the SplitMix64 stream started at `seed`.
MLPRIMS_HD inline std::uint64_t counter_bits(std::uint64_t seed, std::uint64_t index) {
  return splitmix64_mix(seed + (index + 1) * kSplitMixGamma);
}

// Uniform in [0, 1) from the top 53 bits of counter_bits.
MLPRIMS_HD inline double counter_uniform(std::uint64_t seed, std::uint64_t index) {
  return static_cast<double>(counter_bits(seed, index) >> 11) * 0x1.0p-53;
}

MLPRIMS_END_ISA_COPIES
}  // namespace mlprims::detail
