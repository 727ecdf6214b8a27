#!/usr/bin/env bash
# Sets everything up on a fresh machine and runs all tests: the Python suite (pytest) against
# the installed wheel, then the C++ tests (ctest), which run even when a Python test failed; the exit
# status is non-zero when either failed. Usage: scripts/test.sh [pytest arguments]
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
cd "$ROOT"

install_system_packages
make_venv
"$VENV/bin/pip" install --quiet "$TORCH_SPEC"
"$VENV/bin/pip" install --quiet ".[test]" scipy-openblas32  # scipy-openblas32: BLAS for the C++ build

status=0
echo "== Python tests"
describe_thread_pools
(cd "$ROOT/tests/python" && "$VENV/bin/python" -m pytest -q "$@") || status=1

echo "== C++ tests"
BUILD="$ROOT/build/cpp-tests"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DPython_EXECUTABLE="$VENV/bin/python" -DMLPRIMS_CUDA=OFF \
  -DMLPRIMS_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD"
ctest --test-dir "$BUILD" --output-on-failure || status=1
[ $status -eq 0 ] || echo "== FAILED: see the Python and C++ results above"
exit $status
