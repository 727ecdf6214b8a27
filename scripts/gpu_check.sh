#!/usr/bin/env bash
# The whole GPU verification in one command, for a machine with an NVIDIA GPU (sm_90: H100/H200),
# CUDA's compiler, and a Python with torch (CUDA), numpy, pytest, pybind11, scikit-build-core,
# mpmath and the nvidia-cublas/nvidia-cusolver wheels, but no package registry: what it lacks
# comes from .gpu-deps/ (scripts/gpu_prepare.sh, run beforehand where pip and apt-get work).
#   1. the CUDA build (sm_90) with the C++ tests; ctest (CUDA cases included)
#   2. compute-sanitizer (memcheck) on the C++ CUDA tests
#   3. the package built with CUDA; the Python tests marked cuda
#   4. the GPU benchmarks, JSON results into the output folder
# Everything it reports lands in OUTPUT (default $OUT, else ./gpu-results): at most 8 files.
# Each step has its own time limit, so that the whole stays under 8 minutes on 16 cores.
# Usage: scripts/gpu_check.sh [--quick]   (--quick: small benchmark sizes)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUTPUT="${OUT:-$ROOT/gpu-results}"
mkdir -p "$OUTPUT"
QUICK=""
[ "${1:-}" = "--quick" ] && QUICK="--quick"
PYTHON="${PYTHON:-python3}"
LOG="$OUTPUT/gpu_check.log"
start=$SECONDS
status=0
step() { echo "== [$((SECONDS - start)) s] $*" | tee -a "$LOG"; }
run() {  # run LIMIT_SECONDS COMMAND...: logged; a failure marks the check failed and goes on
  local limit="$1"; shift
  timeout "$limit" "$@" >>"$LOG" 2>&1 || { echo "   FAILED ($?): $*" | tee -a "$LOG"; status=1; }
}

step "machine"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; nvcc --version | tail -1
  "$PYTHON" -c "import sys, torch; print(sys.version.split()[0], 'torch', torch.__version__, torch.cuda.get_device_name())"
} >>"$LOG" 2>&1

step "dependencies from .gpu-deps"
SITE=/tmp/mlprims-site
GTEST_ROOT=/tmp/mlprims-gtest
if [ -d .gpu-deps ]; then
  run 120 "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$SITE" .gpu-deps/wheels/*.whl
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
  mkdir -p "$GTEST_ROOT"
  for deb in .gpu-deps/debs/*.deb; do dpkg -x "$deb" "$GTEST_ROOT"; done
fi
GTEST_DIR="$(dirname "$(find "$GTEST_ROOT" /usr -name GTestConfig.cmake 2>/dev/null | head -1)")"

step "1. CUDA build (sm_90) and ctest"
BUILD=build/gpu-check
run 300 cmake -S . -B "$BUILD" -G Ninja -DPython_EXECUTABLE="$(command -v "$PYTHON")" -DMLPRIMS_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DMLPRIMS_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Release -DGTest_DIR="$GTEST_DIR"
run 300 cmake --build "$BUILD" --parallel
ctest --test-dir "$BUILD" --output-on-failure --timeout 120 >"$OUTPUT/ctest.log" 2>&1 || status=1
tail -3 "$OUTPUT/ctest.log" | tee -a "$LOG"

step "2. compute-sanitizer memcheck on the C++ CUDA tests"
if command -v compute-sanitizer >/dev/null && [ -x "$BUILD/tests/cpp/test_cuda" ]; then
  timeout 240 compute-sanitizer --tool memcheck --leak-check full --error-exitcode 3 "$BUILD/tests/cpp/test_cuda" \
    >"$OUTPUT/sanitizer.log" 2>&1 || status=1
  tail -3 "$OUTPUT/sanitizer.log" | tee -a "$LOG"
else
  echo "   no compute-sanitizer or no test_cuda binary" | tee -a "$LOG"
fi

step "3. package with CUDA; Python tests"
run 300 env MLPRIMS_CUDA=ON CMAKE_ARGS="-DCMAKE_CUDA_ARCHITECTURES=90" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
  "$PYTHON" -m pip install -q --no-build-isolation --no-deps --upgrade --target "$SITE" .
"$PYTHON" -m mlprims info >>"$LOG" 2>&1
(cd tests/python && timeout 300 "$PYTHON" -m pytest -q -p no:cacheprovider -m cuda --junitxml="$OUTPUT/pytest_cuda.xml") \
  >>"$LOG" 2>&1 || status=1
tail -2 "$LOG"

step "4. GPU benchmarks"
run 200 "$PYTHON" bench/python/lowrank_gpu.py $QUICK --out "$OUTPUT/lowrank_gpu.json"
run 120 "$PYTHON" bench/python/bessel.py --quick --out "$OUTPUT/bessel_gpu.json"

step "done: status $status"
exit $status
