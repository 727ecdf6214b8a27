"""Entropic OT on the CPU: mlprims' Sinkhorn and Sinkhorn-Newton-Sparse against POT, RegOT and
GeomLoss, same data, same process, same targets.

Every solver's result is measured by one function, the L1 marginal error
||P 1 - a||_1 + ||P^T 1 - b||_1 of its plan (returned by POT and RegOT; built from the returned
potentials, P = exp((f_i + g_j - C_ij) / reg), for mlprims, and P = a_i b_j exp((F_i + G_j - C_ij)
/ eps) for GeomLoss). Each solver's knob is tuned until that error reaches each target, and that
setting is timed:

* mlprims ('sinkhorn', 'sns', 'auto'): tol = target (its own criterion is this error); halved if
  the measured error were above the target.
* POT (ot.sinkhorn with 'sinkhorn', 'sinkhorn_log', 'sinkhorn_stabilized'): stopThr = 0 and the
  iteration budget doubled until the plan reaches it. ot.bregman.sinkhorn_epsilon_scaling (whose
  plans at small budgets are those of a larger reg, with fine marginals): POT's defaults
  (numItermax 100 outer x 100 inner) and its stopThr tightened tenfold from target^2.
* RegOT (sinkhorn_ssns, sinkhorn_sparse_newton, sinkhorn_bcd): its tol (an L2 norm of the dual
  gradient) tightened tenfold from the target; max_iter is what fits in --max-seconds at the rate
  of a first 8-iteration run. Its plan is its `.plan`, checked against its duals
  (f = dual[:n], g = (dual[n:], 0)).
* GeomLoss (point clouds and digits, tensorized torch float64): SamplesLoss("sinkhorn", p,
  debias=False, potentials=True) with the points rescaled so that its cost |x - y|^p / p is ours
  exactly and blur^p = reg: the same problem. Its knob is `scaling`, 1 - 2^-k (the annealing
  steps roughly double with k); its stopping rule ends every run at one iteration at the final
  epsilon, so its error is what that schedule reaches.

A solver whose next run would take more than --max-seconds (predicted from the last one), or
whose error stops decreasing, is reported as not reaching the target; one that reached no target for
want of time on a (problem, n) is skipped at smaller reg (not with --no-skip). Times are medians of --repeats runs (up to 15 for calls under 80 ms) in a row of each reached setting, after
an untimed one and 0.3 s of sleep (not interleaved: see `timed`), and are of what each call returns: POT and RegOT return the dense
plan, mlprims and GeomLoss the potentials (building mlprims' plan, one more pass of n m
exponentials, is timed once and stored as plan_seconds). Threads: what each library uses by
default on the machine.

Problems (costs normalized to max 1; uniform weights except digits):
  random: uniform random costs in [0, 1];
  sqeuclidean / euclidean: 2-D uniform point clouds in the unit square, |x - y|^2 or |x - y|;
  digits: a pair of scikit-learn digits (8x8, images 0 and 1), bilinearly upsampled to 28x28,
    normalized, 1e-6 on zero pixels, renormalized; costs the squared distances of the pixel
    positions; n = 784.

Default grid (18 minutes on the 2-core VM): reg in {1e-1, 1e-2, 1e-3, 1/1200, 3e-4}, targets
1e-6 and 1e-8, max-seconds 2, repeats 3, on random n = 500 (every reg), 1000 (reg 1e-1, 1e-2, 1e-3),
2000 (reg 1e-3, 3e-4); sqeuclidean n = 500 (every reg), 1000 (reg 1e-1, 1e-3); euclidean n = 500
(reg 1e-1, 1e-2, 1e-3); digits (every reg); plus
mlprims.ot.sinkhorn_points at n = m = 20000 (2-D, reg 1e-1 and 1e-2, tol 1e-6; time and peak RSS increase
in a fresh subprocess). Giving --kind, --n or --reg runs their full product instead.

    python bench/python/ot.py [--quick] [--kind random ...] [--n 500 ...] [--reg 1e-2 ...]
        [--target 1e-6 1e-8] [--repeats 3] [--max-seconds 3] [--points-n 20000] [--out FILE.json]
    python bench/python/ot.py --table FILE.json    # the markdown tables of BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np

REGS = (1e-1, 1e-2, 1e-3, 1 / 1200, 3e-4)
KINDS = ("random", "sqeuclidean", "euclidean", "digits")
MLPRIMS = ("sinkhorn", "sns", "auto")
POT = ("sinkhorn", "sinkhorn_log", "sinkhorn_stabilized", "epsilon_scaling")
REGOT = ("sinkhorn_ssns", "sinkhorn_sparse_newton", "sinkhorn_bcd")


def default_grid():
    grid = [("random", 500, reg) for reg in REGS] + [("random", 1000, reg) for reg in (1e-1, 1e-2, 1e-3)]
    grid += [("random", 2000, reg) for reg in (1e-3, 3e-4)] + [("sqeuclidean", 500, reg) for reg in REGS]
    grid += [("sqeuclidean", 1000, reg) for reg in (1e-1, 1e-3)] + [("euclidean", 500, reg) for reg in REGS[:3]]
    grid += [("digits", 784, reg) for reg in REGS]
    order = {k: i for i, k in enumerate(KINDS)}
    return sorted(grid, key=lambda p: (order[p[0]], p[1], -p[2]))


def marginal_error(P, a, b) -> float:
    P = np.asarray(P, dtype=np.float64)
    if not np.isfinite(P).all():
        return float("inf")
    return float(np.abs(P.sum(1) - a).sum() + np.abs(P.sum(0) - b).sum())


def digit_images():
    from sklearn.datasets import load_digits

    images = load_digits().images[:2].astype(np.float64)
    # Bilinear upsampling 8x8 -> 28x28 by a separable interpolation matrix (pixel centers at 0..7).
    t = np.linspace(0.0, 7.0, 28)
    W = np.maximum(0.0, 1.0 - np.abs(t[:, None] - np.arange(8)[None, :]))
    weights = []
    for image in images:
        w = (W @ image @ W.T).ravel()
        w /= w.sum()
        w[w == 0] = 1e-6
        weights.append(w / w.sum())
    grid = np.stack(np.meshgrid(np.arange(28.0), np.arange(28.0), indexing="ij"), -1).reshape(-1, 2)
    return weights[0], weights[1], grid


def problem(kind: str, n: int, seed: int = 0):
    """(a, b, C, x, y, p): weights, costs normalized to max 1, and for point problems the points and
    the exponent with C = |x - y|^p / scale (x = y = None otherwise)."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        C = rng.random((n, n))
        return np.full(n, 1.0 / n), np.full(n, 1.0 / n), C / C.max(), None, None, None
    if kind == "digits":
        a, b, x = digit_images()
        y = x
        p = 2
    else:
        x, y = rng.random((n, 2)), rng.random((n, 2))
        a = b = np.full(n, 1.0 / n)
        p = 2 if kind == "sqeuclidean" else 1
    distance = np.sqrt(((x[:, None] - y[None]) ** 2).sum(-1))
    C = distance**p
    return a, b, C / C.max(), x, y, p


