"""Element-wise weighted low-rank approximation, min sum_ij w_ij (W - A B)_ij^2, on the CPU:
mlprims (ALS from the closed-form start) against NumPy EM (Srebro & Jaakkola 2003, the usual
reference) and a NumPy ALS, same data, same process.

W has a flat spectrum (like transformer weights); w are per-weight Fisher values of a linear layer
(mean over tokens of squared gradient x squared input, heavy-tailed: ~10 orders of magnitude).
Reported per problem (times are medians of interleaved runs):
- EM: time for `em_iterations` iterations (float64, full SVD each) and its final objective;
  mlprims: time to reach that objective (the sweeps needed, run with tol=0) and the ratio.
- mlprims with its defaults: time, sweeps, objective relative to the best known objective.
- NumPy ALS (batched solves, no extrapolation): time to get within 1e-6 of the best objective.

    python bench/python/lowrank_elementwise.py [--repeats 3] [--quick] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import mlprims
import numpy as np
from mlprims import lowrank
from mlprims._timing import interleaved_medians

PROBLEMS = [(256, 1024, 16), (768, 768, 16), (768, 768, 64), (768, 3072, 16)]
QUICK_PROBLEMS = [(128, 256, 8)]
EM_ITERATIONS = 30
GAP = 1e-6


def make_problem(m: int, n: int, seed: int, tokens: int = 32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    grad_sq = (rng.standard_normal((tokens, m)) * np.exp(rng.normal(0, 1, m))) ** 2
    input_sq = (rng.standard_t(3, (tokens, n)) * np.exp(rng.normal(0, 1, n))) ** 2
    return rng.standard_normal((m, n)) / np.sqrt(n), grad_sq.T @ input_sq / tokens


def objective(W, w, A, B) -> float:
    return float(np.sum(w * (W - np.asarray(A) @ np.asarray(B)) ** 2))


def numpy_em(W, w, rank, iterations):
    """EM from the plain SVD: X <- SVD_r(w~ W + (1 - w~) X), w~ = w / max w."""
    share = w / w.max()
    u, s, vt = np.linalg.svd(W, full_matrices=False)
    X = (u[:, :rank] * s[:rank]) @ vt[:rank]
    for _ in range(iterations):
        u, s, vt = np.linalg.svd(share * W + (1 - share) * X, full_matrices=False)
        X = (u[:, :rank] * s[:rank]) @ vt[:rank]
    return float(np.sum(w * (W - X) ** 2))


def numpy_als_rows(W, w, B):
    r = B.shape[0]
    products = (B[:, None, :] * B[None, :, :]).reshape(r * r, -1).T
    G = (w @ products).reshape(-1, r, r) + 1e-12 * np.eye(r)
    return np.linalg.solve(G, ((w * W) @ B.T)[..., None])[..., 0]


def numpy_als(W, w, rank, target, max_sweeps=1000):
    """ALS from the same closed-form start as mlprims until the objective is <= target (sweeps
    needed, or max_sweeps + 1 if it was not reached)."""
    start = lowrank.weighted_svd(W, rank, weights=w, max_iter=0, method="exact")
    A, B = start.left, start.right
    for sweep in range(1, max_sweeps + 1):
        A = numpy_als_rows(W, w, B)
        B = numpy_als_rows(W.T, w.T, A.T).T
        if objective(W, w, A, B) <= target:
            return sweep
    return max_sweeps + 1


def sweeps_to_reach(W, w, rank, target) -> int:
    seen = []
    lowrank.weighted_svd(W, rank, weights=w, tol=0.0, max_iter=5000,
                         callback=lambda k, error: seen.append(error**2) or error**2 <= target)
    return next((k + 1 for k, value in enumerate(seen) if value <= target), len(seen))


def run_problem(m: int, n: int, rank: int, repeats: int) -> dict:
    W, w = make_problem(m, n, seed=m * n + rank)
    results = {}
    ours = lowrank.weighted_svd(W, rank, weights=w)
    # Best known: our result polished with tol 0, or NumPy ALS's, whichever is lower.
    polished = lowrank.weighted_svd(W, rank, weights=w, tol=0.0, max_iter=2000)
    best = min(ours.weighted_error**2, polished.weighted_error**2)
    em_final = numpy_em(W, w, rank, EM_ITERATIONS)
    to_em = sweeps_to_reach(W, w, rank, em_final)
    contestants = {
        "numpy_em": lambda: numpy_em(W, w, rank, EM_ITERATIONS),
        "mlprims_to_em": lambda: lowrank.weighted_svd(W, rank, weights=w, max_iter=to_em, tol=0.0),
        "mlprims_default": lambda: results.__setitem__("ours", lowrank.weighted_svd(W, rank, weights=w)),
        "numpy_als_to_gap": lambda: results.__setitem__("numpy_sweeps", numpy_als(W, w, rank, best * (1 + GAP))),
    }
    times = interleaved_medians(contestants, repeats, warmup_calls=0)
    row = {
        "m": m, "n": n, "rank": rank, "weight_spread": float(w.max() / w.min()),
        **{f"{k}_s": v for k, v in times.items()},
        "em_iterations": EM_ITERATIONS, "em_objective_vs_best": em_final / best,
        "mlprims_sweeps_to_em": to_em, "speedup_vs_em": times["numpy_em"] / times["mlprims_to_em"],
        "mlprims_sweeps": results["ours"].iterations, "mlprims_converged": results["ours"].converged,
        "mlprims_objective_vs_best": results["ours"].weighted_error**2 / best,
        "start_objective_vs_best": lowrank.weighted_svd(W, rank, weights=w, max_iter=0).weighted_error**2 / best,
        "numpy_als_sweeps": results["numpy_sweeps"],
        "speedup_vs_numpy_als": times["numpy_als_to_gap"] / times["mlprims_default"],
    }
    print(json.dumps(row), flush=True)
    return row


def summary(rows: list[dict]) -> str:
    lines = ["m x n, rank | EM 30 it: s, objective/best | mlprims to EM's objective: sweeps, s, x EM | "
             "mlprims default: s, sweeps, objective/best | NumPy ALS to 1e-6: sweeps, s, x"]
    for r in rows:
        lines.append(
            f"{r['m']} x {r['n']}, {r['rank']} | {r['numpy_em_s']:.3g}, {r['em_objective_vs_best']:.4f} | "
            f"{r['mlprims_sweeps_to_em']}, {r['mlprims_to_em_s']:.3g}, {r['speedup_vs_em']:.0f}x | "
            f"{r['mlprims_default_s']:.3g}, {r['mlprims_sweeps']}, {r['mlprims_objective_vs_best'] - 1:.1e} | "
            f"{r['numpy_als_sweeps']}, {r['numpy_als_to_gap_s']:.3g}, {r['speedup_vs_numpy_als']:.1f}x"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one small problem (a smoke test)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--only", type=int, help="run only this problem (index into the list)")
    args = parser.parse_args()
    problems = QUICK_PROBLEMS if args.quick else PROBLEMS
    if args.only is not None:
        problems = [problems[args.only]]
    rows = [run_problem(m, n, r, args.repeats) for m, n, r in problems]
    print(summary(rows))
    if args.out:
        result = {"benchmark": "lowrank_elementwise", "date": date.today().isoformat(), "build": mlprims.build_info(),
                  "gap": GAP, "repeats": args.repeats, "rows": rows}
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
