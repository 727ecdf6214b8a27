#!/usr/bin/env bash
# Runs the side-by-side benchmarks and the native micro-benchmarks, writing JSON results to
# bench/results/<machine>-<date>-<name>.json. Usage: scripts/bench.sh [--quick]
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
cd "$ROOT"

install_system_packages
make_venv
"$VENV/bin/pip" install --quiet ".[bench]" python-flint scipy-openblas32
# torch for the M-FAC peers (bench/python/mfac_peers.py); override with TORCH_SPEC.
"$VENV/bin/pip" install --quiet "$TORCH_SPEC"

stamp="$(hostname -s)-$(date +%Y-%m-%d)"
quick=()
[ "${1:-}" = "--quick" ] && quick=(--quick)
mkdir -p bench/results
"$VENV/bin/python" bench/python/bessel.py "${quick[@]}" --out "bench/results/${stamp}-bessel.json"
"$VENV/bin/python" bench/python/vmf.py "${quick[@]}" --out "bench/results/${stamp}-vmf.json"
"$VENV/bin/python" bench/python/mfac.py "${quick[@]}" --out "bench/results/${stamp}-mfac.json"
"$VENV/bin/python" bench/python/lowrank.py "${quick[@]}" --out "bench/results/${stamp}-lowrank.json"
"$VENV/bin/python" bench/python/lowrank_elementwise.py "${quick[@]}" --out "bench/results/${stamp}-lowrank-elementwise.json"
"$VENV/bin/python" bench/python/ot.py "${quick[@]}" --out "bench/results/${stamp}-ot.json"
"$VENV/bin/python" bench/python/sparse.py "${quick[@]}" --out "bench/results/${stamp}-sparse.json"
checkpoint_size=1.0
[ ${#quick[@]} -gt 0 ] && checkpoint_size=0.05
"$VENV/bin/python" bench/python/sparse_checkpoint.py --gigabytes "$checkpoint_size" --out "bench/results/${stamp}-sparse-checkpoint.json"
"$VENV/bin/python" bench/python/sparse_training.py "${quick[@]}" --out "bench/results/${stamp}-sparse-training.json"

BUILD="$ROOT/build/cpp-bench"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DPython_EXECUTABLE="$VENV/bin/python" -DMLPRIMS_CUDA=OFF \
  -DMLPRIMS_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD"
min_time=1
[ ${#quick[@]} -gt 0 ] && min_time=0.01
for bench in "$BUILD"/bench/cpp/bench_*; do
  name="$(basename "$bench")"
  "$bench" --benchmark_min_time="$min_time" --benchmark_out="bench/results/${stamp}-${name}.json" \
    --benchmark_out_format=json
done
