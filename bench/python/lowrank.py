"""Truncated and Fisher-weighted SVD on the CPU: mlprims against numpy's full SVD,
torch.svd_lowrank and scikit-learn's randomized_svd, same data, same process.

torch.svd_lowrank runs twice: with its defaults (q = rank, niter = 2), and with the cheapest
(q, niter) of a grid that reaches mlprims' error ("equal error": candidates in order of their
passes over W, (2 niter + 2) q, the first whose error is <= mlprims' is timed). Timings are
medians of `repeats` interleaved runs, 5 x repeats on the shapes below 4M elements, each
contestant after a pause of 0.25 s and one untimed call (other libraries' idle threads spin).

Matrices are float32 with LLM-like spectra (singular values k^-0.3: flat and slowly decaying) of
transformer shapes. (The closed-form weighted problems are this SVD of a scaled matrix plus O(mn)
scaling, so they are not timed apart.) For each method: the median time of interleaved runs and
the error ||W - A B||_F relative to the optimum (from a float64 full SVD), i.e. 1.0 is optimal.
Ranks above min(m, n)/2 are skipped: there a truncated SVD is a full one.

    python bench/python/lowrank.py [--repeats 3] [--quick] [--shape MxN ...] [--rank R ...] [--out FILE.json]
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

SHAPES = [(768, 3072), (3072, 768), (4096, 4096), (4096, 11008)]
RANKS = [8, 64, 256, 512]
QUICK_SHAPES = [(256, 768)]
QUICK_RANKS = [8, 32]
DECAY = 0.3


def make_matrix(m: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = min(m, n)
    u, _ = np.linalg.qr(rng.standard_normal((m, p)).astype(np.float32))
    v, _ = np.linalg.qr(rng.standard_normal((n, p)).astype(np.float32))
    s = np.arange(1, p + 1, dtype=np.float32) ** -DECAY
    return np.ascontiguousarray((u * s) @ v.T)


def relative_error(W64: np.ndarray, left, right, best: float) -> float:
    product = np.asarray(left, dtype=np.float64) @ np.asarray(right, dtype=np.float64)
    return float(np.linalg.norm(W64 - product) / best)


def torch_at_error(W_torch, W64: np.ndarray, rank: int, target: float, best: float):
    """The cheapest (q, niter) for torch.svd_lowrank whose error is <= target, with that error;
    (None, None, smallest error seen) when no candidate reaches it."""
    import torch

    p = min(W64.shape)
    widths = sorted({min(p, q) for q in (rank + 10, rank + 10 + rank // 2, 2 * rank + 10)})
    candidates = sorted(((2 * niter + 2) * q, q, niter) for q in widths for niter in range(1, 11))
    smallest = float("inf")
    for _, q, niter in candidates:
        torch.manual_seed(0)
        u, s, v = torch.svd_lowrank(W_torch, q=q, niter=niter)
        error = relative_error(W64, (u[:, :rank] * s[:rank]).numpy(), v[:, :rank].numpy().T, best)
        if error <= target:
            return q, niter, error
        smallest = min(smallest, error)
    return None, None, smallest


def run_shape(m: int, n: int, ranks: list[int], repeats: int) -> list[dict]:
    import torch

    try:
        from sklearn.utils.extmath import randomized_svd
    except ImportError:
        randomized_svd = None
    W = make_matrix(m, n, seed=m + n)
    W64 = W.astype(np.float64)
    s64 = np.linalg.svd(W64, compute_uv=False)
    W_torch = torch.from_numpy(W)
    rows = []
    results = {}

    def numpy_full():
        u, s, vt = np.linalg.svd(W, full_matrices=False)
        results["numpy"] = (u, s, vt)

    full_time = interleaved_medians({"numpy_full_svd": numpy_full}, repeats)["numpy_full_svd"]
    for rank in ranks:
        if rank > min(m, n) // 2:
            continue
        best = float(np.sqrt(np.sum(s64[rank:] ** 2)))
        ours = lowrank.truncated_svd(W, rank)
        our_error = relative_error(W64, ours.left, ours.right, best)
        q, niter, torch_error = torch_at_error(W_torch, W64, rank, our_error, best)
        contestants = {
            "mlprims": lambda: results.__setitem__("mlprims", lowrank.truncated_svd(W, rank)),
            # subspace iteration, the method before block Krylov
            "mlprims_randomized": lambda: results.__setitem__(
                "mlprims_randomized", lowrank.truncated_svd(W, rank, method="randomized")),
            "torch_svd_lowrank": lambda: results.__setitem__("torch", torch.svd_lowrank(W_torch, q=rank, niter=2)),
        }
        if q is not None:
            contestants["torch_svd_lowrank_equal_error"] = lambda: torch.svd_lowrank(W_torch, q=q, niter=niter)
        if randomized_svd is not None:
            contestants["sklearn_randomized_svd"] = lambda: results.__setitem__(
                "sklearn", randomized_svd(W, rank, random_state=0)
            )
        # Calls on the small shapes take milliseconds, where this machine's noise is largest.
        contestant_repeats = repeats if m * n >= 4_000_000 else 5 * repeats
        # A pause before each contestant: calls of ~10 ms are shorter than the ~0.1 s for which
        # the previous contestant's thread pool (numpy's OpenBLAS, ours, torch's) keeps spinning.
        times = interleaved_medians(contestants, contestant_repeats, warmup_calls=1, idle_seconds=0.25)
        ours = results["mlprims"]
        u, s, vt = results["numpy"]
        tu, ts, tv = results["torch"]
        row = {
            "m": m, "n": n, "rank": rank, "method": ours.method,
            "numpy_full_svd_s": full_time, **{f"{k}_s": v for k, v in times.items()},
            "mlprims_error": relative_error(W64, ours.left, ours.right, best),
            "numpy_error": relative_error(W64, u[:, :rank] * s[:rank], vt[:rank], best),
            "torch_svd_lowrank_error": relative_error(W64, (tu * ts).numpy(), tv.numpy().T, best),
        }
        randomized = results["mlprims_randomized"]
        row["mlprims_randomized_error"] = relative_error(W64, randomized.left, randomized.right, best)
        row["speedup_vs_mlprims_randomized"] = times["mlprims_randomized"] / times["mlprims"]
        row.update(torch_equal_error_q=q, torch_equal_error_niter=niter, torch_equal_error_error=torch_error)
        if q is not None:
            row["speedup_vs_torch_equal_error"] = times["torch_svd_lowrank_equal_error"] / times["mlprims"]
        if randomized_svd is not None:
            su, ss, svt = results["sklearn"]
            row["sklearn_randomized_svd_error"] = relative_error(W64, su * ss, svt, best)
        row["speedup_vs_numpy_full"] = full_time / times["mlprims"]
        row["speedup_vs_torch_svd_lowrank"] = times["torch_svd_lowrank"] / times["mlprims"]
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def summary(rows: list[dict]) -> str:
    lines = ["m x n, rank | mlprims s (method) | x numpy full | x mlprims randomized | x torch.svd_lowrank "
             "(defaults; equal error: q, niter) | error/optimum: ours, torch defaults, torch equal, sklearn"]
    for r in rows:
        equal = (f"{r['speedup_vs_torch_equal_error']:.2f}x ({r['torch_equal_error_q']}, {r['torch_equal_error_niter']})"
                 if r["torch_equal_error_q"] is not None else "not reached")
        lines.append(
            f"{r['m']:5d} x {r['n']:5d} {r['rank']:4d} | {r['mlprims_s']:.3g} ({r['method']}) | "
            f"{r['speedup_vs_numpy_full']:.1f}x | {r['speedup_vs_mlprims_randomized']:.2f}x | "
            f"{r['speedup_vs_torch_svd_lowrank']:.2f}x; {equal} | {r['mlprims_error']:.5f} "
            f"{r['torch_svd_lowrank_error']:.5f} {r['torch_equal_error_error']:.5f} "
            f"{r.get('sklearn_randomized_svd_error', float('nan')):.5f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one small shape (a smoke test)")
    parser.add_argument("--shape", action="append", help="only this shape, e.g. 4096x4096 (repeatable)")
    parser.add_argument("--rank", action="append", type=int, help="only this rank (repeatable)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    shapes = QUICK_SHAPES if args.quick else SHAPES
    if args.shape:
        shapes = [tuple(int(v) for v in text.split("x")) for text in args.shape]
    rows = []
    for m, n in shapes:
        rows += run_shape(m, n, args.rank or (QUICK_RANKS if args.quick else RANKS), args.repeats)
    print(summary(rows))
    if args.out:
        result = {"benchmark": "lowrank", "date": date.today().isoformat(), "build": mlprims.build_info(),
                  "decay": DECAY, "repeats": args.repeats, "rows": rows}
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