class Search:
    """Runs one solver at a sequence of settings and records, for each target, the first setting
    whose plan reaches it; stops when all are reached, the error stalls, or the next run would
    exceed max_seconds."""

    def __init__(self, targets, max_seconds, growth=2.0, patience=3):
        self.targets, self.max_seconds, self.growth = sorted(targets, reverse=True), max_seconds, growth
        self.patience, self.timed_out = patience, False
        self.found, self.last_error, self.note, self.plan = {}, None, None, None

    reference = None  # the plan of the first mlprims method to reach the smallest target, for every peer

    def compare(self):
        if self.plan is None or Search.reference is None:
            return None
        return float(np.abs(np.asarray(self.plan, dtype=np.float64) - Search.reference).sum())

    def run(self, settings, solve):
        """solve(setting) -> (error, iterations, detail, call)."""
        stalls = 0
        for setting in settings:
            start = time.perf_counter()
            error, iterations, detail, call = solve(setting)
            elapsed = time.perf_counter() - start
            for target in self.targets:
                if target not in self.found and error <= target:
                    self.found[target] = {"iterations": iterations, "detail": detail, "marginal_error": error,
                                          "call": call, "setting": setting, "plan_l1_vs_mlprims": self.compare()}
            if len(self.found) == len(self.targets):
                return
            if self.last_error is not None and not error < 0.99 * self.last_error:
                stalls += 1
                if stalls >= self.patience:
                    self.note = self.note or f"stalled at error {min(error, self.last_error):.1e}"
                    self.last_error = min(error, self.last_error)
                    return
            else:
                stalls = 0
            self.last_error = error if self.last_error is None else min(error, self.last_error)
            if elapsed * self.growth > self.max_seconds:
                self.timed_out = True
                self.note = f"next run over {self.max_seconds:g} s (error {self.last_error:.1e})"
                return
        self.note = f"settings exhausted (error {self.last_error:.1e})"


