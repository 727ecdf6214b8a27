#!/usr/bin/env bash
# Runs the Python and C++ tests again under every other combination of OpenBLAS kernel and thread
# count this processor supports, so that a result or a tolerance that holds only on one machine's
# rounding fails here and not on a user's machine. Kernels: Haswell, and SkylakeX where the processor
# has AVX-512 (Sandybridge where it has AVX2 only); threads: 1 and 2. The combination that
# scripts/test.sh already ran (the processor's own kernel, the default thread count) is skipped.
# Needs what scripts/test.sh set up (.venv, build/cpp-tests). Usage: scripts/test_kernels.sh [pytest args]
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
cd "$ROOT"
BUILD="$ROOT/build/cpp-tests"

if grep -qw avx512f /proc/cpuinfo; then
  kernels=(Haswell SkylakeX)
elif grep -qw avx2 /proc/cpuinfo; then
  kernels=(Haswell Sandybridge)
else
  echo "no AVX2: only the kernel OpenBLAS picks runs (scripts/test.sh)"
  exit 0
fi
native="$(mlprims_blas_kernel)"
default_threads="$("$VENV/bin/python" -c "import mlprims; print(mlprims.get_num_threads())")"

status=0
for kernel in "${kernels[@]}"; do
  for threads in 1 2; do
    if [ "$kernel" = "$native" ] && [ "$threads" = "$default_threads" ]; then continue; fi
    export OPENBLAS_CORETYPE="$kernel" MLPRIMS_NUM_THREADS="$threads"
    echo "== OPENBLAS_CORETYPE=$kernel, MLPRIMS_NUM_THREADS=$threads"
    describe_thread_pools
    (cd "$ROOT/tests/python" && "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@") || status=1
    ctest --test-dir "$BUILD" --output-on-failure || status=1
  done
done
exit $status
