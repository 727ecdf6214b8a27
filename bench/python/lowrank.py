"""Truncated and Fisher-weighted SVD on the CPU: mlprims against numpy's full SVD,
torch.svd_lowrank and scikit-learn's randomized_svd, same data, same process.

Matrices are float32 with LLM-like spectra (singular values k^-0.3: flat and slowly decaying) of
transformer shapes. (The closed-form weighted problems are this SVD of a scaled matrix plus O(mn)
scaling, so they are not timed apart.) For each method: the median time of interleaved runs and
the error ||W - A B||_F relative to the optimum (from a float64 full SVD), i.e. 1.0 is optimal.
Ranks above min(m, n)/2 are skipped: there a truncated SVD is a full one.

    python bench/python/lowrank.py [--repeats 3] [--quick] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import numpy as np

import mlprims
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
        contestants = {
            "mlprims": lambda: results.__setitem__("mlprims", lowrank.truncated_svd(W, rank)),
            "torch_svd_lowrank": lambda: results.__setitem__("torch", torch.svd_lowrank(W_torch, q=rank, niter=2)),
            # The same basis size and power iterations as mlprims' defaults, for equal accuracy.
            "torch_svd_lowrank_matched": lambda: results.__setitem__(
                "torch_matched", torch.svd_lowrank(W_torch, q=rank + 10 + rank // 2, niter=6)
            ),
        }
        if randomized_svd is not None:
            contestants["sklearn_randomized_svd"] = lambda: results.__setitem__(
                "sklearn", randomized_svd(W, rank, random_state=0)
            )
        times = interleaved_medians(contestants, repeats, warmup_calls=1)
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
        mu, ms = results["torch_matched"][0][:, :rank], results["torch_matched"][1][:rank]
        mv = results["torch_matched"][2][:, :rank]
        row["torch_svd_lowrank_matched_error"] = relative_error(W64, (mu * ms).numpy(), mv.numpy().T, best)
        row["speedup_vs_torch_matched"] = times["torch_svd_lowrank_matched"] / times["mlprims"]
        if randomized_svd is not None:
            su, ss, svt = results["sklearn"]
            row["sklearn_randomized_svd_error"] = relative_error(W64, su * ss, svt, best)
        row["speedup_vs_numpy_full"] = full_time / times["mlprims"]
        row["speedup_vs_torch_svd_lowrank"] = times["torch_svd_lowrank"] / times["mlprims"]
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def summary(rows: list[dict]) -> str:
    lines = ["m x n, rank | mlprims s (method) | x numpy full | x torch.svd_lowrank (niter=2; matched) | "
             "error/optimum: ours, torch, torch matched, sklearn"]
    for r in rows:
        lines.append(
            f"{r['m']:5d} x {r['n']:5d} {r['rank']:4d} | {r['mlprims_s']:.3g} ({r['method']}) | "
            f"{r['speedup_vs_numpy_full']:.1f}x | {r['speedup_vs_torch_svd_lowrank']:.2f}x; "
            f"{r['speedup_vs_torch_matched']:.2f}x | {r['mlprims_error']:.5f} {r['torch_svd_lowrank_error']:.5f} "
            f"{r['torch_svd_lowrank_matched_error']:.5f} {r.get('sklearn_randomized_svd_error', float('nan')):.5f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one small shape (a smoke test)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = []
    for m, n in QUICK_SHAPES if args.quick else SHAPES:
        rows += run_shape(m, n, QUICK_RANKS if args.quick else RANKS, args.repeats)
    print(summary(rows))
    if args.out:
        result = {"benchmark": "lowrank", "date": date.today().isoformat(), "build": mlprims.build_info(),
                  "decay": DECAY, "repeats": args.repeats, "rows": rows}
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
