# Shared by the scripts: a virtual environment for this checkout (MLPRIMS_VENV, default .venv).
# shellcheck shell=bash
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MLPRIMS_VENV:-$ROOT/.venv}"
PYTHON_BIN="${PYTHON:-python3}"
# torch for the interop and autograd tests; any version >= 2.1 works (override with TORCH_SPEC).
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"

make_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON_BIN" -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
}

# Debian packages for the C++ tests and micro-benchmarks, when they are missing.
install_system_packages() {
  local missing=()
  [ -f /usr/include/gtest/gtest.h ] || missing+=(libgtest-dev)
  [ -f /usr/include/benchmark/benchmark.h ] || missing+=(libbenchmark-dev)
  command -v cmake >/dev/null || missing+=(cmake)
  command -v ninja >/dev/null || missing+=(ninja-build)
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing ${missing[*]} with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}
