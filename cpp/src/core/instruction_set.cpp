#include "core/instruction_set.hpp"

namespace mlprims::detail {

InstructionSet best_instruction_set() {
  static const InstructionSet best = [] {
#if defined(MLPRIMS_SIMD_X86)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4")) return InstructionSet::kX86_64_V4;
    if (__builtin_cpu_supports("x86-64-v3")) return InstructionSet::kX86_64_V3;
#endif
    return InstructionSet::kBaseline;
  }();
  return best;
}

const char* instruction_set_name(InstructionSet set) {
  switch (set) {
    case InstructionSet::kX86_64_V4:
      return "x86-64-v4 (AVX-512)";
    case InstructionSet::kX86_64_V3:
      return "x86-64-v3 (AVX2)";
    default:
      return "baseline";
  }
}

}  // namespace mlprims::detail
