"""Masked training on the CPU: sparse.MaskedAdam, sparse.masked_perturb_ and sparse.ssd_dampen_
against torch (AdamW with a masked gradient, SaRA's compact trainable vector, MeZO's dense Gaussian,
the SSD reference code), same data, same process.

Data (generated, seeded; torch CPU tensors of float32 or bfloat16, 2-D of shape (n / 1000, 1000)):
parameter p0 ~ 0.02 N(0, 1); gradient ~ 0.02 N(0, 1) in p's dtype (fixed: every step sees the same
one); the mask: the positions where torch.rand(n) < d (a fixed seed per n and d, the same for both
dtypes), sparse.Mask.from_bool, in its smaller encoding ('auto': int32 indices at 1%, a bitmask at
5% and 30%). The peers' dense mask is a 0/1 tensor in p's dtype; SaRA's index an int64 tensor (what
torch's index_copy_ takes).

Rows (every time the median of interleaved runs after one untimed warm-up call each, via
bench/python/sparse.py's measure(): a contestant whose warm-up took over 1 s gets 3 timed runs, over
4 s 2, over 20 s 1; the JSON has each one's runs; calls back to back, without sleeps):

1. step: one sparse.MaskedAdam([p], [mask], lr=1e-3, weight_decay=0.01).step() with p.grad set,
   against
   (a) torch.optim.AdamW (same lr, weight decay, betas, eps) on the whole parameter with a masked
       dense gradient, timing ``p.grad.mul_(dense_mask); opt.step()``, in torch's default
       implementation (on CPU torch defaults to the single-tensor for-loop, not foreach), with
       foreach=True and with fused=True. This peer does not even implement the same semantics: its
       decoupled weight decay also shrinks every unmasked weight (and its moments are dense, in p's
       dtype: bfloat16 moments for bfloat16 parameters);
   (b) SaRA-style: a compact torch.nn.Parameter v = p.view(-1)[idx] (nnz entries, p's dtype) trained
       by torch AdamW (default implementation), timing the gather of its gradient
       ``v.grad = grad.view(-1)[idx]``, ``opt.step()`` and the scatter back
       ``p.view(-1).index_copy_(0, idx, v)``.
   Ratios: peer / ours. Checks, on the first step (the warm-up, from p0 and zero moments) against a
   float64 reference (torch's AdamW formula, in its order, on the masked coordinates only, the
   unmasked ones unchanged), for ours and every peer: max |error| in ulps of p's dtype at the
   reference result, the entries over 0.5 such ulp, and the max in ulps at the larger of |p0| and
   |result| (near cancellation, p0 ~ lr, an ulp at the result is far below the rounding of the
   inputs and of the moments); for ours also against the same reference with the moments rounded to
   float32 first (MaskedAdam's documented semantics: float32 moments, the step in float64 from the
   stored moments, one rounding), where it must be within 0.5 ulp; whether ours left every unmasked
   coordinate bit for bit unchanged, and how many the peers changed.
2. memory (from the same optimizers, after their steps): MaskedAdam's state bytes (exp_avg +
   exp_avg_sq, numel * element_size) and the mask's nbytes, against torch AdamW's dense state
   (2 x numel x element size: 8 bytes an entry for float32, 4 for bfloat16) and SaRA's (AdamW
   state on nnz, plus its int64 index; the compact copy v itself is listed apart); the ratio
   MaskedAdam state / (2 x 4 bytes x nnz), and with the mask included.
3. perturb: sparse.masked_perturb_(p, mask, seed=1, scale=1e-3) against MeZO's dense perturbation
   ``z = torch.normal(0, 1, size=p.shape, generator=g, dtype=p.dtype); p.add_(z * dense_mask,
   alpha=1e-3)`` (generator seeded inside the timed call) and the same with the multiply in place,
   ``p.add_(z.mul_(dense_mask), alpha=1e-3)``; and, once per n and dtype (density 100%), dense
   masked_perturb_(p, None, ...) against torch.normal + add_. Checks: unmasked coordinates bit for
   bit unchanged; the z of a masked call equals the dense call's z at the masked positions, bit
   for bit (both on float32 zeros with scale 1; mean and standard deviation of the dense z);
   how many entries +scale then -scale does not restore exactly, and how many ZerothOrderSGD's cycle
   +scale, -2 scale, +scale does not.
4. ssd: sparse.ssd_dampen_(p, forget, retain, alpha=10, lam=1) with importances ~ Exp(1) (float32,
   independent; about 1/11 of the coordinates selected) against the SSD reference code's torch
   formula: ``locations = forget > alpha * retain; weight = (retain * lam / forget).clamp(max=1);
   p[locations] = (p[locations] * weight[locations]).to(p.dtype)`` (the cast: a bfloat16 index_put_
   needs it). Checks: ours equals the float64 formula (numpy, compared in float64, rounded once to
   p's dtype) bit for bit, its count equal to the locations'; how many entries torch's formula
   (float32 arithmetic) puts elsewhere.

Targets (the issue): masked step at 5% >= 3x faster than torch AdamW with a masked gradient;
masked_perturb_ at 5% >= 5x faster than a dense torch Gaussian times the mask; MaskedAdam state
<= 1.1 x (2 x 4 bytes x nnz) plus the mask. The table marks the 5% rows against torch's default
AdamW and against fused AdamW (the fastest torch peer on CPU). Random positions are the hard case
for a masked pass: at 5% about 1 - 0.95^16 = 56% of the 64-byte lines of p and grad hold a masked
float32 coordinate, so it moves over half the bytes a dense pass does.

Default grid (about 5 minutes on the 2-core VM, peak RSS about 10 GB): n in {1e6, 1e7, 1e8},
densities 1%, 5%, 30%, float32 and bfloat16, every row. Threads: mlprims.set_num_threads(2), torch.set_num_threads(2)
(--threads).

    python bench/python/sparse_training.py [--quick] [--n 1e6 1e7 1e8] [--repeats 5] [--out FILE.json]
    python bench/python/sparse_training.py --table FILE.json     # the markdown tables of BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from mlprims import sparse


def _load_sparse_bench():
    """bench/python/sparse.py, for its timing and recording helpers (imported by path: the name
    `sparse` is taken by mlprims.sparse here)."""
    path = Path(__file__).resolve().parent / "sparse.py"
    spec = importlib.util.spec_from_file_location("bench_sparse", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_sparse"] = module
    spec.loader.exec_module(module)
    return module


bench = _load_sparse_bench()
measure, ratio, seed_of, machine, fx = bench.measure, bench.ratio, bench.seed_of, bench.machine, bench.fx

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
DENSITIES = (0.01, 0.05, 0.3)
COLUMNS = 1000
PARAM_SCALE = GRAD_SCALE = 0.02
LR, WEIGHT_DECAY, BETAS, EPS = 1e-3, 0.01, (0.9, 0.999), 1e-8
SEED, SCALE = 1, 1e-3
SSD_ALPHA, SSD_LAMBDA = 10.0, 1.0
BITS = {torch.float32: 24, torch.bfloat16: 8, torch.float16: 11, torch.float64: 53}
CHUNK = bench.CHUNK
TARGETS = {"step_5pct_torch_over_ours": 3.0, "perturb_5pct_torch_over_ours": 5.0, "state_over_8nnz": 1.1}


# ----------------------------------------------------------------------------------------- data
def shape_of(n: int) -> tuple:
    return (n // COLUMNS, COLUMNS) if n % COLUMNS == 0 else (n,)


def normal_tensor(n: int, dtype: torch.dtype, scale: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    out = torch.empty(n, dtype=dtype)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        out[start:stop] = torch.randn(stop - start, generator=g).mul_(scale)
    return out.view(shape_of(n))


def make_mask(n: int, density: float):
    """(Mask, ascending int64 positions): the positions where a seeded uniform is below density."""
    g = torch.Generator().manual_seed(seed_of("mask", n, density))
    selected = torch.empty(n, dtype=torch.bool)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        selected[start:stop] = torch.rand(stop - start, generator=g) < density
    positions = torch.nonzero(selected).squeeze(1)
    return sparse.Mask.from_bool(selected.view(shape_of(n))), positions


def dense_mask_of(n: int, positions: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    dense = torch.zeros(n, dtype=dtype)
    dense[positions] = 1
    return dense.view(shape_of(n))


def dtype_str(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


# ---------------------------------------------------------------------------------------- checks
def ulp_errors(values: torch.Tensor, reference: torch.Tensor, start_values: torch.Tensor) -> dict:
    """max |values - reference| in ulps of values' dtype at the reference (float64), how many entries
    are over half such an ulp (not the correctly rounded reference), and the max in ulps at the
    larger of |reference| and |start value| (where p0 and the update nearly cancel, an ulp at the
    result is far smaller than the rounding of the inputs)."""
    bits = BITS[values.dtype]
    max_ulps, max_scaled, over_half = 0.0, 0.0, 0
    flat_v, flat_r, flat_s = values.reshape(-1), reference.reshape(-1), start_values.reshape(-1)

    def ulp_at(x):
        _, exponent = torch.frexp(x)
        return torch.ldexp(torch.ones_like(x), (exponent - bits).to(torch.float64)).clamp_min(2.0**-149)

    for start in range(0, flat_v.numel(), CHUNK):
        v = flat_v[start:start + CHUNK].double()
        r = flat_r[start:start + CHUNK]
        s = flat_s[start:start + CHUNK].double()
        error = (v - r).abs()
        ulps = error / ulp_at(r)
        if ulps.numel():
            max_ulps = max(max_ulps, float(ulps.max()))
            max_scaled = max(max_scaled, float((error / ulp_at(torch.maximum(r.abs(), s.abs()))).max()))
        over_half += int((ulps > 0.5).sum())
    return {"max_ulps": max_ulps, "entries_over_half_ulp": over_half, "max_ulps_of_larger_of_p0_and_result": max_scaled}


def round_to_dtype(x: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    """float64 values rounded once (to nearest, ties to even) to dtype (normal range), exactly."""
    if dtype == torch.float32:
        return torch.from_numpy(x.astype(np.float32))
    mantissa, exponent = np.frexp(x)
    bits = BITS[dtype]
    rounded = np.ldexp(np.rint(np.ldexp(mantissa, bits)), exponent - bits)  # np.rint: ties to even
    return torch.from_numpy(rounded).to(dtype)  # exact: already representable


def adamw_reference(p0_masked: torch.Tensor, g_masked: torch.Tensor, moments=None) -> torch.Tensor:
    """One torch AdamW step from zero moments (step 1), float64, torch's order of operations; with
    `moments` a dtype, the moments are rounded to it first (MaskedAdam stores float32 moments and
    steps with the stored values)."""
    p = p0_masked.double() * (1 - LR * WEIGHT_DECAY)
    g = g_masked.double()
    beta1, beta2 = BETAS
    exp_avg = (1 - beta1) * g
    exp_avg_sq = (1 - beta2) * g * g
    if moments is not None:
        exp_avg, exp_avg_sq = exp_avg.to(moments).double(), exp_avg_sq.to(moments).double()
    bias1, bias2 = 1 - beta1, 1 - beta2
    denom = exp_avg_sq.sqrt() / math.sqrt(bias2) + EPS
    return p - (LR / bias1) * exp_avg / denom


def unmasked_changed(after: torch.Tensor, before: torch.Tensor, member: torch.Tensor) -> int:
    """How many coordinates outside the mask differ (bitwise, as values) from before."""
    changed = 0
    a, b, m = after.reshape(-1), before.reshape(-1), member.reshape(-1)
    for start in range(0, a.numel(), CHUNK):
        stop = start + CHUNK
        changed += int(((a[start:stop] != b[start:stop]) & ~m[start:stop]).sum())
    return changed


def state_bytes(optimizer: torch.optim.Optimizer) -> int:
    return sum(v.numel() * v.element_size() for s in optimizer.state.values() for k, v in s.items()
               if k in ("exp_avg", "exp_avg_sq"))


# ------------------------------------------------------------------------------------------ rows
def step_rows(p0, grad, mask, positions, member, density, repeats):
    n, dtype = p0.numel(), p0.dtype
    dense_mask = dense_mask_of(n, positions, dtype)
    options = {"lr": LR, "betas": BETAS, "eps": EPS, "weight_decay": WEIGHT_DECAY}

    p_ours = torch.nn.Parameter(p0.clone())
    p_ours.grad = grad
    ours = sparse.MaskedAdam([p_ours], [mask], **options)

    masked_grad = grad.clone()  # the AdamW peers' gradient, masked in place every step (idempotent)
    peers = {}
    for name, extra in (("adamw_default", {}), ("adamw_foreach", {"foreach": True}), ("adamw_fused", {"fused": True})):
        p = torch.nn.Parameter(p0.clone())
        p.grad = masked_grad
        try:
            peers[name] = (p, torch.optim.AdamW([p], **options, **extra))
        except (RuntimeError, ValueError) as error:  # fused not available for this dtype/device
            print(f"step    {name} unavailable: {error}", flush=True)

    p_sara = p0.clone()
    flat_grad = grad.view(-1)
    v = torch.nn.Parameter(p_sara.view(-1)[positions].clone())
    sara = torch.optim.AdamW([v], **options)

    def ours_step():
        ours.step()
        return p_ours

    def peer_step(p, opt):
        def step():
            p.grad.mul_(dense_mask)
            opt.step()
            return p
        return step

    def sara_step():
        v.grad = flat_grad[positions]
        sara.step()
        p_sara.view(-1).index_copy_(0, positions, v.detach())
        return p_sara

    p0_masked = p0.view(-1)[positions]
    reference = adamw_reference(p0_masked, flat_grad[positions])
    checks = {}

    def on_warmup(name, result):
        after = result.detach().reshape(-1)[positions]
        checks[name] = ulp_errors(after, reference, p0_masked) | {
            "unmasked_changed": unmasked_changed(result.detach(), p0, member)}
        if name == "ours":  # against its own semantics: float32 (or float64) moments, then one rounding
            moments = torch.float64 if dtype == torch.float64 else torch.float32
            own = ulp_errors(after, adamw_reference(p0_masked, flat_grad[positions], moments), p0_masked)
            checks["ours_vs_rounded_moments"] = own

    contestants = {"ours": ours_step}
    contestants |= {name: peer_step(p, opt) for name, (p, opt) in peers.items()}
    contestants["sara"] = sara_step
    times = measure(contestants, repeats, on_warmup)
    checks["ours_unmasked_bitwise_unchanged"] = checks["ours"]["unmasked_changed"] == 0
    row = {"section": "step", "loadavg_1min": os.getloadavg()[0], "n": n, "shape": list(p0.shape),
           "dtype": dtype_str(dtype), "density": density, "actual_density": mask.density, "nnz": mask.nnz,
           "encoding": mask.encoding, "times": times, "checks": checks,
           "ratios": {f"{name}_over_ours": ratio(times, name, "ours") for name in (*peers, "sara")}}
    adamw = peers.get("adamw_default") or next(iter(peers.values()))
    memory = {"section": "memory", "n": n, "dtype": dtype_str(dtype), "density": density, "nnz": mask.nnz,
              "encoding": mask.encoding, "ours_state_bytes": state_bytes(ours), "mask_bytes": mask.nbytes,
              "adamw_state_bytes": state_bytes(adamw[1]),
              "adamw_dense_mask_bytes": dense_mask.numel() * dense_mask.element_size(),
              "sara_state_bytes": state_bytes(sara), "sara_index_bytes": positions.numel() * positions.element_size(),
              "sara_compact_copy_bytes": v.numel() * v.element_size()}
    ideal = 2 * 4 * mask.nnz
    memory["ours_state_over_8nnz"] = memory["ours_state_bytes"] / ideal if ideal else None
    memory["ours_state_and_mask_over_8nnz"] = (memory["ours_state_bytes"] + mask.nbytes) / ideal if ideal else None
    memory["adamw_over_ours_state_and_mask"] = memory["adamw_state_bytes"] / (memory["ours_state_bytes"] + mask.nbytes)
    memory["sara_state_and_index_over_ours_state_and_mask"] = (
        (memory["sara_state_bytes"] + memory["sara_index_bytes"]) / (memory["ours_state_bytes"] + mask.nbytes))
    memory["target_met"] = memory["ours_state_over_8nnz"] is not None and memory["ours_state_over_8nnz"] <= TARGETS["state_over_8nnz"]
    print_step(row)
    print_memory(memory)
    return row, memory


def gaussian_zeros(shape, mask):
    z = torch.zeros(shape, dtype=torch.float32)
    return sparse.masked_perturb_(z, mask, seed=SEED, scale=1.0)


def perturb_row(p0, mask, positions, member, density, dense_z, repeats):
    n, dtype, shape = p0.numel(), p0.dtype, p0.shape
    dense_mask = dense_mask_of(n, positions, dtype)
    p_ours, p_mul, p_fused = p0.clone(), p0.clone(), p0.clone()

    def mezo(p, fused):
        def perturb():
            g = torch.Generator().manual_seed(SEED)
            z = torch.normal(0.0, 1.0, size=shape, generator=g, dtype=dtype)
            p.add_(z.mul_(dense_mask) if fused else z * dense_mask, alpha=SCALE)
        return perturb

    contestants = {"ours": lambda: sparse.masked_perturb_(p_ours, mask, seed=SEED, scale=SCALE),
                   "torch_normal_times_mask": mezo(p_mul, False),
                   "torch_normal_mul_mask_": mezo(p_fused, True)}
    times = measure(contestants, repeats)
    once = sparse.masked_perturb_(p0.clone(), mask, seed=SEED, scale=SCALE)
    back = sparse.masked_perturb_(once.clone(), mask, seed=SEED, scale=-SCALE)
    cycle = sparse.masked_perturb_(sparse.masked_perturb_(once.clone(), mask, seed=SEED, scale=-2 * SCALE), mask,
                                   seed=SEED, scale=SCALE)  # ZerothOrderSGD's +eps, -2 eps, +eps
    z = gaussian_zeros(shape, mask)
    checks = {"unmasked_bitwise_unchanged": unmasked_changed(once, p0, member) == 0,
              "masked_entries_changed": int((once.reshape(-1)[positions] != p0.reshape(-1)[positions]).sum()),
              "z_equals_dense_z_on_mask": bool(torch.equal(z.reshape(-1)[positions], dense_z.reshape(-1)[positions])),
              "z_zero_off_mask": unmasked_changed(z, torch.zeros_like(z), member) == 0,
              "roundtrip_entries_not_restored": int((back != p0).sum()),
              "mezo_cycle_entries_not_restored": int((cycle != p0).sum())}
    row = {"section": "perturb", "loadavg_1min": os.getloadavg()[0], "n": n, "dtype": dtype_str(dtype),
           "density": density, "actual_density": mask.density, "nnz": mask.nnz, "encoding": mask.encoding,
           "times": times, "checks": checks,
           "ratios": {"torch_normal_times_mask_over_ours": ratio(times, "torch_normal_times_mask", "ours"),
                      "torch_normal_mul_mask__over_ours": ratio(times, "torch_normal_mul_mask_", "ours")}}
    print_perturb(row)
    return row


def perturb_dense_row(p0, dense_z, repeats):
    n, dtype, shape = p0.numel(), p0.dtype, p0.shape
    p_ours, p_torch = p0.clone(), p0.clone()

    def torch_dense():
        g = torch.Generator().manual_seed(SEED)
        p_torch.add_(torch.normal(0.0, 1.0, size=shape, generator=g, dtype=dtype), alpha=SCALE)

    times = measure({"ours": lambda: sparse.masked_perturb_(p_ours, None, seed=SEED, scale=SCALE),
                     "torch_normal_add_": torch_dense}, repeats)
    z = dense_z.double()
    checks = {"z_mean": float(z.mean()), "z_std": float(z.std())}
    row = {"section": "perturb", "loadavg_1min": os.getloadavg()[0], "n": n, "dtype": dtype_str(dtype),
           "density": 1.0, "nnz": n, "encoding": "none (masks=None)", "times": times, "checks": checks,
           "ratios": {"torch_normal_add__over_ours": ratio(times, "torch_normal_add_", "ours")}}
    print_perturb(row)
    return row


def ssd_row(p0, repeats):
    n, dtype = p0.numel(), p0.dtype
    g = torch.Generator().manual_seed(seed_of("ssd", n))
    forget = torch.empty(p0.shape, dtype=torch.float32).exponential_(generator=g)
    retain = torch.empty(p0.shape, dtype=torch.float32).exponential_(generator=g)
    p_ours, p_torch = p0.clone(), p0.clone()

    def torch_ssd(p):
        locations = forget > SSD_ALPHA * retain
        weight = (retain * SSD_LAMBDA / forget).clamp_(max=1.0)
        p[locations] = (p[locations] * weight[locations]).to(p.dtype)  # a bfloat16 index_put_ needs the cast
        return p

    state = {}

    def on_warmup(name, result):
        state[name] = result.clone() if torch.is_tensor(result) else result

    times = measure({"ours": lambda: sparse.ssd_dampen_(p_ours, forget, retain, alpha=SSD_ALPHA, lam=SSD_LAMBDA),
                     "torch": lambda: torch_ssd(p_torch)}, repeats, on_warmup)
    p_check = p0.clone()
    ours = sparse.ssd_dampen_(p_check, forget, retain, alpha=SSD_ALPHA, lam=SSD_LAMBDA)
    f, r, w = forget.numpy().astype(np.float64), retain.numpy().astype(np.float64), p0.double().numpy()
    locations = f > SSD_ALPHA * r
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.minimum(SSD_LAMBDA * r / f, 1.0)
    expected = round_to_dtype(np.where(locations, w * factor, w), dtype)
    del f, r, w, factor
    checks = {"ours_selected": ours, "expected_selected": int(locations.sum()),
              "ours_equals_float64_formula_bitwise": bool(torch.equal(p_check, expected)),
              "ours_entries_differing": int((p_check != expected).sum()),
              "torch_entries_differing": int((state["torch"] != expected).sum())}
    row = {"section": "ssd", "loadavg_1min": os.getloadavg()[0], "n": n, "dtype": dtype_str(dtype),
           "selected_fraction": ours / n, "times": times, "checks": checks,
           "ratios": {"torch_over_ours": ratio(times, "torch", "ours")}}
    print_ssd(row)
    return row


# -------------------------------------------------------------------------------------- printing
def ms(times, name):
    return f"{1e3 * times[name]['median_s']:9.2f}" if name in times else f"{'-':>9}"


def head(r):
    return f"{r['n']:>9.0e} {r['dtype']:<8} {100 * r['density']:>4.0f}%"


def print_step(r):
    t, c, q = r["times"], r["checks"], r["ratios"]
    peers = " ".join(f"{name[6:]} {ms(t, name)}" for name in ("adamw_default", "adamw_foreach", "adamw_fused") if name in t)
    ratios = " ".join(f"{name[:-10]} {fx(value)}" for name, value in q.items())
    ulps = " ".join(f"{name} {c[name]['max_ulps']:.2g}/{c[name]['max_ulps_of_larger_of_p0_and_result']:.2g}" for name in t)
    print(f"step    {head(r)} ms: ours {ms(t, 'ours')} ({r['encoding']}) adamw {peers} sara {ms(t, 'sara')} | "
          f"{ratios} | max ulps (result/scale) {ulps} | ours > 0.5 ulp of its rounded-moment reference "
          f"{c['ours_vs_rounded_moments']['entries_over_half_ulp']} | ours unmasked unchanged {c['ours_unmasked_bitwise_unchanged']}, "
          f"adamw changed {c.get('adamw_default', {}).get('unmasked_changed')}", flush=True)


def print_memory(m):
    print(f"memory  {m['n']:>9.0e} {m['dtype']:<8} {100 * m['density']:>4.0f}% MiB: ours state "
          f"{m['ours_state_bytes'] / 2**20:.1f} + mask {m['mask_bytes'] / 2**20:.1f} ({m['encoding']}) | adamw "
          f"{m['adamw_state_bytes'] / 2**20:.1f} | sara state {m['sara_state_bytes'] / 2**20:.1f} + index "
          f"{m['sara_index_bytes'] / 2**20:.1f} | state/8nnz {m['ours_state_over_8nnz']:.3f} "
          f"(+mask {m['ours_state_and_mask_over_8nnz']:.3f}) adamw/ours {fx(m['adamw_over_ours_state_and_mask'], 1)}",
          flush=True)


def print_perturb(r):
    t, c, q = r["times"], r["checks"], r["ratios"]
    if r["density"] == 1.0:
        print(f"perturb {head(r)} ms: ours {ms(t, 'ours')} torch normal+add_ {ms(t, 'torch_normal_add_')} | "
              f"{fx(q['torch_normal_add__over_ours'])} | z mean {c['z_mean']:.2e} std {c['z_std']:.4f}", flush=True)
        return
    print(f"perturb {head(r)} ms: ours {ms(t, 'ours')} ({r['encoding']}) normal*mask {ms(t, 'torch_normal_times_mask')} "
          f"normal.mul_ {ms(t, 'torch_normal_mul_mask_')} | {fx(q['torch_normal_times_mask_over_ours'])} "
          f"{fx(q['torch_normal_mul_mask__over_ours'])} | unmasked unchanged {c['unmasked_bitwise_unchanged']} "
          f"z=dense z {c['z_equals_dense_z_on_mask']} not restored: +-s {c['roundtrip_entries_not_restored']} "
          f"+s-2s+s {c['mezo_cycle_entries_not_restored']}", flush=True)


def print_ssd(r):
    t, c, q = r["times"], r["checks"], r["ratios"]
    print(f"ssd     {r['n']:>9.0e} {r['dtype']:<8} {100 * r['selected_fraction']:>4.1f}% ms: ours {ms(t, 'ours')} "
          f"torch {ms(t, 'torch')} | {fx(q['torch_over_ours'])} | exact {c['ours_equals_float64_formula_bitwise']} "
          f"(count {c['ours_selected'] == c['expected_selected']}) torch differs {c['torch_entries_differing']}", flush=True)


# ----------------------------------------------------------------------------------------- table
def table(path: Path) -> str:
    result = json.loads(path.read_text())
    rows = result["rows"]
    out = [f"Targets (the issue): masked step at 5% >= {TARGETS['step_5pct_torch_over_ours']:g}x faster than torch "
           f"AdamW with a masked gradient; masked_perturb_ at 5% >= {TARGETS['perturb_5pct_torch_over_ours']:g}x "
           f"faster than a dense torch Gaussian times the mask; MaskedAdam state <= "
           f"{TARGETS['state_over_8nnz']:g} x (2 x 4 bytes x nnz) plus the mask.", ""]

    def med(r, name):
        return f"{1e3 * r['times'][name]['median_s']:.3g}" if name in r["times"] else "-"

    def met(value, target, density):
        if density != 0.05 or value is None:
            return ""
        return " (met)" if value >= target else " (**NOT met**)"

    out += ["| n | dtype | density | mask | ours ms | AdamW ms | **AdamW / ours** | foreach ms | **foreach / ours** "
            "| fused ms | **fused / ours** | SaRA ms | **SaRA / ours** | max ulps at the result: ours, AdamW, fused, "
            "SaRA | at max(\\|p0\\|, \\|result\\|) | ours rounded once (float32 moments) "
            "| ours unmasked unchanged | AdamW unmasked changed |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in (r for r in rows if r["section"] == "step"):
        c, q = r["checks"], r["ratios"]
        target = TARGETS["step_5pct_torch_over_ours"]
        names = ("ours", "adamw_default", "adamw_fused", "sara")
        ulps = ", ".join(f"{c[name]['max_ulps']:.2g}" if name in c else "-" for name in names)
        scaled = ", ".join(f"{c[name]['max_ulps_of_larger_of_p0_and_result']:.2g}" if name in c else "-" for name in names)
        own = c["ours_vs_rounded_moments"]
        out.append(f"| {r['n']:.0e} | {r['dtype']} | {100 * r['density']:g}% | {r['encoding']} | {med(r, 'ours')} | "
                   f"{med(r, 'adamw_default')} | **{fx(q.get('adamw_default_over_ours'), 1)}**"
                   f"{met(q.get('adamw_default_over_ours'), target, r['density'])} | "
                   f"{med(r, 'adamw_foreach')} | **{fx(q.get('adamw_foreach_over_ours'), 1)}** | "
                   f"{med(r, 'adamw_fused')} | **{fx(q.get('adamw_fused_over_ours'), 1)}**"
                   f"{met(q.get('adamw_fused_over_ours'), target, r['density'])} | {med(r, 'sara')} | "
                   f"**{fx(q.get('sara_over_ours'), 1)}** | {ulps} | {scaled} | "
                   f"{'yes' if own['entries_over_half_ulp'] == 0 else 'NO (' + format(own['entries_over_half_ulp'], ',') + ')'} | "
                   f"{'yes' if c['ours_unmasked_bitwise_unchanged'] else 'NO'} | "
                   f"{c.get('adamw_default', {}).get('unmasked_changed', '-'):,} |")
    out += ["", "| n | dtype | density | nnz | ours state MiB | mask MiB | **state / (8 nnz)** | with mask "
            "| AdamW state MiB | **AdamW / ours (state + mask)** | SaRA state + int64 index MiB | SaRA / ours |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for m in result.get("memory", []):
        mib = 2**20
        out.append(f"| {m['n']:.0e} | {m['dtype']} | {100 * m['density']:g}% | {m['nnz']:,} | "
                   f"{m['ours_state_bytes'] / mib:.3g} | {m['mask_bytes'] / mib:.3g} | "
                   f"**{m['ours_state_over_8nnz']:.3f}**{'' if m['target_met'] else ' (**NOT met**)'} | "
                   f"{m['ours_state_and_mask_over_8nnz']:.3f} | {m['adamw_state_bytes'] / mib:.3g} | "
                   f"**{fx(m['adamw_over_ours_state_and_mask'], 1)}** | "
                   f"{(m['sara_state_bytes'] + m['sara_index_bytes']) / mib:.3g} | "
                   f"{fx(m['sara_state_and_index_over_ours_state_and_mask'], 2)} |")
    out += ["", "| n | dtype | density | mask | ours ms | normal * mask ms | **normal * mask / ours** "
            "| normal.mul_(mask) ms | **mul_ / ours** | unmasked unchanged | z = dense z on mask "
            "| not restored: +s -s | +s -2s +s |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in (r for r in rows if r["section"] == "perturb"):
        c, q = r["checks"], r["ratios"]
        if r["density"] == 1.0:
            out.append(f"| {r['n']:.0e} | {r['dtype']} | 100% | none | {med(r, 'ours')} | normal + add_: "
                       f"{med(r, 'torch_normal_add_')} | **{fx(q['torch_normal_add__over_ours'], 1)}** | | | | "
                       f"z mean {c['z_mean']:.1e}, std {c['z_std']:.4f} | | |")
            continue
        target = TARGETS["perturb_5pct_torch_over_ours"]
        out.append(f"| {r['n']:.0e} | {r['dtype']} | {100 * r['density']:g}% | {r['encoding']} | {med(r, 'ours')} | "
                   f"{med(r, 'torch_normal_times_mask')} | **{fx(q['torch_normal_times_mask_over_ours'], 1)}**"
                   f"{met(q['torch_normal_times_mask_over_ours'], target, r['density'])} | "
                   f"{med(r, 'torch_normal_mul_mask_')} | **{fx(q['torch_normal_mul_mask__over_ours'], 1)}** | "
                   f"{'yes' if c['unmasked_bitwise_unchanged'] else 'NO'} | "
                   f"{'yes' if c['z_equals_dense_z_on_mask'] else 'NO'} | {c['roundtrip_entries_not_restored']:,} | "
                   f"{c['mezo_cycle_entries_not_restored']:,} |")
    out += ["", "| n | dtype | selected | ours ms | torch ms | **torch / ours** | ours = float64 formula "
            "| torch entries off it |", "|---|---|---|---|---|---|---|---|"]
    for r in (r for r in rows if r["section"] == "ssd"):
        c, q = r["checks"], r["ratios"]
        exact = c["ours_equals_float64_formula_bitwise"] and c["ours_selected"] == c["expected_selected"]
        out.append(f"| {r['n']:.0e} | {r['dtype']} | {100 * r['selected_fraction']:.2f}% | {med(r, 'ours')} | "
                   f"{med(r, 'torch')} | **{fx(q['torch_over_ours'], 1)}** | "
                   f"{'yes' if exact else 'NO (' + format(c['ours_entries_differing'], ',') + ' entries)'} | "
                   f"{c['torch_entries_differing']:,} |")
    return "\n".join(out)


# ------------------------------------------------------------------------------------------ main
SECTIONS = ("step", "perturb", "ssd")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI smoke run: n = 1e5 and 1e6, every row, < 30 s")
    parser.add_argument("--n", type=float, nargs="+", help="sizes (default 1e6 1e7 1e8)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip", nargs="+", default=[], choices=SECTIONS)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--table", type=Path, help="print the markdown tables of a results file and exit")
    args = parser.parse_args()
    if args.table:
        print(table(args.table))
        return
    sizes, repeats, started, meta = bench.start_run(args)
    rows, memory = [], []
    for n in sizes:
        for dtype_name, dtype in DTYPES.items():
            p0 = normal_tensor(n, dtype, PARAM_SCALE, seed_of("param", n, dtype_name))
            grad = normal_tensor(n, dtype, GRAD_SCALE, seed_of("grad", n, dtype_name))
            dense_z = gaussian_zeros(p0.shape, None) if "perturb" not in args.skip else None
            for density in DENSITIES:
                mask, positions = make_mask(n, density)
                member = mask.to_bool()
                if "step" not in args.skip:
                    row, mem = step_rows(p0, grad, mask, positions, member, density, repeats)
                    rows.append(row)
                    memory.append(mem)
                    gc.collect()
                if "perturb" not in args.skip:
                    rows.append(perturb_row(p0, mask, positions, member, density, dense_z, repeats))
                del mask, positions, member
                gc.collect()
            if "perturb" not in args.skip:
                rows.append(perturb_dense_row(p0, dense_z, repeats))
            if "ssd" not in args.skip:
                rows.append(ssd_row(p0, repeats))
            del p0, grad, dense_z
            gc.collect()
    notes = ["torch AdamW 'adamw_default' is torch's default implementation on CPU tensors: the single-tensor "
             "for-loop (foreach defaults on for CUDA only); 'adamw_foreach' sets foreach=True, 'adamw_fused' fused=True",
             "the AdamW peers decay every weight (unmasked ones too) and keep dense moments in the parameter's "
             "dtype: they do not implement MaskedAdam's semantics; SaRA does (AdamW on a compact copy)",
             "masks: Mask.from_bool(torch.rand(n) < d), seeded per (n, d); 'auto' encoding (indices at 1%, bitmask "
             "above 1/32)"]
    if args.quick:
        notes.append("--quick: n = 1e5 and 1e6, 2 repeats")
    seconds = time.perf_counter() - started
    result = meta | {"benchmark": "sparse_training", "sizes": sizes, "densities": list(DENSITIES), "repeats": repeats,
                     "slow_seconds": list(bench.SLOW_SECONDS), "idle_seconds": bench.IDLE_SECONDS, "quick": args.quick,
                     "data": {"param": f"{PARAM_SCALE} N(0,1)", "grad": f"{GRAD_SCALE} N(0,1), fixed",
                              "shape": f"(n / {COLUMNS}, {COLUMNS})", "ssd_importances": "Exp(1), float32"},
                     "hyperparameters": {"lr": LR, "weight_decay": WEIGHT_DECAY, "betas": list(BETAS), "eps": EPS,
                                         "perturb_seed": SEED, "perturb_scale": SCALE, "ssd_alpha": SSD_ALPHA,
                                         "ssd_lambda": SSD_LAMBDA},
                     "targets": TARGETS, "notes": notes, "total_seconds": seconds,
                     "main_process_peak_rss_gib": bench.status_kib("VmHWM") / 2**20, "rows": rows, "memory": memory}
    print(f"total {seconds:.0f} s", flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
