# Vectorized kernels (*.simd.cpp) are compiled once per instruction set into object libraries,
# each with -DMLPRIMS_ISA=<namespace> so the variants do not clash; the library picks one at run
# time (e.g. special/special_cpu.cpp). x86-64 gets baseline, x86-64-v3 (AVX2, FMA) and
# x86-64-v4 (AVX-512); other processors get the baseline only.
function(mlprims_add_simd_kernels target sources)
  set(variants "baseline|")
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    list(APPEND variants "x86_64_v3|-march=x86-64-v3" "x86_64_v4|-march=x86-64-v4")
    target_compile_definitions(${target} PRIVATE MLPRIMS_SIMD_X86)
  endif()
  foreach(variant IN LISTS variants)
    string(REPLACE "|" ";" parts "${variant}")
    list(GET parts 0 isa)
    list(LENGTH parts count)
    set(flags "")
    if(count GREATER 1)
      list(GET parts 1 flags)
    endif()
    add_library(${target}_simd_${isa} OBJECT ${sources})
    target_compile_definitions(${target}_simd_${isa} PRIVATE MLPRIMS_ISA=${isa})
    target_compile_options(${target}_simd_${isa} PRIVATE -fopenmp-simd -fno-math-errno -Wall -Wextra ${flags})
    target_include_directories(${target}_simd_${isa} PRIVATE
      ${PROJECT_SOURCE_DIR}/cpp/src ${PROJECT_SOURCE_DIR}/cpp/include)
    set_target_properties(${target}_simd_${isa} PROPERTIES POSITION_INDEPENDENT_CODE ON)
    # Inline functions these objects emit out of line must not share names with the plain
    # sources' copies (the linker would keep one for the whole library): the shared headers put
    # them in an inline namespace per instruction set (core/isa_copies.hpp), and
    # scripts/check_simd_symbols.sh checks the objects.
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:${target}_simd_${isa}>)
  endforeach()
endfunction()
