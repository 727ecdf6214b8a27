"""Every public function of mlprims with one small valid call, for the interop matrix of
test_interop.py (array types, devices, dtypes, layouts). A new public function gets a Case here.

The data are integer-valued float64 arrays of small magnitude: exact in float16, bfloat16, float32
and int64, so every variant of a call reads the same numbers and differs from the float64 numpy
call only by the precision it computes in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from mlprims import _arrays as array_rules
from mlprims import lowrank, mfac, ot, sparse, special, vmf

# What an output's dtype is: the compute dtype of the inputs (float64 for float64 and integer
# inputs, float32 for float32, float16 and bfloat16: the half-precision policy), a fixed dtype, or
# the input's own dtype (parameters updated in place).
POLICY, SAME_AS_INPUT = "policy", "same as input"


@dataclass(frozen=True)
class Case:
    name: str
    data: dict[str, np.ndarray]
    call: Callable[..., Any]
    """call(**data in one variant) -> the public function's result."""
    outputs: Callable[[Any], tuple]
    """The result's arrays, whose type, device and dtype are checked."""
    values: Callable[[Any, Callable], tuple]
    """values(result, to_float64_numpy) -> what is compared with the float64 numpy call."""
    output_dtypes: tuple[str, ...] | None = None
    """One entry per output: POLICY, SAME_AS_INPUT or a dtype name; None: all POLICY."""
    integers: bool = True
    """Integer arrays are a valid input (and the data are integers)."""
    always_numpy: bool = False
    """The result is numpy on the CPU whatever the inputs (samplers)."""
    torch_only: bool = False
    reference: Callable[..., Any] | None = None
    """The float64 numpy computation to compare with, when `call` itself cannot take numpy."""
    scalar_only: bool = False
    """Takes 0-d values only (no DLPack objects)."""
    cpu_only: bool = False
    """No CUDA back end yet: CUDA inputs are a TypeError, tested on their own (test_ot.py)."""
    wide_floats_only: bool = False
    """float16/bfloat16 inputs cannot carry the computation (MeZO's perturbation of 1e-3 is below
    their spacing), so they are not compared with the float64 result."""

    def __str__(self) -> str:
        return self.name


def device_of(value) -> str:
    """'cpu' or 'cuda:N' for any array argument (DLPack objects included)."""
    if hasattr(value, "__dlpack_device__"):
        kind, index = value.__dlpack_device__()
        if kind == 2:
            return f"cuda:{index}"
    return "cpu"


def _arrays(result) -> tuple:
    return (result,)


def _same(result, to64) -> tuple:
    return (to64(result),)


def _factors(result, to64) -> tuple:
    """What a factorization determines: the product (the factors' signs are arbitrary), the
    singular values and the reported error."""
    return (to64(result.left) @ to64(result.right), to64(result.singular_values), result.weighted_error)


_V = np.array([[0.0], [1.0], [3.0]])
_X = np.array([1.0, 2.0, 5.0, 9.0])
_G = np.array([[1.0, -2, 0, 3, 1, -1], [0, 1, 2, -1, 3, 2], [2, 0, -1, 1, 0, 1], [-1, 3, 1, 0, 2, -2]])
_OT_COSTS = np.array([[0.0, 1, 2, 3, 1], [1, 0, 1, 2, 2], [2, 1, 0, 1, 3], [3, 2, 1, 0, 1]])
_OT_X = np.array([[0.0, 0], [1, 0], [0, 1], [2, 2], [1, 3]])
_OT_Y = np.array([[1.0, 1], [0, 2], [3, 0], [2, 1]])
_W = np.array([[3.0, -1, 2, 0, 1], [1, 4, -2, 1, 0], [0, 2, 5, -1, 3], [2, -3, 1, 4, -1], [-1, 0, 3, 2, 6],
               [4, 1, -1, -2, 2]])
