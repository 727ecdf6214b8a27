"""mlprims on a shared machine: each operation's time at the default thread count against its
1-thread time, with and without other busy processes on the cores.

Users share nodes. A threaded call whose threads spin while they wait, or whose halves wait on a
thread the scheduler has put aside, becomes many times slower than a 1-thread call as soon as
another process keeps a core busy. The goal: with `--competitors` busy processes (default one)
every operation at the default thread count takes at most 1.5x its 1-thread time, and without
them it keeps its speed.

Each figure is the median of `--repeats` runs; 1-thread and default runs alternate so that drifts
of the machine's load affect both alike. The busy processes are plain Python loops started here
and stopped at the end. Reported per operation and load: both medians and their ratio.

    python bench/python/contention.py [--repeats 7] [--competitors 1] [--quick] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import time
from datetime import date
from pathlib import Path

import mlprims
import numpy as np
from mlprims import lowrank, mfac, special, vmf

GOAL = 1.5


def _busy_loop(stop) -> None:
    while not stop.is_set():
        for _ in range(10_000):
            pass


def operations(quick: bool) -> dict:
    """name -> zero-argument callable; data made once, outside the timing."""
    rng = np.random.default_rng(0)
    scale = 4 if quick else 1
    W32 = rng.standard_normal((256, 512)).astype(np.float32)
    weights = rng.exponential(size=W32.shape)
    x = rng.uniform(0.1, 100.0, 1_000_000 // scale)
    G = rng.standard_normal((64, 200_000 // scale)).astype(np.float32)
    finv = mfac.FisherInverse(G, damp=1e-4)
    X = rng.standard_normal((2000, 256))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return {
        "truncated_svd float32 256x512 rank 16": lambda: lowrank.truncated_svd(W32, 16),
        "weighted_svd element-wise 256x512 rank 8, 20 sweeps": lambda: lowrank.weighted_svd(
            W32, 8, weights=weights, max_iter=20, tol=0.0),
        "weighted_svd row weights 256x512 rank 16": lambda: lowrank.weighted_svd(
            W32, 16, row_weights=weights[:, 0]),
        f"log_iv float64, {x.size} points": lambda: special.log_iv(10.0, x),
        f"FisherInverse setup, 64 x {G.shape[1]} float32": lambda: mfac.FisherInverse(G, damp=1e-4),
        f"FisherInverse.ihvp, 64 x {G.shape[1]}": lambda: finv.ihvp(G[0]),
        "vmf.fit 2000 x 256": lambda: vmf.fit(X),
    }


def time_pair(function, default_threads: int, repeats: int) -> tuple[float, float]:
    """Medians of (1 thread, default threads), runs alternating."""
    one, default = [], []
    for _ in range(repeats):
        for threads, times in ((1, one), (default_threads, default)):
            mlprims.set_num_threads(threads)
            function()  # warm-up: pools started, caches filled
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
    mlprims.set_num_threads(default_threads)
    return statistics.median(one), statistics.median(default)


def measure(ops: dict, repeats: int, default_threads: int) -> dict:
    results = {}
    for name, function in ops.items():
        one, default = time_pair(function, default_threads, repeats)
        results[name] = {"one_thread_s": one, "default_s": default, "ratio": default / one}
        print(f"  {name:55s} 1 thread {one * 1e3:9.2f} ms   {default_threads} threads "
              f"{default * 1e3:9.2f} ms   ratio {default / one:5.2f}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--competitors", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="smaller problems, for a smoke run")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    default_threads = mlprims.get_num_threads()
    ops = operations(args.quick)
    report = {"machine": platform.node(), "processor": platform.processor(), "cores": os.cpu_count(),
              "default_threads": default_threads, "repeats": args.repeats, "goal_ratio": GOAL,
              "date": str(date.today()), "quick": args.quick, "loads": {}}

    print(f"no competing process ({default_threads} default threads):")
    report["loads"]["idle"] = measure(ops, args.repeats, default_threads)

    stop = multiprocessing.Event()
    competitors = [multiprocessing.Process(target=_busy_loop, args=(stop,), daemon=True)
                   for _ in range(args.competitors)]
    for process in competitors:
        process.start()
    try:
        time.sleep(0.5)
        print(f"{args.competitors} competing busy process(es):")
        report["loads"]["busy"] = measure(ops, args.repeats, default_threads)
    finally:
        stop.set()
        for process in competitors:
            process.join()

    worst = max(entry["ratio"] for entry in report["loads"]["busy"].values())
    report["worst_busy_ratio"] = worst
    print(f"worst ratio under load: {worst:.2f} (goal <= {GOAL})")
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
