"""In-place updates of masked coordinates: the seed-regenerated Gaussian perturbation of zeroth-order
training (MeZO, Sparse MeZO) and Selective Synaptic Dampening (unlearning), with the importances SSD
uses."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from . import sparse
from ._arrays import dtype_name, is_tensor, torch_module
from ._native import _core
from ._sparse_mask import check_mask, support_of
from ._validation import UINT64_MAX, check_callable, check_integer, check_real

__all__ = ["importance", "masked_perturb_", "ssd_dampen_"]


def _writable_weights(function: str, name: str, W, *, contiguous_only: bool = False):
    """The array to update for W: W's own storage (torch tensors detached: the update is in place,
    like one through p.data) or, for a strided W, a C-contiguous copy to write back with
    :func:`_write_back` (``contiguous_only``: a strided W is a ValueError instead). W must be a
    float16/bfloat16/float32/float64 numpy array or torch CPU tensor."""
    if not (is_tensor(W) or isinstance(W, np.ndarray)):
        raise TypeError(f"{function}: '{name}' must be a numpy array or a torch tensor (updated in place), got "
                        f"{type(W).__name__}")
    if dtype_name(W) not in sparse._STORED:
        raise TypeError(f"{function}: '{name}' must have dtype {', '.join(sparse._STORED)}, got {dtype_name(W)}")
    storage = W.detach() if is_tensor(W) else W
    if is_tensor(storage) and storage.device.type != "cpu":
        raise TypeError(f"{function}: '{name}' must be in CPU memory (the CUDA back end of sparse is not built yet), "
                        f"got a tensor on {storage.device}")
    contiguous = storage.is_contiguous() if is_tensor(storage) else storage.flags.c_contiguous
    if not contiguous and contiguous_only:
        raise ValueError(f"{function}: '{name}' must be C-contiguous (it is updated in place)")
    return storage if contiguous else sparse._contiguous(storage)


def _write_back(W, storage) -> None:
    """Copies an update made on a contiguous copy (see _writable_weights) into W."""
    own = W.detach() if is_tensor(W) else W
    if storage is not own and not (is_tensor(W) and storage.data_ptr() == own.data_ptr()):
        own[...] = storage


def _parameter_list(function: str, params, masks) -> tuple[list, list]:
    """The parameters (one tensor or an iterable of them) as a list, and [(storage, mask or None)]
    for them, with masks None, one Mask, or a list."""
    single = is_tensor(params) or isinstance(params, np.ndarray)
    params = [params] if single else list(params)
    if masks is None:
        masks = [None] * len(params)
    elif single and not isinstance(masks, (list, tuple)):
        masks = [masks]
    else:
        masks = list(masks)
    if len(masks) != len(params):
        raise ValueError(f"{function}: 'masks' must have one entry (a Mask or None) per parameter ({len(params)}), "
                         f"got {len(masks)}")
    return params, [(_writable_weights(function, f"params[{i}]", p), check_mask(function, f"masks[{i}]", m, tuple(p.shape)))
                    for i, (p, m) in enumerate(zip(params, masks))]


def _check_seed(function: str, seed: Any) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{function}: 'seed' must be an integer (the same seed regenerates the same z), got "
                        f"{type(seed).__name__} {seed!r}")
    return check_integer(function, "seed", seed, minimum=0, maximum=UINT64_MAX)


def parameter_seed(seed: int, index: int) -> int:
    """The seed of the index-th parameter's z (SplitMix64's index-th output of `seed`)."""
    return _core.sparse.stream_seed(seed, index)


def perturb_each(pairs, seed: int, scale: float, decay: float = 1.0) -> None:
    """``p = decay * p + scale * z_i`` on each (storage, mask) pair i, z_i from parameter_seed(seed, i)."""
    for i, (storage, mask) in enumerate(pairs):
        _core.sparse.masked_perturb(storage, *support_of(mask), seed=parameter_seed(seed, i), scale=scale, decay=decay)


def masked_perturb_(params, masks, seed: int, scale: float):
    """Add ``scale * z`` to the masked coordinates of each parameter, in place; returns params.

    ``z`` is a standard normal regenerated from ``seed``: parameter i (in list order) draws at flat
    position p the normal of a counter-based generator keyed by (seed, i, p), so the same seed gives
    the same z on every call, for any mask, chunking or thread count, and z is never stored (O(1)
    extra memory: MeZO's trick). ``params``: a tensor or a list of them (numpy arrays or torch CPU
    tensors of float16/bfloat16/float32/float64, updated in place like ``p.data``); ``masks``: None
    (every coordinate), a :class:`Mask`, or a list with a Mask or None per parameter.

    Each update is computed in float64 and rounded once to the parameter's dtype. Perturbing by
    +scale and then -scale therefore restores p exactly when p + scale*z rounds within p's binade
    (not to a tie), and to within one unit in the last place of the perturbed value otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import sparse
    >>> w = np.zeros(4)
    >>> mask = sparse.Mask.from_bool(np.array([True, False, True, False]))
    >>> _ = sparse.masked_perturb_(w, mask, seed=7, scale=1.0)
    >>> bool(w[0] != 0 and w[1] == 0 and w[2] != 0 and w[3] == 0)
    True
    >>> z = sparse.masked_perturb_(np.zeros(4), None, seed=7, scale=1.0)   # the same z where masked
    >>> bool(z[0] == w[0] and z[2] == w[2])
    True
    """
    function = "sparse.masked_perturb_"
    listed, pairs = _parameter_list(function, params, masks)
    perturb_each(pairs, _check_seed(function, seed), check_real(function, "scale", scale, finite=True))
    for W, (storage, _) in zip(listed, pairs):
        _write_back(W, storage)
    return params


def ssd_dampen_(param, importance_forget, importance_retain, *, alpha: float = 10.0, lam: float = 1.0) -> int:
    """Selective Synaptic Dampening (Foster, Schoepf and Brintrup, AAAI 2024), in place: where
    ``importance_forget > alpha * importance_retain``, multiply the weight by
    ``min(lam * importance_retain / importance_forget, 1)``. Returns the number of coordinates
    selected (those whose factor is 1, when lam * I_D >= I_f, are counted but keep their value).

    One pass over the three tensors, compared and computed in float64, each weight rounded once.
    Importances (:func:`importance`) are non-negative arrays of the parameter's shape (of two float
    dtypes, both are widened to the wider one first); a negative or NaN entry is a ValueError
    raised before any weight changes. The paper's defaults: lam = 1, alpha = 10 (ResNet) or 5 (ViT).

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import sparse
    >>> w = np.array([1.0, 1.0, 1.0])
    >>> sparse.ssd_dampen_(w, np.array([50.0, 2.0, 0.0]), np.array([1.0, 1.0, 1.0]), alpha=10, lam=1)
    1
    >>> w
    array([0.02, 1.  , 1.  ])
    """
    function = "sparse.ssd_dampen_"
    storage = _writable_weights(function, "param", param)
    forget = sparse._weights(function, "importance_forget", importance_forget)
    retain = sparse._weights(function, "importance_retain", importance_retain)
    for name, array in (("importance_forget", forget), ("importance_retain", retain)):
        if tuple(array.shape) != tuple(storage.shape):
            raise ValueError(f"{function}: '{name}' must have the parameter's shape {tuple(storage.shape)}, got "
                             f"{tuple(array.shape)}")
    if dtype_name(retain) != dtype_name(forget):
        # Both to the wider dtype (float32 for float16 with bfloat16): a narrowing cast could turn a
        # small retain importance into 0 and dampen a weight to 0 silently.
        names = {dtype_name(forget), dtype_name(retain)}
        wider = "float64" if "float64" in names else "float32"
        forget, retain = (a.to(getattr(torch_module(), wider)) if is_tensor(a) else a.astype(wider)
                          for a in (forget, retain))
    alpha = check_real(function, "alpha", alpha, minimum=0.0, finite=True)
    lam = check_real(function, "lam", lam, minimum=0.0, finite=True)
    selected = int(_core.sparse.ssd_dampen(storage, forget, retain, alpha=alpha, lam=lam))
    _write_back(param, storage)
    return selected


def importance(model, loader, loss_fn) -> dict:
    """The importance SSD uses: for each parameter of ``model`` (by name) the mean over the batches
    of ``loader`` of its squared minibatch gradient, ``mean_b (d loss_fn(model(x_b), y_b) / d theta)^2``
    (float32 for 16-bit parameters, else the parameter's dtype). ``loader`` yields ``(inputs,
    targets)`` pairs (a DataLoader, a list); the model's mode (train/eval) is left as it is, and
    its ``.grad`` fields are cleared (set to None) afterwards. Parameters that never get a gradient
    have zero importance.

    Examples
    --------
    >>> import torch
    >>> from mlprims import sparse
    >>> model = torch.nn.Linear(2, 1, bias=False)
    >>> with torch.no_grad(): _ = model.weight.copy_(torch.tensor([[1.0, 0.0]]))
    >>> batches = [(torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0]]))]
    >>> sparse.importance(model, batches, torch.nn.functional.mse_loss)["weight"]
    tensor([[ 4., 16.]])
    """
    function = "sparse.importance"
    torch = torch_module()
    if torch is None or not isinstance(model, torch.nn.Module):
        raise TypeError(f"{function}: 'model' must be a torch.nn.Module, got {type(model).__name__}")
    check_callable(function, "loss_fn", loss_fn)
    parameters = dict(model.named_parameters())
    totals = {name: torch.zeros_like(p, dtype=torch.float32 if p.dtype in (torch.float16, torch.bfloat16) else p.dtype)
              for name, p in parameters.items()}
    batches = 0
    for batch in loader:
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise TypeError(f"{function}: 'loader' must yield (inputs, targets) pairs, got {type(batch).__name__}")
        inputs, targets = batch
        model.zero_grad(set_to_none=True)
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        with torch.no_grad():
            for name, p in parameters.items():
                if p.grad is not None:
                    totals[name].add_(p.grad.to(totals[name].dtype).square())
        batches += 1
    model.zero_grad(set_to_none=True)
    if batches == 0:
        raise ValueError(f"{function}: 'loader' yielded no batches")
    return {name: total.div_(batches) for name, total in totals.items()}
