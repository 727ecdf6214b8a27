#!/usr/bin/env bash
# Run here, before scripts/gpu_check.sh runs on a GPU machine that cannot reach a package registry:
# downloads into .gpu-deps/ (ignored by git) what that machine lacks for the build and the tests:
#   - the scipy-openblas32 wheel (the BLAS of the CPU back end) for the GPU machine's Python,
#   - GoogleTest's Debian package (headers, static libraries, CMake config) for the C++ tests.
# Usage: scripts/gpu_prepare.sh [python version of the GPU machine, default 3.12]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON_VERSION="${1:-3.12}"
DEPS="$ROOT/.gpu-deps"
mkdir -p "$DEPS/wheels" "$DEPS/debs"
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version "$PYTHON_VERSION" \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d "$DEPS/wheels" scipy-openblas32
(cd "$DEPS/debs" && apt-get download libgtest-dev >/dev/null 2>&1) || {
  apt-get update -qq && (cd "$DEPS/debs" && apt-get download libgtest-dev)
}
ls -l "$DEPS/wheels" "$DEPS/debs"
du -sh "$DEPS"