def timed(calls, repeats, idle_seconds=0.3):
    """Median times of each call: idle_seconds of sleep, one untimed call, then `repeats` timed calls
    (more for short calls) in a row, call after call. Interleaving the calls of different libraries (a, b, c, a, b, c) instead
    slowed mlprims' calls up to 7x on this 2-core VM even with a sleep and an untimed call at every
    switch of library (another library's thread pool, OpenBLAS, libgomp or torch, still spinning)."""
    times = {}
    for key, call in calls.items():
        time.sleep(idle_seconds)
        start = time.perf_counter()
        call()
        # Short calls are noisy here (2-3x between identical runs of a few ms): up to 15 runs, 0.25 s.
        count = int(min(15, max(repeats, 0.25 / max(time.perf_counter() - start, 1e-6))))
        values = []
        for _ in range(count):
            start = time.perf_counter()
            call()
            values.append(time.perf_counter() - start)
        times[key] = float(np.median(values))
    return times


def doubling(start, limit=2**22):
    k = start
    while k <= limit:
        yield k
        k *= 2


def mlprims_search(ot, a, b, C, reg, method, targets, max_seconds):
    search = Search(targets, max_seconds)
    for target in sorted(targets, reverse=True):
        tol = target
        for _ in range(4):
            deadline = time.perf_counter() + max_seconds

            def stop(iteration, error, deadline=deadline):
                return time.perf_counter() > deadline

            r = ot.sinkhorn(a, b, C, reg, method=method, tol=tol, max_iter=10**7, callback=stop)
            plan = r.plan()
            error = marginal_error(plan, a, b)
            if error <= target:
                if Search.reference is None and target == min(targets):
                    Search.reference = plan
                start = time.perf_counter()
                r.plan()
                plan_seconds = time.perf_counter() - start
                detail = {k: int(v) for k, v in r.iterations.items()} | {"tol": tol, "plan_seconds": plan_seconds}
                search.found[target] = {
                    "iterations": int(r.iterations["sinkhorn"] + r.iterations["newton"]), "detail": detail,
                    "marginal_error": error, "setting": tol, "plan_l1_vs_mlprims": None,
                    "call": lambda tol=tol: ot.sinkhorn(a, b, C, reg, method=method, tol=tol, max_iter=10**7)}
                break
            if not r.converged:  # out of time
                search.timed_out = True
                search.note = f"over {max_seconds:g} s (error {error:.1e})"
                return search
            tol /= 2
        else:
            search.note = f"measured error {error:.1e} above the target at tol {tol * 2:.1e}"
            return search
    return search


