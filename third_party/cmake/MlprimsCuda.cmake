# The CUDA back end: nvcc plus cuBLAS/cuSOLVER, from the CUDA toolkit or from the
# nvidia-cublas / nvidia-cusolver wheels (located through Python). Sets MLPRIMS_WITH_CUDA and the
# interface target `mlprims_cuda_libraries`.
#   MLPRIMS_CUDA=AUTO : build it when everything is found
#   MLPRIMS_CUDA=ON   : build it or fail
#   MLPRIMS_CUDA=OFF  : never
# What was decided, and why, reaches the library as MLPRIMS_CUDA_STATUS (a string compiled into
# core/build_info.cpp): build_info() and `python -m mlprims info` report it, since pip hides
# this configure log.
macro(_mlprims_cuda_status text)
  set(MLPRIMS_CUDA_STATUS "${text}")
  set_property(SOURCE "${PROJECT_SOURCE_DIR}/cpp/src/core/build_info.cpp" APPEND PROPERTY
               COMPILE_DEFINITIONS "MLPRIMS_CUDA_STATUS=\"${text}\"")
  message(STATUS "mlprims: CUDA back end: ${text}")
endmacro()

set(MLPRIMS_WITH_CUDA OFF)
if(MLPRIMS_CUDA STREQUAL "OFF")
  _mlprims_cuda_status("off: configured with MLPRIMS_CUDA=OFF")
  return()
endif()

include(CheckLanguage)
check_language(CUDA)
set(_mlprims_cuda_missing "")
if(NOT CMAKE_CUDA_COMPILER)
  set(_mlprims_cuda_missing "nvcc (CUDA compiler)")
endif()

# Include and library folders of the NVIDIA wheels (nvidia/<cuXX>/{include,lib}), if any.
find_package(Python 3.9 COMPONENTS Interpreter QUIET)
set(_mlprims_nvidia_hints "")
if(Python_EXECUTABLE)
  execute_process(
    COMMAND "${Python_EXECUTABLE}" -c
            "import glob, os, nvidia; print(';'.join(d for p in nvidia.__path__ for d in glob.glob(os.path.join(p, '*'))))"
    OUTPUT_VARIABLE _mlprims_nvidia_hints OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
find_package(CUDAToolkit QUIET)
set(_mlprims_include_hints ${CUDAToolkit_INCLUDE_DIRS})
set(_mlprims_library_hints ${CUDAToolkit_LIBRARY_DIR})
foreach(_dir IN LISTS _mlprims_nvidia_hints)
  list(APPEND _mlprims_include_hints "${_dir}/include")
  list(APPEND _mlprims_library_hints "${_dir}/lib")
endforeach()

find_path(MLPRIMS_CUBLAS_INCLUDE_DIR cublas_v2.h HINTS ${_mlprims_include_hints})
find_path(MLPRIMS_CUSOLVER_INCLUDE_DIR cusolverDn.h HINTS ${_mlprims_include_hints})
find_library(MLPRIMS_CUBLAS_LIBRARY NAMES cublas libcublas.so.13 libcublas.so.12 HINTS ${_mlprims_library_hints})
find_library(MLPRIMS_CUSOLVER_LIBRARY NAMES cusolver libcusolver.so.12 libcusolver.so.11 HINTS ${_mlprims_library_hints})
foreach(_part "CUBLAS_INCLUDE_DIR|cuBLAS header cublas_v2.h" "CUSOLVER_INCLUDE_DIR|cuSOLVER header cusolverDn.h"
              "CUBLAS_LIBRARY|cuBLAS library" "CUSOLVER_LIBRARY|cuSOLVER library")
  string(REPLACE "|" ";" _part "${_part}")
  list(GET _part 0 _variable)
  list(GET _part 1 _description)
  if(NOT MLPRIMS_${_variable})
    list(APPEND _mlprims_cuda_missing "${_description}")
  endif()
endforeach()

if(_mlprims_cuda_missing)
  list(JOIN _mlprims_cuda_missing ", " _mlprims_cuda_missing)
  if(MLPRIMS_CUDA STREQUAL "ON")
    message(FATAL_ERROR "MLPRIMS_CUDA=ON but these were not found: ${_mlprims_cuda_missing}. "
                        "Install the CUDA toolkit (nvcc) and pip install nvidia-cublas nvidia-cusolver.")
  endif()
  _mlprims_cuda_status("off: not found when mlprims was built: ${_mlprims_cuda_missing} (install the CUDA toolkit and pip install nvidia-cublas nvidia-cusolver, then reinstall mlprims)")
  return()
endif()

if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES "80;90")
endif()
enable_language(CUDA)
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
find_package(CUDAToolkit REQUIRED)

add_library(mlprims_cuda_libraries INTERFACE)
target_include_directories(mlprims_cuda_libraries INTERFACE
  "${MLPRIMS_CUBLAS_INCLUDE_DIR}" "${MLPRIMS_CUSOLVER_INCLUDE_DIR}")
target_link_libraries(mlprims_cuda_libraries INTERFACE
  CUDA::cudart "${MLPRIMS_CUBLAS_LIBRARY}" "${MLPRIMS_CUSOLVER_LIBRARY}")
set(MLPRIMS_WITH_CUDA ON)
string(REPLACE ";" " " _mlprims_architectures "${CMAKE_CUDA_ARCHITECTURES}")
_mlprims_cuda_status("on: built for CUDA architectures ${_mlprims_architectures}")
message(STATUS "mlprims: cuBLAS ${MLPRIMS_CUBLAS_LIBRARY}, cuSOLVER ${MLPRIMS_CUSOLVER_LIBRARY}")
