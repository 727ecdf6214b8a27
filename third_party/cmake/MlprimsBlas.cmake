# BLAS/LAPACK for the CPU back end, as the interface target `mlprims_blas`.
#   MLPRIMS_BLAS=wheel  : OpenBLAS from the scipy-openblas32 wheel (what numpy and SciPy ship),
#                         located through Python at configure time; its shared library is
#                         installed next to libmlprims (found through RPATH $ORIGIN).
#   MLPRIMS_BLAS=system : find_package(BLAS) and find_package(LAPACK), for C++-only builds.
add_library(mlprims_blas INTERFACE)

if(MLPRIMS_BLAS STREQUAL "wheel")
  find_package(Python 3.9 REQUIRED COMPONENTS Interpreter)
  execute_process(
    COMMAND "${Python_EXECUTABLE}" -c
            "import scipy_openblas32 as m, os; print(os.path.join(m.get_lib_dir(), m.get_library(True)))"
    OUTPUT_VARIABLE MLPRIMS_OPENBLAS_LIBRARY
    OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE _mlprims_openblas_status)
  if(NOT _mlprims_openblas_status EQUAL 0 OR NOT EXISTS "${MLPRIMS_OPENBLAS_LIBRARY}")
    message(FATAL_ERROR
      "MLPRIMS_BLAS=wheel needs the Python package scipy-openblas32 for ${Python_EXECUTABLE} "
      "(pip install scipy-openblas32), or configure with -DMLPRIMS_BLAS=system.")
  endif()
  target_link_libraries(mlprims_blas INTERFACE "${MLPRIMS_OPENBLAS_LIBRARY}")
  target_compile_definitions(mlprims_blas INTERFACE MLPRIMS_BLAS_SCIPY_PREFIX)
  message(STATUS "mlprims: BLAS/LAPACK from ${MLPRIMS_OPENBLAS_LIBRARY}")
elseif(MLPRIMS_BLAS STREQUAL "system")
  find_package(BLAS REQUIRED)
  find_package(LAPACK REQUIRED)
  target_link_libraries(mlprims_blas INTERFACE LAPACK::LAPACK BLAS::BLAS)
else()
  message(FATAL_ERROR "MLPRIMS_BLAS must be 'wheel' or 'system', got '${MLPRIMS_BLAS}'")
endif()

# Ships the wheel's OpenBLAS inside the installed package, next to libmlprims.
function(mlprims_install_blas_runtime destination)
  if(MLPRIMS_BLAS STREQUAL "wheel")
    install(FILES "${MLPRIMS_OPENBLAS_LIBRARY}" DESTINATION "${destination}")
  endif()
endfunction()