def pot_search(pot, a, b, C, reg, method, targets, max_seconds):
    if method == "epsilon_scaling":
        # Its outer iteration k solves at reg + (1e4 - reg) exp(-k) and it stops (after 36 outer iterations at
        # least) on its own squared-L2 criterion: that stopThr is the knob, tightened tenfold from target^2;
        # numItermax (POT's default 100, 100 inner iterations each) is cut to what fits in max_seconds.
        # Tried when its worst case (100 x 100 iterations, timed on one outer one) is under 15 max_seconds.
        search = Search(targets, max_seconds, growth=1.0, patience=99)
        start = time.perf_counter()
        pot.bregman.sinkhorn_epsilon_scaling(a, b, C, reg, numItermax=1, stopThr=0.0, warn=False)
        outer, worst = 100, 100 * (time.perf_counter() - start)
        if worst > 15 * max_seconds:
            search.timed_out = True
            search.note = f"not run: up to 100 x 100 iterations, {worst:.0f} s"
            return search

        def solve(threshold):
            def call():
                return pot.bregman.sinkhorn_epsilon_scaling(a, b, C, reg, numItermax=outer, stopThr=threshold,
                                                            warn=False)

            P = call()
            search.plan = P
            return marginal_error(P, a, b), None, {"stopThr": threshold, "numItermax": outer}, call

        search.run((max(targets) ** 2 * 10.0**-k for k in range(0, 8)), solve)
        return search
    search = Search(targets, max_seconds)

    def solve(k):
        def call():
            return pot.sinkhorn(a, b, C, reg, method=method, numItermax=k, stopThr=0.0, warn=False)

        search.plan = call()
        return marginal_error(search.plan, a, b), k, None, call

    search.run(doubling(4), solve)
    return search


def regot_search(regot, a, b, C, reg, name, targets, max_seconds):
    search = Search(targets, max_seconds, growth=1.0, patience=99)
    M = np.asfortranarray(C)
    function = getattr(regot, name)
    n = len(a)
    start = time.perf_counter()
    function(M, a, b, reg, tol=0.0, max_iter=8, verbose=0)
    per_iteration = (time.perf_counter() - start) / 8
    max_iter = int(max(8, min(10**6, max_seconds / per_iteration)))

    def solve(tol):
        def call():
            return function(M, a, b, reg, tol=tol, max_iter=max_iter, verbose=0)

        r = call()
        f, g = r.dual[:n], np.append(r.dual[n:], 0.0) if len(r.dual) == n + len(b) - 1 else r.dual[n:]
        P = np.asarray(r.plan)
        rebuilt = np.exp((f[:, None] + g[None, :] - C) / reg)
        agrees = float(np.abs(rebuilt - P).sum())  # L1 difference of the two plans
        search.plan = P
        if r.niter >= max_iter:
            search.timed_out = True
            search.note = f"max_iter {max_iter} (what fits in {max_seconds:g} s) reached"
        return marginal_error(P, a, b), int(r.niter), {"tol": tol, "max_iter": max_iter, "plan_vs_duals_l1": agrees}, call

    search.run((max(targets) * 10.0**-k for k in range(0, 9)), solve)
    return search


def geomloss_search(a, b, x, y, p, scale, reg, targets, max_seconds):
    import torch
    from geomloss import SamplesLoss

    # Ours: C = |x - y|^p / scale. GeomLoss: |x' - y'|^p / p, eps = blur^p: x' = x (p / scale)^(1/p), blur = reg^(1/p).
    factor = (p / scale) ** (1.0 / p)
    X, Y = (torch.tensor(v * factor, dtype=torch.float64) for v in (x, y))
    A, B = (torch.tensor(v, dtype=torch.float64) for v in (a, b))
    C = np.sqrt(((x[:, None] - y[None]) ** 2).sum(-1)) ** p / scale
    diameter = float(np.sqrt(((np.concatenate([x, y]).max(0) - np.concatenate([x, y]).min(0)) ** 2).sum()) * factor)
    search = Search(targets, max_seconds)

    def solve(k):
        scaling = 1.0 - 2.0**-k
        loss = SamplesLoss("sinkhorn", p=p, blur=reg ** (1.0 / p), scaling=scaling, debias=False, potentials=True,
                           backend="tensorized", diameter=diameter)

        def call():
            return loss(A, X, B, Y)

        F, G = (v.detach().numpy().astype(np.float64).ravel() for v in call())
        P = a[:, None] * b[None, :] * np.exp((F[:, None] + G[None, :] - C) / reg)
        # Annealing steps: diameter^p down to blur^p by scaling^p, then blur^p, and a last extrapolation.
        search.plan = P
        steps = len(np.arange(p * np.log(diameter), p * np.log(reg ** (1.0 / p)), p * np.log(scaling))) + 3
        return marginal_error(P, a, b), steps, {"scaling": scaling}, call

    search.run(range(1, 24), solve)
    return search


