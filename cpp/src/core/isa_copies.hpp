// Inline functions of the headers that *.simd.cpp files include live, in those files, in an inline
// namespace named after the instruction set. A copy the compiler emits out of line there (a
// function it chose not to inline) then has a name of its own, instead of a weak symbol that the
// plain sources emit too and of which the linker keeps one copy for the whole library: it could
// keep the one compiled for AVX-512. Calls are unchanged; elsewhere the macros are empty.
#pragma once

#if defined(MLPRIMS_ISA)
#define MLPRIMS_ISA_COPIES_NAME_(isa) copies_##isa
#define MLPRIMS_ISA_COPIES_NAME(isa) MLPRIMS_ISA_COPIES_NAME_(isa)
#define MLPRIMS_BEGIN_ISA_COPIES inline namespace MLPRIMS_ISA_COPIES_NAME(MLPRIMS_ISA) {
#define MLPRIMS_END_ISA_COPIES }
#else
#define MLPRIMS_BEGIN_ISA_COPIES
#define MLPRIMS_END_ISA_COPIES
#endif