_UNIT_ROWS = np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, -1], [-1, 0, 0]])
_FIT_ROWS = np.array([[1.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])


def _sliding(g1, g2, x):
    window = mfac.SlidingFisherInverse(6, 3, 1.0, dtype="float64", device=device_of(g1))
    window.update(g1)
    return window.update_ihvp(g2, refine=True), window.ihvp(x)


def _mfac_step(w, g):
    import torch

    parameter = torch.nn.Parameter(w.clone())
    parameter.grad = g.clone()
    mfac.MFAC([parameter], lr=0.5, ngrads=2, damp=1.0).step()
    return parameter.detach()


def _mfac_reference(w, g):
    """One M-FAC step from w with gradient g and an empty window: w - lr F^{-1} g."""
    return w - 0.5 * mfac.SlidingFisherInverse(6, 2, 1.0, dtype="float64").update_ihvp(g)


_BASE = np.array([[1.0, -2, 0, 3], [2, 0, -1, 4]])
_TUNED = np.array([[1.0, 2, 0, 1], [-2, 0, -1, 5]])
_TUNED2 = np.array([[3.0, -2, 1, 3], [2, -1, -1, 2]])


def _own_copy(W):
    """A writable copy of an input for the in-place functions (a list or DLPack object cannot be
    updated in place)."""
    W = array_rules.as_floating("test", "W", W, stored=("float16", "bfloat16", "float32", "float64"))
    return W.clone() if array_rules.is_tensor(W) else np.array(W, copy=True)


def _sparse_apply(base, tuned):
    return sparse.apply_(_own_copy(base), sparse.extract(base, tuned, k=3), alpha=0.5)


def _perturb(W):
    W = _own_copy(W)
    return sparse.masked_perturb_(W, sparse.Mask.below(W, 2.5), seed=3, scale=0.5)


def _ssd(W, forget, retain):
    W = _own_copy(W)
    sparse.ssd_dampen_(W, forget, retain, alpha=1.5, lam=0.5)
    return W


def _masked_adam_step(w, g):
    import torch

    parameter = torch.nn.Parameter(w.clone())
    parameter.grad = g.clone()
    sparse.MaskedAdam([parameter], [sparse.Mask.above(w, 1.5)], lr=0.5, weight_decay=0.1).step()
    return parameter.detach()


def _masked_adam_reference(w, g):
    """The first AdamW step on the masked coordinates: decay, then lr * g / (|g| + eps)."""
    update = w * (1 - 0.5 * 0.1) - 0.5 * g / (np.abs(g) + 1e-8)
    return np.where(np.abs(w) > 1.5, update, w)


def _zeroth_order_step(w):
    import torch

    parameter = torch.nn.Parameter(w.clone())
    sparse.ZerothOrderSGD([parameter], lr=0.1, eps=1e-3, seed=5).step(lambda: float((parameter.double() ** 2).sum()))
    return parameter.detach()


def _zeroth_order_reference(w):
    """One MeZO step on sum(w^2): the projected gradient 2 w.z (exact for a quadratic) along z."""
    from mlprims._native import _core

    z = sparse.masked_perturb_(np.zeros(w.shape), None, seed=_core.sparse.stream_seed(5, 0), scale=1.0)
    return w - 0.1 * 2 * np.sum(w * z) * z


CASES = [
    *(Case(f"special.{function.__name__}", {"v": _V + (function is special.iv_ratio), "x": _X},
           lambda v, x, function=function: function(v, x), _arrays, _same)
      for function in (special.log_iv, special.log_kv, special.iv_ratio)),
    Case("vmf.log_normalizer", {"kappa": np.array([0.0, 1, 4, 30])}, lambda kappa: vmf.log_normalizer(kappa, 5),
         _arrays, _same),
    Case("vmf.mean_resultant_length", {"kappa": np.array([0.0, 1, 4, 30])},
         lambda kappa: vmf.mean_resultant_length(kappa, 5), _arrays, _same),
    Case("vmf.log_prob", {"X": _UNIT_ROWS, "mu": np.array([0.0, 0, 1])}, lambda X, mu: vmf.log_prob(X, mu, 2.0),
         _arrays, _same),
    Case("vmf.fit", {"X": _FIT_ROWS, "weights": np.array([1.0, 2, 3, 4])}, lambda X, weights: vmf.fit(X, weights=weights),
         lambda r: (r.mu,), lambda r, to64: (to64(r.mu), r.kappa, r.mean_resultant_length)),
    Case("vmf.kappa_mle", {"rbar": np.array(0.5)}, lambda rbar: vmf.kappa_mle(rbar, 5), lambda r: (),
         lambda r, to64: (r.kappa,), integers=False, scalar_only=True),
    Case("vmf.sample", {"mu": np.array([0.0, 0, 2])}, lambda mu: vmf.sample(mu, 3.0, 5, seed=0), _arrays, _same,
         output_dtypes=("float64",), always_numpy=True),
    Case("mfac.FisherInverse.ihvp", {"G": _G, "x": np.array([[1.0, 0, -2, 1, 3, 1], [0, 2, 1, -1, 0, 4]])},
         lambda G, x: mfac.FisherInverse(G, 1.0).ihvp(x, refine=True), _arrays, _same),
    Case("mfac.FisherInverse.diagonal", {"G": _G}, lambda G: mfac.FisherInverse(G, 1.0, block_size=4).diagonal(),
         _arrays, _same, output_dtypes=("float64",)),
    Case("mfac.FisherInverse.entries", {"G": _G}, lambda G: mfac.FisherInverse(G, 1.0).entries([0, 5, 2], [1, 5, 3]),
         _arrays, _same, output_dtypes=("float64",)),
    Case("mfac.SlidingFisherInverse", {"g1": _G[0], "g2": _G[1], "x": _G[2]}, _sliding, lambda r: r,
         lambda r, to64: tuple(map(to64, r))),
    Case("mfac.obs_prune", {"weights": np.array([1.0, -5, 2, 8, -3, 6]), "G": _G},
         lambda weights, G: mfac.obs_prune(weights, mfac.FisherInverse(G, 1.0), 0.5), lambda r: (r.weights, r.mask),
         lambda r, to64: (to64(r.weights), to64(r.mask)), output_dtypes=(POLICY, "bool")),
    Case("mfac.MFAC", {"w": np.array([1.0, -2, 0, 3, 1, 2]), "g": _G[3]}, _mfac_step, _arrays, _same,
         output_dtypes=(SAME_AS_INPUT,), integers=False, torch_only=True, reference=_mfac_reference),
    Case("ot.sinkhorn", {"C": _OT_COSTS}, lambda C: ot.sinkhorn(None, None, C, 1.0, tol=1e-6),
         lambda r: (r.f, r.g), lambda r, to64: (to64(r.f), to64(r.g), r.objective), cpu_only=True),
    Case("ot.sinkhorn2", {"C": _OT_COSTS}, lambda C: ot.sinkhorn2(None, None, C, 1.0, tol=1e-6), _arrays, _same,
         output_dtypes=(POLICY,), cpu_only=True),
    Case("ot.sinkhorn_points", {"x": _OT_X, "y": _OT_Y}, lambda x, y: ot.sinkhorn_points(x, y, 4.0, tol=1e-6),
         lambda r: (r.f, r.g), lambda r, to64: (to64(r.f), to64(r.g), r.objective), cpu_only=True),
    Case("ot.sinkhorn_divergence", {"x": _OT_X, "y": _OT_Y}, lambda x, y: ot.sinkhorn_divergence(x, y, 4.0, tol=1e-6),
         _arrays, _same, output_dtypes=(POLICY,), cpu_only=True),
    Case("sparse.extract", {"base": _BASE, "tuned": _TUNED}, lambda base, tuned: sparse.extract(base, tuned, k=3).to_dense("float64"),
         _arrays, _same, output_dtypes=("float64",), cpu_only=True),
    Case("sparse.apply_", {"base": _BASE, "tuned": _TUNED}, _sparse_apply, _arrays, _same, output_dtypes=(SAME_AS_INPUT,),
         integers=False, cpu_only=True),
    Case("sparse.SparseDelta", {"values": np.array([2.0, -3.0])},
         lambda values: sparse.SparseDelta((2, 2), "float64", values, indices=np.array([0, 3], np.int32)).to_dense(),
         _arrays, _same, output_dtypes=(SAME_AS_INPUT,), integers=False, cpu_only=True),
    Case("sparse.merge", {"base": _BASE, "t1": _TUNED, "t2": _TUNED2},
         lambda base, t1, t2: sparse.merge(base, [t1, t2], method="ties", density=0.5), _arrays, _same,
         output_dtypes=(SAME_AS_INPUT,), integers=False, cpu_only=True),
    Case("sparse.topk_abs", {"x": _BASE}, lambda x: sparse.topk_abs(x, 3), lambda r: (r.values,),
         lambda r, to64: (to64(r.values), to64(r.indices)), output_dtypes=(SAME_AS_INPUT,), integers=False, cpu_only=True),
    Case("sparse.kth_largest_abs", {"x": _BASE}, lambda x: sparse.kth_largest_abs(x, 3), lambda r: (),
         lambda r, to64: (r,), cpu_only=True),
    Case("sparse.update_stats", {"base": _BASE, "tuned": _TUNED}, lambda base, tuned: sparse.update_stats(base, tuned),
         lambda r: (), lambda r, to64: (r.changed, r.max_abs, r.mean_abs), cpu_only=True),
    Case("sparse.Mask.gather", {"W": _BASE}, lambda W: sparse.Mask.below(W, 2.5).gather(W), _arrays, _same,
         output_dtypes=(SAME_AS_INPUT,), integers=False, cpu_only=True),
    Case("sparse.masked_perturb_", {"W": _BASE}, _perturb, _arrays, _same, output_dtypes=(SAME_AS_INPUT,),
         integers=False, cpu_only=True),
    Case("sparse.ssd_dampen_", {"W": _BASE, "forget": np.abs(_TUNED) + 1, "retain": np.abs(_TUNED2)}, _ssd, _arrays,
         _same, output_dtypes=(SAME_AS_INPUT,), integers=False, cpu_only=True),
    Case("sparse.MaskedAdam", {"w": np.array([1.0, -2, 0, 3, 1, 2]), "g": _G[3]}, _masked_adam_step, _arrays, _same,
         output_dtypes=(SAME_AS_INPUT,), integers=False, torch_only=True, cpu_only=True,
         reference=_masked_adam_reference),
    Case("sparse.ZerothOrderSGD", {"w": np.array([1.0, -2, 0, 3, 1, 2])}, _zeroth_order_step, _arrays, _same,
         output_dtypes=(SAME_AS_INPUT,), integers=False, torch_only=True, cpu_only=True, wide_floats_only=True,
         reference=_zeroth_order_reference),
    Case("lowrank.truncated_svd", {"W": _W}, lambda W: lowrank.truncated_svd(W, 2),
         lambda r: (r.left, r.right, r.singular_values), _factors),
    Case("lowrank.weighted_svd(row_weights)", {"W": _W, "d": np.array([1.0, 2, 3, 1, 2, 4])},
         lambda W, d: lowrank.weighted_svd(W, 2, row_weights=d), lambda r: (r.left, r.right, r.singular_values), _factors),
    Case("lowrank.weighted_svd(weights)", {"W": _W, "w": 1 + np.abs(_W)},
         lambda W, w: lowrank.weighted_svd(W, 2, weights=w), lambda r: (r.left, r.right, r.singular_values), _factors),
    Case("lowrank.fwsvd", {"W": _W, "fisher": 1 + np.arange(30.0).reshape(6, 5) % 4},
         lambda W, fisher: lowrank.fwsvd(W, fisher, 2), lambda r: (r.left, r.right, r.singular_values), _factors),
]