def solve_problem(kind, n, reg, args, libraries, failed):
    ot, pot, regot = libraries
    a, b, C, x, y, p = problem(kind, n)
    searches = {}
    start = time.perf_counter()
    for method in MLPRIMS:
        searches[f"mlprims {method}"] = lambda m=method: mlprims_search(ot, a, b, C, reg, m, args.target,
                                                                      args.max_seconds)
    for method in POT:
        searches[f"POT {method}"] = lambda m=method: pot_search(pot, a, b, C, reg, m, args.target, args.max_seconds)
    for name in REGOT:
        searches[f"RegOT {name}"] = lambda m=name: regot_search(regot, a, b, C, reg, m, args.target, args.max_seconds)
    if x is not None:
        scale = (np.sqrt(((x[:, None] - y[None]) ** 2).sum(-1)) ** p).max()
        searches["GeomLoss"] = lambda: geomloss_search(a, b, x, y, p, scale, reg, args.target, args.max_seconds)
    results = {}
    Search.reference = None
    for name, run in searches.items():
        key = (kind, n, name)
        if key in failed and not args.no_skip:
            results[name] = (None, f"skipped: did not reach at reg {failed[key]:.2g}")
            continue
        search = run()
        if not search.found and search.timed_out:
            failed[key] = reg
        results[name] = (search.found, search.note)
    Search.reference = None
    calls = {(name, t): found[t]["call"] for name, (found, _) in results.items() if found for t in found}
    times = timed(calls, args.repeats)
    rows = []
    for target in args.target:
        peer_times = [times[(name, target)] for name in results if not name.startswith("mlprims")
                      and (name, target) in times]
        best_peer = min(peer_times, default=None)
        for name, (found, note) in results.items():
            entry = (found or {}).get(target)
            t = times.get((name, target))
            rows.append({
                "problem": kind, "n": n, "reg": reg, "target": target, "solver": name, "reached": entry is not None,
                "iterations": entry["iterations"] if entry else None, "detail": entry["detail"] if entry else None,
                "seconds": t, "marginal_error": entry["marginal_error"] if entry else None,
                "best_peer_over_this": (best_peer / t) if (t and best_peer) else None,
                "plan_l1_vs_mlprims": entry["plan_l1_vs_mlprims"] if entry else None,
                "note": None if entry else (note or "not reached")})
    return rows, time.perf_counter() - start


def print_rows(rows):
    for r in rows:
        d = r["detail"] or {}
        its = r["iterations"]
        if its is not None and r["solver"].startswith("mlprims"):
            its = f"{d['sinkhorn']}+{d['newton']}N/{d['cg']}CG"
        l1 = r["plan_l1_vs_mlprims"]
        print("%-11s %5d %7.1e %6.0e  %-28s %14s %12s %8s %9s %8s  %s" % (
            r["problem"], r["n"], r["reg"], r["target"], r["solver"], its if its is not None else "-",
            "%.1f" % (1e3 * r["seconds"]) if r["seconds"] else "-",
            "%.2f" % r["best_peer_over_this"] if r["best_peer_over_this"] else "-",
            "%.1e" % r["marginal_error"] if r["marginal_error"] is not None else "-",
            "%.0e" % l1 if l1 is not None else "-", r["note"] or ""), flush=True)


