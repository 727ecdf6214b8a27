// Which compiled variant of the *.simd.cpp kernels (third_party/cmake/MlprimsSimd.cmake) this CPU
// runs: AVX-512 (x86-64-v4), AVX2 (x86-64-v3) or the baseline.
#pragma once

namespace mlprims::detail {

enum class InstructionSet { kBaseline, kX86_64_V3, kX86_64_V4 };

// The best set the CPU supports, detected once.
InstructionSet best_instruction_set();
const char* instruction_set_name(InstructionSet set);

// One of three variants of a kernel table, for the best set.
template <class T>
const T& for_this_cpu(const T& baseline, const T& x86_64_v3, const T& x86_64_v4) {
  switch (best_instruction_set()) {
    case InstructionSet::kX86_64_V4:
      return x86_64_v4;
    case InstructionSet::kX86_64_V3:
      return x86_64_v3;
    default:
      return baseline;
  }
}

}  // namespace mlprims::detail
