"""Sparse deltas on the CPU: mlprims.sparse against torch, numpy, mergekit and peft, same data, same
process, same targets.

Data (generated, seeded; torch CPU tensors of float32 or bfloat16, flat, n entries): base ~
0.02 N(0, 1); tuned = base + delta rounded once to the dtype, the delta of one of three kinds:

  gaussian    1e-3 N(0, 1) on every entry;
  student_t2  heavy-tailed: 1e-3 t(df=2), t = Z / sqrt(-log U) (a handful of entries reach 1e3 sigma);
  rl_like     RL-like: 80% of the entries exactly unchanged, the rest 1e-3 N(0, 1).

Rows (every time the median of interleaved runs after one untimed warm-up call each; a contestant
whose warm-up took over 1 s gets 3 timed runs, over 4 s 2, over 20 s 1: the JSON has each one's
runs; calls run back to back, without sleeps, see IDLE_SECONDS):

1. extract: sparse.extract(base, tuned, density=d) (exactly k = floor(d n) entries; values in the
   default value dtype: float64 for float32 tensors, float32 for bfloat16 ones; encoding 'auto')
   against torch.topk (delta = tuned - base, topk(|delta|, k, sorted=False), values gathered) and
   torch.kthvalue (the (n-k+1)-th smallest |delta|, then nonzero(|delta| >= it), values gathered).
   For bfloat16 tensors the torch delta is tuned.float() - base.float(), which is exact (as ours),
   so the selections can be compared. The copy baseline is torch.sub(tuned, base, out=buffer): one
   read of both inputs and one write of a dense delta-sized output (never fewer bytes than our
   output, which is at most 0.6 of an input); torch.sub(tuned, base) (allocating its output, as
   extract does) is timed too. Checks: k entries; our values equal tuned - base (float64) rounded to
   the value dtype, bit for bit; our k-th largest |v| (rounded to the peer's float32) equals torch's
   k-th value and the smallest of torch.topk's; every index of torch.topk missing from ours has |v|
   equal to that threshold (a tie broken the other way); how many indices torch's threshold + mask
   returns beyond k (ties). For float32 tensors extract(..., value_dtype='float32') is timed too;
   its check (float32_values_equal_rounded: the same selection, values = ours rounded) can be False
   where rounding to float32 makes two magnitudes equal at the threshold, since that extract ranks the
   rounded values (as documented) and keeps the lower position of the tie.
2. apply_: sparse.apply_(W, delta) at each density against W.add_(dense delta) (preallocated, W's
   dtype) and W.view(-1).index_add_(0, positions, values in W's dtype); with the 'auto' bitmask
   encoding (density > 1/32) our apply over int32 indices is timed too. Check: base updated by the
   delta equals tuned on the support and base elsewhere bit for bit; peers' entries that differ
   from that (their values were rounded to W's dtype first) are counted.
3. topk_abs / kth_largest_abs on x = tuned - base (the input dtype) against torch.topk(x.abs(), k,
   sorted=False), torch.kthvalue(x.abs(), n-k+1) and, float32 only, np.partition(np.abs(x), n-k).
   Checks: every k-th value equal; torch.topk's indices missing from ours are ties.
4. TIES merge of 4 task vectors (float32, density 0.2, weights 1): sparse.merge(method='ties')
   against mergekit's own 'ties' method called on one tensor group
   (mergekit.merge_methods.registry.get('ties'), argsort sparsification, sign consensus 'sum',
   divided by the agreeing weights) and peft.utils.merge_utils.ties (base + ties(deltas, ones,
   0.2), topk sparsification, divided by the agreeing count; ours with divisor='count'). With
   weights 1 the two conventions agree. Check: max |ours - peer|, also in float32 ulps of the
   largest of |base|, |merged delta| and |result|; the entries more than 4 ulps apart (a different
   selection differs by a whole delta) must each hold, in some task, a float32 |delta| equal to that
   task's trim threshold: a tie, which the peers' sorts break their own way (ours: lower position).
5. memory: peak RSS (VmHWM, reset through /proc/self/clear_refs after the inputs are made) of one
   extract (and one torch.topk extract, and one merge) in a fresh process, minus the RSS before
   it, as a multiple of one input's bytes; with and without the result's own bytes.

Default grid (about 15 minutes on the 2-core VM): n in {1e6, 1e7, 1e8}, densities 1%, 5%, 30%,
float32 and bfloat16; all three kinds below 1e8, at 1e8 gaussian and rl_like only (extract) and
gaussian only (apply_, topk, merge). Threads: mlprims.set_num_threads(2), torch.set_num_threads(2)
(--threads); numpy's partition is single-threaded.

    python bench/python/sparse.py [--quick] [--n 1e6 1e7 1e8] [--repeats 5] [--out FILE.json]
    python bench/python/sparse.py --table FILE.json     # the markdown tables of BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import mlprims
import numpy as np
import torch
from mlprims import sparse

KINDS = ("gaussian", "student_t2", "rl_like")
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
DENSITIES = (0.01, 0.05, 0.3)
BASE_SCALE, DELTA_SCALE, RL_CHANGED = 0.02, 1e-3, 0.2
CHUNK = 1 << 22
MERGE_TASKS, MERGE_DENSITY = 4, 0.2
SLOW_SECONDS = (1.0, 4.0, 20.0)  # a warm-up longer than these: 3, 2, then 1 timed runs
# No sleep between calls: torch and mlprims share one OpenMP runtime in this process (torch's libgomp,
# loaded first), and on the VM a sleep lets the vCPUs idle, after which the next parallel region
# pays 5-15 ms of wake-up (measured: apply_ at 1e6 0.12 ms back to back, 9.9 ms after 50 ms sleeps).
IDLE_SECONDS = 0.0
BIG = 10**8


# ----------------------------------------------------------------------------------------- data
def seed_of(*parts) -> int:
    """A deterministic seed for a case (Python's str hash is salted, so build one by hand)."""
    value = 1469598103934665603
    for byte in repr(parts).encode():
        value = ((value ^ byte) * 1099511628211) % 2**63
    return value


def make_base(n: int, dtype: torch.dtype, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    base = torch.empty(n, dtype=dtype)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        base[start:stop] = torch.randn(stop - start, generator=g).mul_(BASE_SCALE)
    return base


def delta_chunk(kind: str, m: int, g: torch.Generator) -> torch.Tensor:
    z = torch.randn(m, generator=g)
    if kind == "gaussian":
        return z.mul_(DELTA_SCALE)
    if kind == "student_t2":  # T = Z / sqrt(V / 2), V ~ chi2(2) = -2 log U
        u = torch.rand(m, generator=g)
        return z.div_(torch.log(u).neg_().sqrt_()).mul_(DELTA_SCALE)
    if kind == "rl_like":
        keep = torch.rand(m, generator=g) < RL_CHANGED
        return z.mul_(DELTA_SCALE).mul_(keep)
    raise ValueError(kind)


def make_tuned(base: torch.Tensor, kind: str, seed: int) -> torch.Tensor:
    """base + delta computed in float32 and rounded once to base's dtype, chunk by chunk."""
    g = torch.Generator().manual_seed(seed)
    tuned = torch.empty_like(base)
    n = base.numel()
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        tuned[start:stop] = torch.add(base[start:stop].float(), delta_chunk(kind, stop - start, g))
    return tuned


# --------------------------------------------------------------------------------------- timing
def idle():
    if IDLE_SECONDS > 0:
        time.sleep(IDLE_SECONDS)


def measure(contestants: dict, repeats: int, on_warmup=None) -> dict:
    """One untimed warm-up call each (its result goes to on_warmup(name, result), then is dropped),
    then interleaved timed rounds; slow contestants get fewer runs (SLOW_SECONDS)."""
    warm, runs = {}, {}
    for name, function in contestants.items():
        idle()
        start = time.perf_counter()
        result = function()
        warm[name] = time.perf_counter() - start
        if on_warmup is not None:
            on_warmup(name, result)
        del result
        runs[name] = repeats if warm[name] < SLOW_SECONDS[0] else min(repeats, 4 - sum(warm[name] >= s for s in SLOW_SECONDS))
    times = {name: [] for name in contestants}
    for round_ in range(max(runs.values())):
        for name, function in contestants.items():
            if round_ < runs[name]:
                idle()
                start = time.perf_counter()
                function()
                times[name].append(time.perf_counter() - start)
    return {name: {"median_s": statistics.median(times[name]), "runs": len(times[name]), "warmup_s": warm[name],
                   "times_s": times[name]} for name in contestants}


def ratio(times: dict, numerator: str, denominator: str):
    if numerator not in times or denominator not in times:
        return None
    return times[numerator]["median_s"] / times[denominator]["median_s"]


# ----------------------------------------------------------------------------------------- peers
def torch_delta(base: torch.Tensor, tuned: torch.Tensor) -> torch.Tensor:
    if base.dtype == torch.bfloat16:
        return tuned.float() - base.float()  # exact for these data (like ours); a bf16 subtraction rounds
    return tuned - base


def torch_topk_extract(base, tuned, k):
    delta = torch_delta(base, tuned)
    indices = torch.topk(delta.abs(), k, sorted=False).indices
    return indices, delta[indices]


def torch_kthvalue_extract(base, tuned, k):
    delta = torch_delta(base, tuned)
    magnitude = delta.abs()
    threshold = torch.kthvalue(magnitude, delta.numel() - k + 1).values
    indices = torch.nonzero(magnitude >= threshold).squeeze(1)
    return indices, delta[indices], threshold


def peft_ties(base, tuned_list, density):
    from peft.utils.merge_utils import ties

    weights = torch.ones(len(tuned_list), dtype=base.dtype)
    return base + ties([t - base for t in tuned_list], weights, density)


def mergekit_ties(base, tuned_list, density):
    from mergekit.merge_methods import registry
    from mergekit.merge_methods.base import TensorGroup

    group = TensorGroup.from_tensors([base, *tuned_list], base_index=0)
    return registry.get("ties")([group], parameters={"weight": 1.0, "density": density})[0]


# ---------------------------------------------------------------------------------------- checks
def membership(n: int, positions: torch.Tensor) -> torch.Tensor:
    member = torch.zeros(n, dtype=torch.bool)
    member[positions] = True
    return member


def tie_check(member, peer_indices, peer_magnitude_at, threshold) -> dict:
    """Indices the peer selected that we did not, and whether all of them are ties at the threshold."""
    missing = peer_indices[~member[peer_indices]]
    return {"peer_indices_not_ours": int(missing.numel()),
            "all_of_them_ties": bool((peer_magnitude_at(missing) == threshold).all()) if missing.numel() else True}


def float32_ulps(base: torch.Tensor, ours: torch.Tensor, peer: torch.Tensor) -> dict:
    """max |ours - peer|, and in float32 ulps of the largest of |base|, |merged delta| and |result|
    (a float32 peer rounds the merged delta and then base + it), chunk by chunk."""
    max_abs, max_ulps, over, where = 0.0, 0.0, 0, []
    for start in range(0, ours.numel(), CHUNK):
        a = ours[start:start + CHUNK].double()
        b = peer[start:start + CHUNK].double()
        w = base[start:start + CHUNK].double()
        diff = (a - b).abs()
        scale = torch.maximum(torch.maximum(a.abs(), b.abs()), torch.maximum(w.abs(), (a - w).abs()))
        _, exponent = torch.frexp(scale.float())
        ulp = torch.ldexp(torch.ones_like(diff), (exponent - 24).to(torch.float64)).clamp_min(2.0**-149)
        ulps = diff / ulp
        max_abs = max(max_abs, float(diff.max()))
        max_ulps = max(max_ulps, float(ulps.max()))
        over += int((ulps > 4).sum())
        where.append(torch.nonzero(ulps > 4).squeeze(1) + start)
    return {"max_abs_diff": max_abs, "max_ulps": max_ulps, "entries_over_4_ulps": over}, torch.cat(where)


def explained_by_ties(base, tuned_list, positions, density) -> dict:
    """Whether every position where a peer's merge differs by more than rounding holds, in some task,
    a float32 |delta| equal to that task's k-th largest (a tie at the trim threshold, which the peers'
    sorts break their own way while ours keeps the lower position); and how many such ties each
    task's threshold has."""
    k = math.floor(density * base.numel())
    at_threshold = torch.zeros(positions.numel(), dtype=torch.bool)
    tied = []
    for tuned in tuned_list:
        delta = tuned - base  # float32, as the peers compute it
        threshold = sparse.kth_largest_abs(delta, k)
        tied.append(int((delta.abs() == threshold).sum()))
        at_threshold |= delta[positions].abs() == threshold
        del delta
    return {"all_differences_at_a_tied_threshold": bool(at_threshold.all()), "entries_at_threshold_per_task": tied}


# ------------------------------------------------------------------------------------------ rows
def extract_rows(base, tuned, kind, repeats, with_apply, with_f32_values, data):
    n, dtype = base.numel(), str(base.dtype).replace("torch.", "")
    buffer = torch.empty_like(base)
    rows, apply_rows = [], []
    for density in DENSITIES:
        k = math.floor(density * n)
        state = {}
        checks = {}

        def on_warmup(name, result):
            if name == "ours":
                state["delta"] = result
                positions = result.positions().long()
                state["positions"] = positions
                exact = tuned[positions].double() - base[positions].double()
                expected = exact.to(result.values.dtype)
                checks["k_exact"] = result.nnz == k
                checks["values_bit_exact"] = bool(torch.equal(result.values, expected))
                # Our threshold: the smallest kept |v|, rounded to the peers' float32 delta.
                state["threshold"] = result.values.abs().min().float() if k else None
                state["member"] = membership(n, positions)
                peer_delta = torch_delta(base, tuned)
                state["peer_abs"] = lambda idx: peer_delta[idx].abs()
                checks["entries_at_threshold"] = int((peer_delta.abs() == state["threshold"]).sum())
                state["peer_delta"] = peer_delta
            elif name == "torch_topk":
                indices, values = result
                threshold = values.abs().min()
                checks["torch_topk_threshold_equal"] = bool(threshold == state["threshold"])
                checks["torch_topk"] = tie_check(state["member"], indices, state["peer_abs"], state["threshold"])
            elif name == "torch_kthvalue":
                indices, values, threshold = result
                checks["torch_kthvalue_threshold_equal"] = bool(threshold == state["threshold"])
                checks["torch_kthvalue_mask_extra_over_k"] = int(indices.numel()) - k
            elif name == "ours_float32_values":
                checks["float32_values_equal_rounded"] = bool(torch.equal(result.values, state["delta"].values.float()))

        contestants = {"ours": lambda: sparse.extract(base, tuned, density=density)}
        if with_f32_values:
            contestants["ours_float32_values"] = lambda: sparse.extract(base, tuned, density=density, value_dtype="float32")
        contestants.update({
            "torch_topk": lambda: torch_topk_extract(base, tuned, k),
            "torch_kthvalue": lambda: torch_kthvalue_extract(base, tuned, k),
            "copy_sub_out": lambda: torch.sub(tuned, base, out=buffer),
            "copy_sub_alloc": lambda: torch.sub(tuned, base),
        })
        times = measure(contestants, repeats, on_warmup)
        delta = state["delta"]
        del state["peer_delta"], state["peer_abs"]
        row = {"section": "extract", "loadavg_1min": os.getloadavg()[0], "n": n, "dtype": dtype, "kind": kind, "density": density, "k": k,
               "encoding": delta.encoding, "value_dtype": delta.value_dtype, "result_bytes": delta.nbytes,
               "input_bytes": base.nbytes, "data": data, "times": times, "checks": checks,
               "ratios": {"ours_over_copy_sub_out": ratio(times, "ours", "copy_sub_out"),
                          "ours_over_copy_sub_alloc": ratio(times, "ours", "copy_sub_alloc"),
                          "torch_topk_over_ours": ratio(times, "torch_topk", "ours"),
                          "torch_kthvalue_over_ours": ratio(times, "torch_kthvalue", "ours"),
                          "ours_float32_values_over_ours": ratio(times, "ours_float32_values", "ours")}}
        rows.append(row)
        print_extract(row)
        if with_apply:
            apply_rows.append(apply_row(base, tuned, kind, density, delta, state["positions"], repeats))
            print_apply(apply_rows[-1])
        state.clear()
        del delta
        gc.collect()
    return rows, apply_rows


def apply_row(base, tuned, kind, density, delta, positions, repeats):
    n, dtype = base.numel(), base.dtype
    values_w = delta.values.to(dtype)
    dense = torch.zeros_like(base)
    dense[positions] = values_w
    W_ours, W_dense, W_index = base.clone(), base.clone(), base.clone()
    contestants = {"ours": lambda: sparse.apply_(W_ours, delta),
                   "dense_add_": lambda: W_dense.add_(dense),
                   "index_add_": lambda: W_index.view(-1).index_add_(0, positions, values_w)}
    if delta.encoding == "bitmask":
        as_indices = sparse.SparseDelta(delta.shape, delta.dtype, delta.values, indices=positions.to(torch.int32))
        contestants["ours_indices"] = lambda: sparse.apply_(W_ours, as_indices)
    times = measure(contestants, repeats)
    expected = base.clone()
    expected[positions] = tuned[positions]
    ours = sparse.apply_(base.clone(), delta)
    peer_index = base.clone().index_add_(0, positions, values_w)
    peer_dense = base.clone().add_(dense)
    checks = {"ours_equals_tuned_on_support_bitwise": bool(torch.equal(ours, expected)),
              "index_add_entries_differing": int((peer_index != expected).sum()),
              "dense_add_entries_differing": int((peer_dense != expected).sum())}
    return {"section": "apply", "loadavg_1min": os.getloadavg()[0], "n": n, "dtype": str(dtype).replace("torch.", ""), "kind": kind, "density": density,
            "nnz": delta.nnz, "encoding": delta.encoding, "times": times, "checks": checks,
            "ratios": {"ours_over_dense_add_": ratio(times, "ours", "dense_add_"),
                       "ours_indices_over_dense_add_": ratio(times, "ours_indices", "dense_add_"),
                       "index_add_over_ours": ratio(times, "index_add_", "ours")}}


def topk_rows(base, tuned, kind, repeats):
    n, dtype = base.numel(), str(base.dtype).replace("torch.", "")
    x = tuned - base  # in the input dtype
    x_numpy = x.numpy() if x.dtype == torch.float32 else None
    rows = []
    for density in DENSITIES:
        k = math.floor(density * n)
        state, checks = {}, {}

        def on_warmup(name, result):
            if name == "ours_topk_abs":
                values, indices = result
                state["member"] = membership(n, indices.long())
                state["threshold"] = values.abs().min()
                checks["ours_topk_abs_k"] = int(values.numel()) == k
                checks["ours_topk_abs_values_at_indices"] = bool(torch.equal(values, x[indices.long()]))
            elif name == "ours_kth_largest_abs":
                state["kth"] = result
                checks["ours_kth_equals_min_topk_abs"] = float(state["threshold"]) == result
            elif name == "torch_topk":
                checks["torch_topk_threshold_equal"] = float(result.values.min()) == state["kth"]
                checks["torch_topk"] = tie_check(state["member"], result.indices, lambda idx: x[idx].abs(), state["threshold"])
            elif name == "torch_kthvalue":
                checks["torch_kthvalue_equal"] = float(result.values) == state["kth"]
            elif name == "numpy_partition":
                checks["numpy_partition_equal"] = float(result) == state["kth"]

        contestants = {"ours_topk_abs": lambda: sparse.topk_abs(x, k),
                       "ours_kth_largest_abs": lambda: sparse.kth_largest_abs(x, k),
                       "torch_topk": lambda: torch.topk(x.abs(), k, sorted=False),
                       "torch_kthvalue": lambda: torch.kthvalue(x.abs(), n - k + 1)}
        if x_numpy is not None:
            contestants["numpy_partition"] = lambda: np.partition(np.abs(x_numpy), n - k)[n - k]
        times = measure(contestants, repeats, on_warmup)
        row = {"section": "topk", "loadavg_1min": os.getloadavg()[0], "n": n, "dtype": dtype, "kind": kind, "density": density, "k": k, "times": times,
               "checks": checks,
               "ratios": {"torch_topk_over_ours_topk_abs": ratio(times, "torch_topk", "ours_topk_abs"),
                          "torch_kthvalue_over_ours_kth": ratio(times, "torch_kthvalue", "ours_kth_largest_abs"),
                          "numpy_partition_over_ours_kth": ratio(times, "numpy_partition", "ours_kth_largest_abs"),
                          "torch_topk_over_ours_kth": ratio(times, "torch_topk", "ours_kth_largest_abs")}}
        rows.append(row)
        print_topk(row)
        state.clear()
    return rows


def merge_row(n, kind, repeats):
    base = make_base(n, torch.float32, seed_of("merge-base", n, kind))
    tuned_list = [make_tuned(base, kind, seed_of("merge-task", n, kind, t)) for t in range(MERGE_TASKS)]
    state, checks = {}, {}

    def on_warmup(name, result):
        if name == "ours":
            state["weights"] = result
        elif name == "ours_count":
            state["count"] = result
            checks["ours_divisor_weights_equals_count"] = bool(torch.equal(result, state["weights"]))
        elif name in ("mergekit", "peft"):
            summary, positions = float32_ulps(base, state["weights" if name == "mergekit" else "count"], result)
            if positions.numel():
                summary |= explained_by_ties(base, tuned_list, positions, MERGE_DENSITY)
            checks[f"vs_{name}"] = summary

    contestants = {"ours": lambda: sparse.merge(base, tuned_list, method="ties", density=MERGE_DENSITY),
                   "ours_count": lambda: sparse.merge(base, tuned_list, method="ties", density=MERGE_DENSITY,
                                                      divisor="count"),
                   "mergekit": lambda: mergekit_ties(base, tuned_list, MERGE_DENSITY),
                   "peft": lambda: peft_ties(base, tuned_list, MERGE_DENSITY)}
    times = measure(contestants, repeats, on_warmup)
    state.clear()
    row = {"section": "merge", "loadavg_1min": os.getloadavg()[0], "n": n, "dtype": "float32", "kind": kind, "tasks": MERGE_TASKS,
           "density": MERGE_DENSITY, "times": times, "checks": checks,
           "ratios": {"mergekit_over_ours": ratio(times, "mergekit", "ours"),
                      "peft_over_ours_count": ratio(times, "peft", "ours_count")}}
    print_merge(row)
    return row


# ---------------------------------------------------------------------------------------- memory
def status_kib(key: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def memory_probe(what: str, n: int, dtype_name: str, density: float, threads: int) -> None:
    """In a fresh process: make the inputs, reset the peak RSS, run one call, print the peak."""
    mlprims.set_num_threads(threads)
    torch.set_num_threads(threads)
    dtype = DTYPES[dtype_name]
    base = make_base(n, dtype, seed_of("memory", n, dtype_name))
    if what == "merge":
        tuned = [make_tuned(base, "gaussian", seed_of("memory-task", n, t)) for t in range(MERGE_TASKS)]
    else:
        tuned = make_tuned(base, "gaussian", seed_of("memory-tuned", n, dtype_name))
    gc.collect()
    try:  # hand the generator's freed chunks back, so that the result cannot reuse resident free memory
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
        reset = True
    except OSError:
        reset = False
    before = status_kib("VmRSS") * 1024
    start = time.perf_counter()
    if what == "extract":
        result = sparse.extract(base, tuned, density=density)
        result_bytes = result.nbytes
    elif what == "torch_topk":
        indices, values = torch_topk_extract(base, tuned, math.floor(density * n))
        result_bytes = indices.nbytes + values.nbytes
    elif what == "merge":
        result = sparse.merge(base, tuned, method="ties", density=density)
        result_bytes = result.nbytes
    else:
        raise ValueError(what)
    seconds = time.perf_counter() - start
    peak = status_kib("VmHWM") * 1024
    extra = peak - before
    print(json.dumps({"what": what, "n": n, "dtype": dtype_name, "density": density, "hwm_reset": reset,
                      "input_bytes": base.nbytes, "rss_before_bytes": before, "peak_rss_bytes": peak,
                      "result_bytes": result_bytes, "seconds": seconds,
                      "extra_over_input": extra / base.nbytes,
                      "extra_without_result_over_input": (extra - result_bytes) / base.nbytes}))


def memory_rows(cases, threads):
    rows = []
    for what, n, dtype_name, density in cases:
        out = subprocess.run([sys.executable, __file__, "--memory-probe", what, str(n), dtype_name, str(density),
                              "--threads", str(threads)], capture_output=True, text=True)
        if out.returncode != 0:
            row = {"section": "memory", "what": what, "n": n, "dtype": dtype_name, "density": density,
                   "error": (out.stderr.strip().splitlines() or ["?"])[-1], "returncode": out.returncode}
        else:
            row = {"section": "memory"} | json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        print_memory(row)
    return rows


# -------------------------------------------------------------------------------------- printing
def ms(times, name):
    return f"{1e3 * times[name]['median_s']:9.2f}" if name in times else f"{'-':>9}"


def fx(value, digits=2):
    return f"{value:.{digits}f}x" if value is not None else "-"


def head(r):
    return f"{r['n']:>9.0e} {r['dtype']:<8} {r['kind']:<10} {100 * r['density']:>4.0f}%"


def print_extract(r):
    t, c, q = r["times"], r["checks"], r["ratios"]
    tk = c.get("torch_topk", {})
    print(f"extract {head(r)} ms: ours {ms(t, 'ours')} topk {ms(t, 'torch_topk')} kth {ms(t, 'torch_kthvalue')} "
          f"copy {ms(t, 'copy_sub_out')} | ours/copy {fx(q['ours_over_copy_sub_out'])} "
          f"topk/ours {fx(q['torch_topk_over_ours'])} kth/ours {fx(q['torch_kthvalue_over_ours'])} | "
          f"k {c['k_exact']} vals {c['values_bit_exact']} thr {c.get('torch_topk_threshold_equal')}"
          f"/{c.get('torch_kthvalue_threshold_equal')} at-thr {c['entries_at_threshold']} "
          f"idx-diff {tk.get('peer_indices_not_ours')} (ties {tk.get('all_of_them_ties')}) "
          f"mask+{c.get('torch_kthvalue_mask_extra_over_k')}", flush=True)


def print_apply(r):
    t, c, q = r["times"], r["checks"], r["ratios"]
    print(f"apply_  {head(r)} ms: ours {ms(t, 'ours')} ({r['encoding']}) indices {ms(t, 'ours_indices')} "
          f"dense {ms(t, 'dense_add_')} index_add {ms(t, 'index_add_')} | ours/dense {fx(q['ours_over_dense_add_'])} "
          f"index_add/ours {fx(q['index_add_over_ours'])} | exact {c['ours_equals_tuned_on_support_bitwise']} "
          f"peers differ {c['index_add_entries_differing']}/{c['dense_add_entries_differing']}", flush=True)


def print_topk(r):
    t, c, q = r["times"], r["checks"], r["ratios"]
    print(f"topk    {head(r)} ms: topk_abs {ms(t, 'ours_topk_abs')} kth {ms(t, 'ours_kth_largest_abs')} "
          f"torch.topk {ms(t, 'torch_topk')} torch.kthvalue {ms(t, 'torch_kthvalue')} "
          f"np.partition {ms(t, 'numpy_partition')} | {fx(q['torch_topk_over_ours_topk_abs'])} "
          f"{fx(q['torch_kthvalue_over_ours_kth'])} {fx(q['numpy_partition_over_ours_kth'])} | "
          f"equal {c.get('torch_topk_threshold_equal')}/{c.get('torch_kthvalue_equal')}/{c.get('numpy_partition_equal')} "
          f"idx-diff {c['torch_topk']['peer_indices_not_ours']} (ties {c['torch_topk']['all_of_them_ties']})", flush=True)


def print_merge(r):
    t, c, q = r["times"], r["checks"], r["ratios"]
    mk, pf = c["vs_mergekit"], c["vs_peft"]
    print(f"ties    {r['n']:>9.0e} float32  {r['kind']:<10} s: ours {t['ours']['median_s']:.3f} "
          f"(count {t['ours_count']['median_s']:.3f}) mergekit {t['mergekit']['median_s']:.3f} "
          f"[{t['mergekit']['runs']} runs] peft {t['peft']['median_s']:.3f} [{t['peft']['runs']} runs] | "
          f"mergekit/ours {fx(q['mergekit_over_ours'], 1)} peft/ours {fx(q['peft_over_ours_count'], 1)} | "
          f"max diff mergekit {mk['max_abs_diff']:.2e} ({mk['max_ulps']:.1f} ulp, {mk['entries_over_4_ulps']} > 4{tied(mk)}) "
          f"peft {pf['max_abs_diff']:.2e} ({pf['max_ulps']:.1f} ulp, {pf['entries_over_4_ulps']} > 4{tied(pf)})", flush=True)


def tied(check) -> str:
    if "all_differences_at_a_tied_threshold" not in check:
        return ""
    return ", all ties" if check["all_differences_at_a_tied_threshold"] else ", NOT ALL TIES"


def print_memory(r):
    if "error" in r:
        print(f"memory  {r['what']} {r['n']:.0e} {r['dtype']} {r['density']}: FAILED {r['error']}", flush=True)
        return
    print(f"memory  {r['what']:<10} {r['n']:>9.0e} {r['dtype']:<8} {100 * r['density']:>4.0f}%: extra peak "
          f"{r['extra_over_input']:.3f} inputs ({r['extra_without_result_over_input']:.3f} without the "
          f"{r['result_bytes'] / 2**20:.0f} MiB result), {r['seconds']:.2f} s", flush=True)


# ----------------------------------------------------------------------------------------- table
def table(path: Path) -> str:
    result = json.loads(path.read_text())
    rows = result["rows"]
    out = []

    def med(r, name):
        return f"{1e3 * r['times'][name]['median_s']:.3g}" if name in r["times"] else "-"

    out += ["| n | dtype | delta | density | ours ms | copy ms | **ours / copy** | torch.topk ms | **topk / ours** "
            "| kthvalue ms | **kthvalue / ours** | checks: k, values, threshold | topk indices not ours (all ties) "
            "| mask count - k |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in (r for r in rows if r["section"] == "extract"):
        c, q = r["checks"], r["ratios"]
        ok = c["k_exact"] and c["values_bit_exact"] and c["torch_topk_threshold_equal"] and c["torch_kthvalue_threshold_equal"]
        out.append(f"| {r['n']:.0e} | {r['dtype']} | {r['kind']} | {100 * r['density']:g}% | {med(r, 'ours')} | "
                   f"{med(r, 'copy_sub_out')} | **{fx(q['ours_over_copy_sub_out'], 1)}** | {med(r, 'torch_topk')} | "
                   f"**{fx(q['torch_topk_over_ours'], 1)}** | {med(r, 'torch_kthvalue')} | "
                   f"**{fx(q['torch_kthvalue_over_ours'], 1)}** | {'equal' if ok else 'DIFFER'} | "
                   f"{c['torch_topk']['peer_indices_not_ours']:,} ({'yes' if c['torch_topk']['all_of_them_ties'] else 'NO'}) | "
                   f"{c['torch_kthvalue_mask_extra_over_k']:,} |")
    out += ["", "| n | dtype | density | encoding | ours ms | dense add_ ms | **ours / dense** | ours over indices ms "
            "| index_add_ ms | index_add_ / ours | ours bit-exact | peers' entries off by a rounding |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in (r for r in rows if r["section"] == "apply"):
        c, q = r["checks"], r["ratios"]
        out.append(f"| {r['n']:.0e} | {r['dtype']} | {100 * r['density']:g}% | {r['encoding']} | {med(r, 'ours')} | "
                   f"{med(r, 'dense_add_')} | **{fx(q['ours_over_dense_add_'])}** | {med(r, 'ours_indices')} | "
                   f"{med(r, 'index_add_')} | {fx(q['index_add_over_ours'], 1)} | "
                   f"{'yes' if c['ours_equals_tuned_on_support_bitwise'] else 'NO'} | "
                   f"{c['index_add_entries_differing']:,} |")
    out += ["", "| n | dtype | density | topk_abs ms | torch.topk ms | **topk / ours** | kth_largest_abs ms "
            "| torch.kthvalue ms | **kthvalue / ours** | np.partition ms | **partition / ours** | k-th values equal "
            "| topk indices not ours (all ties) |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in (r for r in rows if r["section"] == "topk"):
        c, q = r["checks"], r["ratios"]
        eq = [c.get(key) for key in ("ours_kth_equals_min_topk_abs", "torch_topk_threshold_equal",
                                     "torch_kthvalue_equal", "numpy_partition_equal") if key in c]
        out.append(f"| {r['n']:.0e} | {r['dtype']} | {100 * r['density']:g}% | {med(r, 'ours_topk_abs')} | "
                   f"{med(r, 'torch_topk')} | **{fx(q['torch_topk_over_ours_topk_abs'], 1)}** | "
                   f"{med(r, 'ours_kth_largest_abs')} | {med(r, 'torch_kthvalue')} | "
                   f"**{fx(q['torch_kthvalue_over_ours_kth'], 1)}** | {med(r, 'numpy_partition')} | "
                   f"**{fx(q['numpy_partition_over_ours_kth'], 1)}** | {'yes' if all(eq) else 'NO'} | "
                   f"{c['torch_topk']['peer_indices_not_ours']:,} ({'yes' if c['torch_topk']['all_of_them_ties'] else 'NO'}) |")
    out += ["", "| n | delta | ours s | mergekit s (runs) | **mergekit / ours** | peft s (runs) | **peft / ours** "
            "| vs mergekit: max diff (ulps; entries > 4 ulps) | vs peft: max diff (ulps; entries > 4 ulps) |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in (r for r in rows if r["section"] == "merge"):
        t, c, q = r["times"], r["checks"], r["ratios"]
        mk, pf = c["vs_mergekit"], c["vs_peft"]
        out.append(f"| {r['n']:.0e} | {r['kind']} | {t['ours']['median_s']:.3g} | {t['mergekit']['median_s']:.3g} "
                   f"({t['mergekit']['runs']}) | **{fx(q['mergekit_over_ours'], 1)}** | {t['peft']['median_s']:.3g} "
                   f"({t['peft']['runs']}) | **{fx(q['peft_over_ours_count'], 1)}** | {mk['max_abs_diff']:.1e} "
                   f"({mk['max_ulps']:.2g}; {mk['entries_over_4_ulps']:,}{tied(mk)}) | {pf['max_abs_diff']:.1e} "
                   f"({pf['max_ulps']:.2g}; {pf['entries_over_4_ulps']:,}{tied(pf)}) |")
    out += ["", "| call | n | dtype | density | extra peak RSS / input | without the result | result MiB |",
            "|---|---|---|---|---|---|---|"]
    for r in result.get("memory", []):
        if "error" in r:
            out.append(f"| {r['what']} | {r['n']:.0e} | {r['dtype']} | {100 * r['density']:g}% | failed: {r['error']} | | |")
            continue
        out.append(f"| {r['what']} | {r['n']:.0e} | {r['dtype']} | {100 * r['density']:g}% | "
                   f"{r['extra_over_input']:.3f} | {r['extra_without_result_over_input']:.3f} | "
                   f"{r['result_bytes'] / 2**20:.0f} |")
    return "\n".join(out)


# ------------------------------------------------------------------------------------------ main
def machine(threads: int) -> dict:
    from importlib.metadata import version

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in open("/proc/cpuinfo") if line.startswith("flags")), [])
    root = Path(__file__).resolve().parents[2]
    git = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.split("\n")
    return {"date": str(date.today()), "cpu": cpu, "avx512f": "avx512f" in flags, "cpus": os.cpu_count(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "platform": platform.platform(), "python": platform.python_version(), "threads": threads,
            "torch_threads": torch.get_num_threads(), "mlprims_build": mlprims.build_info(),
            "versions": {name: version(name) for name in ("torch", "numpy", "mergekit", "peft", "mlprims")},
            "git_head": git, "git_modified_tracked_files": [line[3:] for line in dirty if line.strip()]}


def grid(n: int, quick: bool) -> dict:
    """Which delta kinds each row runs on at size n."""
    if quick:  # every kind at the smallest size, gaussian only above
        kinds = KINDS if n < 10**6 else ("gaussian",)
        return {"extract": kinds, "apply": ("gaussian",), "topk": ("gaussian",), "merge": kinds}
    if n >= BIG:
        return {"extract": ("gaussian", "rl_like"), "apply": ("gaussian",), "topk": ("gaussian",), "merge": ("gaussian",)}
    return {"extract": KINDS, "apply": ("gaussian",), "topk": ("gaussian",), "merge": KINDS}


def start_run(args) -> tuple:
    """Threads, seeds and the machine line shared by the sparse benchmarks: returns (sizes,
    repeats, start time, machine description) for --n/--quick/--repeats/--threads."""
    mlprims.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    np.random.seed(0)
    sizes = [int(n) for n in (args.n or ([1e5, 1e6] if args.quick else [1e6, 1e7, 1e8]))]
    repeats = 2 if args.quick and args.repeats == 5 else args.repeats
    started = time.perf_counter()
    meta = machine(args.threads)
    print(json.dumps({k: meta[k] for k in ("cpu", "cpus", "threads", "versions")}), flush=True)
    return sizes, repeats, started, meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI smoke run: n = 1e5 and 1e6, every row, < 30 s")
    parser.add_argument("--n", type=float, nargs="+", help="sizes (default 1e6 1e7 1e8)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip", nargs="+", default=[], choices=("extract", "topk", "merge", "memory"))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--table", type=Path, help="print the markdown tables of a results file and exit")
    parser.add_argument("--memory-probe", nargs=4, metavar=("WHAT", "N", "DTYPE", "DENSITY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.table:
        print(table(args.table))
        return
    if args.memory_probe:
        what, n, dtype_name, density = args.memory_probe
        memory_probe(what, int(float(n)), dtype_name, float(density), args.threads)
        return
    sizes, repeats, started, meta = start_run(args)
    notes = []
    rows, memory = [], []

    if "memory" not in args.skip:
        n = max(sizes)
        cases = [("extract", n, dtype_name, density) for dtype_name in DTYPES for density in DENSITIES]
        cases += [("torch_topk", n, "float32", 0.05), ("merge", n, "float32", MERGE_DENSITY)]
        memory = memory_rows(cases if not args.quick else cases[:1], args.threads)

    for n in sizes:
        plan = grid(n, args.quick)
        for dtype_name, dtype in DTYPES.items():
            for kind in KINDS:
                do_extract = "extract" not in args.skip and kind in plan["extract"]
                do_topk = "topk" not in args.skip and kind in plan["topk"]
                if not (do_extract or do_topk):
                    continue
                base = make_base(n, dtype, seed_of("base", n, dtype_name))
                tuned = make_tuned(base, kind, seed_of("tuned", n, dtype_name, kind))
                stats = sparse.update_stats(base, tuned)
                data = {"changed_fraction": stats.fraction, "max_abs_delta": stats.max_abs, "mean_abs_delta": stats.mean_abs}
                if do_extract:
                    extract, apply = extract_rows(base, tuned, kind, repeats, with_apply=kind in plan["apply"],
                                                  with_f32_values=dtype == torch.float32, data=data)
                    rows += extract + apply
                if do_topk:
                    rows += topk_rows(base, tuned, kind, repeats)
                del base, tuned
                gc.collect()
    if any(n >= BIG for n in sizes):
        notes.append("n = 1e8: extract on gaussian and rl_like only (no student_t2); apply_, topk and merge on "
                     "gaussian only, to keep the run near 15 minutes")
    notes.append("apply_ and topk rows on gaussian deltas only (their cost does not depend on the values)")
    notes.append("merge rows: float32 only (mergekit computes bfloat16 merges in bfloat16 arithmetic, not comparable "
                 "to a tolerance)")
    if args.quick:
        notes.append("--quick: every kind at 1e5, gaussian only at 1e6; one memory probe")

    if "merge" not in args.skip:
        for n in sizes:
            for kind in grid(n, args.quick)["merge"]:
                rows.append(merge_row(n, kind, repeats))
                gc.collect()

    seconds = time.perf_counter() - started
    result = meta | {"benchmark": "sparse", "sizes": sizes, "densities": list(DENSITIES), "repeats": repeats,
                     "slow_seconds": list(SLOW_SECONDS), "idle_seconds": IDLE_SECONDS, "quick": args.quick,
                     "data": {"base": f"{BASE_SCALE} N(0,1)", "gaussian": f"{DELTA_SCALE} N(0,1)",
                              "student_t2": f"{DELTA_SCALE} t(2)",
                              "rl_like": f"{1 - RL_CHANGED:.0%} unchanged, else {DELTA_SCALE} N(0,1)"},
                     "copy_baseline": "torch.sub(tuned, base, out=preallocated): reads both inputs once, writes one "
                                      "dense delta (>= the bytes of extract's output)",
                     "notes": notes, "total_seconds": seconds,
                     "main_process_peak_rss_gib": status_kib("VmHWM") / 2**20, "rows": rows, "memory": memory}
    print(f"total {seconds:.0f} s", flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