def auto_checks(rows):
    """Per problem and target: auto's time over the faster of 'sinkhorn' and 'sns' (claim: <= 1.1)."""
    out = []
    keys = sorted({(r["problem"], r["n"], r["reg"], r["target"]) for r in rows}, key=lambda k: (k[0], k[1], -k[2], -k[3]))
    for key in keys:
        t = {r["solver"]: r["seconds"] for r in rows if (r["problem"], r["n"], r["reg"], r["target"]) == key}
        base = [t.get(f"mlprims {m}") for m in ("sinkhorn", "sns") if t.get(f"mlprims {m}")]
        if t.get("mlprims auto") and base:
            ratio = t["mlprims auto"] / min(base)
            out.append({"problem": key[0], "n": key[1], "reg": key[2], "target": key[3], "auto_over_best": ratio,
                        "within_10_percent": ratio <= 1.1})
    return out


POINTS_SCRIPT = r"""
import json, resource, sys, time
import numpy as np
from mlprims import ot
n, reg, tol = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
rng = np.random.default_rng(0)
x, y = rng.random((n, 2)) / np.sqrt(2), rng.random((n, 2)) / np.sqrt(2)  # costs |x - y|^2 <= 1
def status(key):  # kB; ru_maxrss would carry the parent's peak across fork + exec
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with open("/proc/self/clear_refs", "w") as clear:  # resets VmHWM, the peak resident set, to VmRSS
    clear.write("5")
before = status("VmRSS")
start = time.perf_counter()
r = ot.sinkhorn_points(x, y, reg, tol=tol)
seconds = time.perf_counter() - start
peak = status("VmHWM")
print(json.dumps({"n": n, "reg": reg, "tol": tol, "seconds": seconds, "iterations": {k: int(v) for k, v in
    r.iterations.items()}, "marginal_error": float(r.marginal_error), "method": r.method,
    "peak_rss_increase_mib": (peak - before) / 1024, "rss_before_mib": before / 1024,
    "dense_cost_would_be_mib": 8 * n * n / 2**20}))
"""


