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

# The BLAS kernels (OpenBLAS core type) and thread counts of mlprims and numpy in this environment:
# test results must not depend on them, and the logs say which ran.
describe_thread_pools() {
  "$VENV/bin/python" -c "
import mlprims, threadpoolctl
print('mlprims threads', mlprims.get_num_threads())
for pool in threadpoolctl.threadpool_info():
    owner = 'mlprims' if '/mlprims/' in pool['filepath'] else pool['filepath'].rsplit('/', 1)[-1]
    print(f\"  {owner}: {pool['internal_api']}, {pool.get('architecture', '-')} kernels, {pool['num_threads']} threads\")"
}

# The OpenBLAS kernel mlprims' own BLAS runs under the current environment.
mlprims_blas_kernel() {
  "$VENV/bin/python" -c "
import mlprims, threadpoolctl
print(next(p['architecture'] for p in threadpoolctl.threadpool_info() if '/mlprims/' in p['filepath']))"
}
