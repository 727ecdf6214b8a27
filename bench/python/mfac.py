"""M-FAC on the CPU: mlprims against the paper's algorithms and plain alternatives, same data, same
process (peers in mfac_peers.py, reimplemented from the formulas).

For each size (m gradients of dimension d, float32, rows of mixed scale, damp = 1e-5):

* static setup: FisherInverse vs the paper's recursion (m sequential passes) and a float32 torch
  Woodbury (Gram + Cholesky);
* ihvp: FisherInverse.ihvp (plain and refine=True) vs two plain numpy passes G @ x, G.T @ y (the
  memory-bound floor), the recursion's product and the torch Woodbury product;
* sliding window: update_ihvp vs ihvp, and vs the reference's dynamic algorithm (O(m^3) per step);
* memory: peak RSS of a process that builds G and uses FisherInverse, against the size of G.

Each time is the median of interleaved runs; next to it the backward error
eta = ||F y - x|| / (||F|| ||y|| + ||x||) for x = a stored gradient (the optimizer's case), with
F y computed in float64 in O(dm) and ||F|| from power iterations. Products come back in the
dtype of x: float32 for the timed runs, float64 for the refined accuracy figure.

    python bench/python/mfac.py [--repeats 5] [--quick] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from datetime import date
from pathlib import Path

import mlprims
import numpy as np
from mlprims._timing import interleaved_medians, median_time
from mlprims.mfac import FisherInverse, SlidingFisherInverse

DAMP = 1e-5
STATIC_SIZES = [(64, 100_000), (256, 100_000), (1024, 100_000), (64, 1_000_000), (256, 1_000_000),
                (1024, 1_000_000), (64, 10_000_000), (256, 10_000_000)]
SLIDING_SIZES = [(256, 100_000), (1024, 100_000), (1024, 1_000_000)]
MEMORY_SIZE = (256, 10_000_000)
QUICK_STATIC = [(64, 100_000), (256, 100_000)]
QUICK_SLIDING = [(64, 100_000)]
ROW_BLOCK = 32  # rows widened to float64 at a time by the checks


def make_gradients(m: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    G = np.empty((m, d), dtype=np.float32)
    scales = np.logspace(-1, 1, m)[rng.permutation(m)]
    for i in range(m):
        rng.standard_normal(d, dtype=np.float32, out=G[i])
        G[i] *= scales[i]
    return G


def apply_fisher(blocks: list[np.ndarray], damp: float, y: np.ndarray) -> np.ndarray:
    """F y in float64 for F = damp I + (1/m) G^T G, G given as a list of row blocks."""
    m = sum(block.shape[0] for block in blocks)
    result = damp * y
    for block in blocks:
        for first in range(0, block.shape[0], ROW_BLOCK):
            rows = block[first : first + ROW_BLOCK].astype(np.float64)
            result += rows.T @ (rows @ y) / m
    return result


def fisher_norm(blocks: list[np.ndarray], damp: float, iterations: int = 12) -> float:
    v = np.random.default_rng(0).standard_normal(blocks[0].shape[1])
    for _ in range(iterations):
        v = apply_fisher(blocks, damp, v)
        v /= np.linalg.norm(v)
    return float(np.linalg.norm(apply_fisher(blocks, damp, v)))


def backward_error(blocks, damp, norm, y, x) -> float:
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    residual = apply_fisher(blocks, damp, y) - x
    return float(np.linalg.norm(residual) / (norm * np.linalg.norm(y) + np.linalg.norm(x)))


def recursion_affordable(m: int, d: int) -> bool:
    # m sequential passes over up to m rows: about m^2 d / 2 multiply-adds, memory-bound.
    return m * m * d <= 2e12


def run_static(m: int, d: int, repeats: int) -> dict:
    import torch
    from mfac_peers import PaperStaticRecursion, TorchWoodbury

    G = make_gradients(m, d, seed=m + d)
    G_torch = torch.from_numpy(G)
    blocks = [G]
    norm = fisher_norm(blocks, DAMP)
    x = G[m // 3].copy()  # a stored gradient
    x_torch = torch.from_numpy(x)
    row = {"m": m, "d": d, "gradient_bytes": G.nbytes}
    setup_repeats = max(1, min(repeats, 3))

    ours = FisherInverse(G, DAMP)
    row["setup_s"] = median_time(lambda: FisherInverse(G, DAMP), setup_repeats)
    try:
        woodbury = TorchWoodbury(G_torch, DAMP)
        row["torch_woodbury_setup_s"] = median_time(lambda: TorchWoodbury(G_torch, DAMP), setup_repeats)
    except RuntimeError as error:  # float32 Cholesky of an ill-conditioned K
        woodbury = None
        row["torch_woodbury_error"] = str(error).splitlines()[0]
    if recursion_affordable(m, d) and d <= 1_000_000:
        recursion = PaperStaticRecursion(G_torch, DAMP)
        runs = 1 if m * m * d > 2e11 else setup_repeats
        row["recursion_setup_s"] = median_time(lambda: PaperStaticRecursion(G_torch, DAMP), runs)
        row["recursion_setup_runs"] = runs
        row["setup_speedup_vs_recursion"] = row["recursion_setup_s"] / row["setup_s"]
    else:
        recursion = None

    contestants = {
        "ihvp": lambda: ours.ihvp(x),
        "ihvp_refined": lambda: ours.ihvp(x, refine=True),
        "numpy_two_passes": lambda: G.T @ (G @ x),
    }
    if woodbury is not None:
        contestants["torch_woodbury_ihvp"] = lambda: woodbury.ihvp(x_torch)
    if recursion is not None:
        contestants["recursion_ihvp"] = lambda: recursion.ihvp(x_torch)
    times = interleaved_medians(contestants, repeats, warmup_calls=1)
    row.update({f"{name}_s": value for name, value in times.items()})
    row["ihvp_over_two_passes"] = times["ihvp"] / times["numpy_two_passes"]

    row["ihvp_eta"] = backward_error(blocks, DAMP, norm, ours.ihvp(x), x)
    # Refined, with float64 x and result (a float32 result's own rounding limits eta to ~1e-8).
    y, info = ours.ihvp(x.astype(np.float64), refine=True, return_info=True)
    row["ihvp_refined_eta"] = backward_error(blocks, DAMP, norm, y, x)
    row["ihvp_refined_steps"] = info.refinement_steps
    if woodbury is not None:
        row["torch_woodbury_eta"] = backward_error(blocks, DAMP, norm, woodbury.ihvp(x_torch).numpy(), x)
    if recursion is not None:
        row["recursion_eta"] = backward_error(blocks, DAMP, norm, recursion.ihvp(x_torch).numpy(), x)
    return row


def run_sliding(m: int, d: int, repeats: int) -> dict:
    import torch
    from mfac_peers import ReferenceSlidingWindow

    G = make_gradients(m, d, seed=2 * m + d)
    fresh = make_gradients(2 * repeats + 1, d, seed=3 * m + d)
    ours = SlidingFisherInverse(d, m, DAMP, dtype="float32")
    for g in G:
        ours.update(g)
    reference = ReferenceSlidingWindow(d, m, DAMP)
    reference.load(torch.from_numpy(G))
    x = G[m // 2].copy()
    used = iter(range(len(fresh)))

    def ours_step():
        return ours.update_ihvp(fresh[next(used)])

    # update_ihvp and ihvp of ours interleaved; the reference's step after (it replaces the same
    # rows in the same order, so both windows hold the same gradients at the end).
    times = interleaved_medians({"update_ihvp": ours_step, "sliding_ihvp": lambda: ours.ihvp(x)}, repeats)
    reference_used = iter(range(len(fresh)))
    times["reference_update_ihvp"] = median_time(
        lambda: reference.update_ihvp(torch.from_numpy(fresh[next(reference_used)])), repeats
    )
    step = repeats  # rows 0 .. repeats-1 of the window now hold fresh[0 .. repeats-1]
    g = fresh[step]
    y_ours = ours.update_ihvp(g)
    y_reference = reference.update_ihvp(torch.from_numpy(g)).numpy()
    window = [fresh[: step + 1], G[step + 1 :]]
    norm = fisher_norm(window, DAMP)
    row = {"m": m, "d": d, **{f"{name}_s": value for name, value in times.items()}}
    row["update_ihvp_over_ihvp"] = times["update_ihvp"] / times["sliding_ihvp"]
    row["speedup_vs_reference_step"] = times["reference_update_ihvp"] / times["update_ihvp"]
    row["update_ihvp_eta"] = backward_error(window, DAMP, norm, y_ours, g)
    row["reference_eta"] = backward_error(window, DAMP, norm, y_reference, g)
    return row


def resident_high_water() -> int:
    """Peak resident memory of this process in bytes (VmHWM; ru_maxrss would include the parent's
    peak, which a child inherits across fork and exec on Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def memory_probe(m: int, d: int) -> None:
    """Run in a fresh process: builds G, then setup, products and the diagonal; prints peak RSS.

    The interpreter, numpy and mlprims take a fixed ~100 MB before G exists; that baseline is
    reported apart so that small probes are not dominated by it.
    """
    baseline = resident_high_water()
    G = make_gradients(m, d, seed=1)
    finv = FisherInverse(G, DAMP)
    x = G[0].copy()
    finv.ihvp(x)
    finv.ihvp(x, refine=True)
    finv.diagonal()
    peak = resident_high_water()
    print(json.dumps({"m": m, "d": d, "gradient_bytes": G.nbytes, "peak_rss_bytes": peak,
                      "baseline_rss_bytes": baseline, "peak_over_gradients": peak / G.nbytes,
                      "above_baseline_over_gradients": (peak - baseline) / G.nbytes}))


def run(repeats: int, quick: bool) -> dict:
    m, d = (64, 200_000) if quick else MEMORY_SIZE
    probe = subprocess.run([sys.executable, __file__, "--memory-probe", str(m), str(d)], check=True,
                           capture_output=True, text=True)
    memory = json.loads(probe.stdout.strip().splitlines()[-1])
    print(json.dumps(memory), flush=True)
    static = [run_static(m, d, repeats) for m, d in (QUICK_STATIC if quick else STATIC_SIZES)]
    for row in static:
        print(json.dumps(row), flush=True)
    sliding = [run_sliding(m, d, repeats) for m, d in (QUICK_SLIDING if quick else SLIDING_SIZES)]
    for row in sliding:
        print(json.dumps(row), flush=True)
    return {
        "benchmark": "mfac",
        "date": date.today().isoformat(),
        "build": mlprims.build_info(),
        "damp": DAMP,
        "repeats": repeats,
        "static": static,
        "sliding": sliding,
        "memory": memory,
    }


def summary(result: dict) -> str:
    lines = ["static: m, d | setup s (x recursion, torch) | ihvp / two numpy passes | eta plain, refined, torch, recursion"]
    for r in result["static"]:
        lines.append(
            f"  {r['m']:5d} {r['d']:9d} | {r['setup_s']:.3g} ({r.get('setup_speedup_vs_recursion', float('nan')):.3g}x, "
            f"torch {r.get('torch_woodbury_setup_s', float('nan')):.3g}) | {r['ihvp_over_two_passes']:.2f} | "
            f"{r['ihvp_eta']:.1e} {r['ihvp_refined_eta']:.1e} {r.get('torch_woodbury_eta', float('nan')):.1e} "
            f"{r.get('recursion_eta', float('nan')):.1e}"
        )
    lines.append("sliding: m, d | update_ihvp / ihvp | x reference step | eta ours, reference")
    for r in result["sliding"]:
        lines.append(
            f"  {r['m']:5d} {r['d']:9d} | {r['update_ihvp_over_ihvp']:.2f} | {r['speedup_vs_reference_step']:.2f}x | "
            f"{r['update_ihvp_eta']:.1e} {r['reference_eta']:.1e}"
        )
    mem = result["memory"]
    lines.append(f"memory: m={mem['m']} d={mem['d']}: peak RSS / size of G = {mem['peak_over_gradients']:.3f} "
                 f"({mem['above_baseline_over_gradients']:.3f} above the {mem['baseline_rss_bytes'] / 2**20:.0f} MiB baseline)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="small sizes only (a smoke test)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--memory-probe", nargs=2, type=int, metavar=("M", "D"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe:
        memory_probe(*args.memory_probe)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    result = run(args.repeats, args.quick)
    print(summary(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
