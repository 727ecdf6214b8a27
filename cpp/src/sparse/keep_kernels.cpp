#include "sparse/keep_kernels.hpp"

#include <string>

#include "core/instruction_set.hpp"
#include "mlprims/core/error.hpp"

namespace mlprims::sparse::detail {

namespace {

int float_index(DType dtype) {
  switch (dtype) {
    case DType::kFloat16:
      return 0;
    case DType::kBFloat16:
      return 1;
    case DType::kFloat32:
      return 2;
    case DType::kFloat64:
      return 3;
    default:
      throw TypeError(std::string("internal: no selection kernels for dtype ") + dtype_name(dtype));
  }
}

}  // namespace

const KeepKernels& keep_kernels(DType stored, DType value, bool delta) {
  if (!delta && stored != value) throw TypeError("internal: a single tensor's values have its own dtype");
  const int s = float_index(stored), v = float_index(value);
#if defined(MLPRIMS_SIMD_X86)
  using Variant = const KeepKernels& (*)(int, int, bool);
  static const Variant variant =
      mlprims::detail::for_this_cpu<Variant>(baseline::keep_kernels, x86_64_v3::keep_kernels, x86_64_v4::keep_kernels);
  return variant(s, v, delta);
#else
  return baseline::keep_kernels(s, v, delta);
#endif
}

}  // namespace mlprims::sparse::detail
