"""Entropic OT on the CPU: mlprims' Sinkhorn and Sinkhorn-Newton-Sparse against POT's solvers,
same data, same process, same target.

Every solver's returned plan is measured by one function, the L1 marginal error
||P 1 - a||_1 + ||P^T 1 - b||_1. POT stops on its own criterion (L2 of one marginal, checked
every 10 iterations), so for each POT method the iteration budget is doubled (stopThr = 0) until
its plan reaches the target, and that run is timed; a method that needs more than `--max-seconds`
for one run is reported as not reaching it. mlprims runs with tol = target. Times are medians of
`repeats` interleaved runs.

Problems: uniform random costs in [0, 1] (the paper's first case) and 2-D point clouds with
squared-Euclidean costs normalized to max 1, uniform weights.

    python bench/python/ot.py [--repeats 3] [--n 500 1000] [--reg 1e-2 1e-3] [--target 1e-8] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path

import numpy as np
from mlprims import ot
from mlprims._timing import interleaved_medians


def marginal_error(P, a, b) -> float:
    return float(np.abs(P.sum(1) - a).sum() + np.abs(P.sum(0) - b).sum())


def problem(kind: str, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    if kind == "random":
        C = rng.random((n, n))
    else:
        x, y = rng.random((n, 2)), rng.random((n, 2))
        C = ((x[:, None] - y[None]) ** 2).sum(-1)
        C /= C.max()
    return np.full(n, 1.0 / n), np.full(n, 1.0 / n), C


def pot_run(pot, method, a, b, C, reg, target, max_seconds):
    """The smallest doubling of the iteration budget whose plan reaches the target: (iterations, call)."""
    iterations = 10
    while True:
        start = time.perf_counter()
        P = pot.sinkhorn(a, b, C, reg, method=method, numItermax=iterations, stopThr=0.0, warn=False)
        elapsed = time.perf_counter() - start
        if np.isfinite(P).all() and marginal_error(P, a, b) <= target:
            return iterations, lambda: pot.sinkhorn(a, b, C, reg, method=method, numItermax=iterations, stopThr=0.0,
                                                    warn=False)
        if elapsed > max_seconds or iterations > 10**6:
            return None, None
        iterations *= 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, nargs="+", default=[500, 1000])
    parser.add_argument("--reg", type=float, nargs="+", default=[1e-2, 1e-3])
    parser.add_argument("--kind", nargs="+", default=["random", "points"])
    parser.add_argument("--target", type=float, default=1e-8)
    parser.add_argument("--max-seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    # POT's package is also called `ot`, like this script: import it with this folder off the path.
    import sys

    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    import ot as pot

    rows = []
    print(f"target marginal error {args.target:g}; times are medians of {args.repeats} runs")
    print("%-7s %5s %7s  %-22s %10s %10s %9s %10s" % ("problem", "n", "reg", "solver", "iterations", "time [ms]",
                                                        "x fastest", "error"))
    for kind in args.kind:
        for n in args.n:
            for reg in args.reg:
                a, b, C = problem(kind, n)
                calls, info = {}, {}
                for method in ("sinkhorn", "sns", "auto"):
                    r = ot.sinkhorn(a, b, C, reg, method=method, tol=args.target, max_iter=200000)
                    info[f"mlprims {method}"] = (r.iterations["sinkhorn"] + r.iterations["newton"],
                                                 marginal_error(r.plan(), a, b), r.iterations)
                    calls[f"mlprims {method}"] = lambda m=method: ot.sinkhorn(a, b, C, reg, method=m, tol=args.target,
                                                                             max_iter=200000)
                for method in ("sinkhorn", "sinkhorn_stabilized", "sinkhorn_log"):
                    iterations, call = pot_run(pot, method, a, b, C, reg, args.target, args.max_seconds)
                    if call is None:
                        info[f"POT {method}"] = (None, None, None)
                        continue
                    calls[f"POT {method}"] = call
                    info[f"POT {method}"] = (iterations, marginal_error(call(), a, b), None)
                times = interleaved_medians(calls, args.repeats)
                fastest_pot = min((t for k, t in times.items() if k.startswith("POT")), default=float("nan"))
                for name, (iterations, error, detail) in info.items():
                    t = times.get(name)
                    row = {"problem": kind, "n": n, "reg": reg, "solver": name, "iterations": iterations,
                           "detail": detail, "seconds": t, "marginal_error": error,
                           "pot_fastest_over_this": (fastest_pot / t) if t else None}
                    rows.append(row)
                    print("%-7s %5d %7.0e  %-22s %10s %10s %9s %10s" % (
                        kind, n, reg, name, iterations if iterations is not None else "-",
                        "%.1f" % (1e3 * t) if t else "not reached",
                        "%.2f" % (fastest_pot / t) if t else "-", "%.1e" % error if error is not None else "-"))
    if args.out:
        args.out.write_text(json.dumps({"date": str(date.today()), "target": args.target, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