def points_case(n, reg, tol):
    out = subprocess.run([sys.executable, "-c", POINTS_SCRIPT, str(n), str(reg), str(tol)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt_time(t):
    return "-" if t is None else (f"{1e3 * t:.0f} ms" if t >= 0.0995 else f"{1e3 * t:.1f} ms")


def table(path: Path) -> str:
    data = json.loads(path.read_text())
    rows, lines = data["rows"], []
    auto = {(c["problem"], c["n"], c["reg"], c["target"]): c["auto_over_best"] for c in data.get("auto_checks", [])}
    for target in data["targets"]:
        lines += [f"Target {target:g}:", "",
                  "| problem, n, reg | best peer (time) | mlprims sinkhorn | mlprims sns | mlprims auto | auto / faster |",
                  "|---|---|---|---|---|---|"]
        keys = [(r["problem"], r["n"], r["reg"]) for r in rows if r["target"] == target]
        for key in dict.fromkeys(keys):
            group = {r["solver"]: r for r in rows if r["target"] == target and (r["problem"], r["n"], r["reg"]) == key}
            peers = [r for name, r in group.items() if not name.startswith("mlprims") and r["seconds"]]
            best = min(peers, key=lambda r: r["seconds"], default=None)
            cells = [f"{key[0]}, {key[1]}, {key[2]:.2g}",
                     f"{best['solver']} ({fmt_time(best['seconds'])})" if best else "none reached"]
            for m in MLPRIMS:
                r = group[f"mlprims {m}"]
                if not r["seconds"]:
                    cells.append("not reached")
                    continue
                d = r["detail"]
                its = f"{d['sinkhorn']} it" + (f" + {d['newton']} N / {d['cg']} CG" if d["newton"] else "")
                ratio = f"**{r['best_peer_over_this']:.2f}x**" if r["best_peer_over_this"] else "no peer"
                cells.append(f"{ratio} ({fmt_time(r['seconds'])}, {its})")
            a = auto.get(key + (target,))
            cells.append("-" if a is None else f"{a:.2f}")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke run: one tiny problem, every peer, < 60 s")
    parser.add_argument("--kind", nargs="+", choices=KINDS)
    parser.add_argument("--n", type=int, nargs="+")
    parser.add_argument("--reg", type=float, nargs="+")
    parser.add_argument("--target", type=float, nargs="+", default=[1e-6, 1e-8])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=2.0)
    parser.add_argument("--points-n", type=int, default=20000, help="sinkhorn_points case size (0: skip)")
    parser.add_argument("--points-reg", type=float, nargs="+", default=[1e-1, 1e-2])
    parser.add_argument("--no-skip", action="store_true",
                        help="try every solver at every reg (the skip assumes smaller reg is harder, which "
                             "RegOT's SSNS contradicts: slow at reg 1e-1, fast at 1e-3)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--table", type=Path, help="print the markdown tables of a results file and exit")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # POT's and mlprims' "not converged": every plan is measured here anyway
    if args.table:
        print(table(args.table))
        return
    if args.quick:
        grid = [("sqeuclidean", 100, 1e-2)]
        args.target, args.repeats, args.max_seconds, args.points_n = [1e-6], 1, 3.0, 0
    elif args.kind or args.n or args.reg:
        grid = [(k, 784 if k == "digits" else n, reg) for k in (args.kind or KINDS)
                for n in (args.n or [500, 1000, 2000]) for reg in sorted(args.reg or REGS, reverse=True)]
        grid = list(dict.fromkeys(grid))
    else:
        grid = default_grid()
    # POT's package is also called `ot`, like this script: import it with this folder off the path.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    import ot as pot
    import regot
    from mlprims import ot

    print(f"targets {args.target}; times are medians of {args.repeats} runs; "
          f"max {args.max_seconds:g} s a run")
    print("%-11s %5s %7s %6s  %-28s %14s %12s %8s %9s %8s" % ("problem", "n", "reg", "target", "solver",
                                                               "iterations", "time [ms]", "peer/this", "error",
                                                               "|P-P0|"))
    rows, failed, started, load_at_start = [], {}, time.perf_counter(), list(os.getloadavg())
    for kind, n, reg in grid:
        problem_rows, seconds = solve_problem(kind, n, reg, args, (ot, pot, regot), failed)
        print_rows(problem_rows)
        print(f"# {kind} {n} {reg:g}: {seconds:.0f} s (total {time.perf_counter() - started:.0f} s)", flush=True)
        rows += problem_rows
    checks = auto_checks(rows)
    for c in checks:
        print("auto / faster of sinkhorn, sns: %-11s %5d %7.1e %6.0e  %.2f%s" % (
            c["problem"], c["n"], c["reg"], c["target"], c["auto_over_best"], "" if c["within_10_percent"] else "  > 1.1"))
    points = []
    for reg in args.points_reg if args.points_n else []:
        points.append(points_case(args.points_n, reg, 1e-6))
        print("sinkhorn_points:", json.dumps(points[-1]), flush=True)
    if args.out:
        import geomloss
        import torch

        meta = {"date": str(date.today()), "machine": platform.platform(), "cpus": os.cpu_count(),
                "command": " ".join(["python", "bench/python/ot.py"] + sys.argv[1:]), "targets": args.target,
                "repeats": args.repeats, "max_seconds": args.max_seconds,
                "versions": {"pot": pot.__version__, "regot": getattr(regot, "__version__", "0.0.3"),
                             "geomloss": geomloss.__version__, "torch": torch.__version__, "numpy": np.__version__},
                "torch_threads": torch.get_num_threads(), "seconds": time.perf_counter() - started,
                "load_average_at_start_and_end": [load_at_start, list(os.getloadavg())]}
        args.out.write_text(json.dumps(meta | {"rows": rows, "auto_checks": checks, "sinkhorn_points": points},
                                       indent=1))


if __name__ == "__main__":
    main()
