"""Optimizers that train the masked coordinates of each parameter only: ``sparse.MaskedAdam``
(AdamW with compact moments) and ``sparse.ZerothOrderSGD`` (MeZO / Sparse MeZO). Importing this
module imports torch."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._native import _core
from ._sparse_mask import Mask, check_mask, support_of
from ._sparse_updates import _check_seed, _writable_weights, parameter_seed, perturb_each
from ._validation import check_real

__all__ = ["MaskedAdam", "ZerothOrderSGD"]


def _all_parameters(optimizer: torch.optim.Optimizer) -> list:
    return [p for group in optimizer.param_groups for p in group["params"]]


def _mask_list(function: str, params: list, masks: Any) -> list:
    """One Mask (or None: every coordinate) per parameter, from a list in parameter order or a dict
    keyed by the parameter tensors."""
    if isinstance(masks, dict):
        # Every key a parameter and every parameter a key: a dict keyed by names (or missing one
        # parameter) would otherwise mean "every coordinate" for all of them, silently.
        by_id = {id(key): mask for key, mask in masks.items()}
        known = {id(p) for p in params}
        unknown = [key for key in masks if id(key) not in known]
        if unknown:
            key = unknown[0]
            shown = repr(key) if isinstance(key, (str, int)) else f"a {type(key).__name__} that is not one of them"
            raise ValueError(f"{function}: 'masks' must be keyed by the parameter tensors themselves; "
                             f"{len(unknown)} key(s) are not parameters of this optimizer, e.g. {shown} "
                             "(for named_parameters(): {p: mask for name, p in model.named_parameters()})")
        missing = [i for i, p in enumerate(params) if id(p) not in by_id]
        if missing:
            raise ValueError(f"{function}: 'masks' has no entry for params[{missing[0]}] ({len(missing)} parameter(s) "
                             "missing); map a parameter to None to train all its coordinates")
        masks = [by_id[id(p)] for p in params]
    elif isinstance(masks, (list, tuple)):
        if len(masks) != len(params):
            raise ValueError(f"{function}: 'masks' must have one entry per parameter ({len(params)}), got {len(masks)}")
    else:
        raise TypeError(f"{function}: 'masks' must be a list (in parameter order) or a dict keyed by parameter, got "
                        f"{type(masks).__name__}")
    for i, p in enumerate(params):
        _writable_weights(function, f"params[{i}]", p, contiguous_only=True)
    return [check_mask(function, f"masks[{i}]", m, tuple(p.shape)) for i, (p, m) in enumerate(zip(params, masks))]


def _positions64(mask: Mask | None, numel: int) -> torch.Tensor:
    positions = torch.arange(numel) if mask is None else torch.as_tensor(mask.positions())
    return positions.to(torch.int64)


def _mask_state(mask: Mask | None) -> dict | None:
    """A mask as plain torch data (a dict of its shape and one tensor), so that a state dict loads
    with torch.load's default weights_only=True."""
    if mask is None:
        return None
    encoding, support = mask._support()
    return {"shape": list(mask.shape), encoding: torch.as_tensor(support)}


def _mask_from_state(function: str, saved: Any) -> Mask | None:
    if saved is None or isinstance(saved, Mask):
        return saved
    if not (isinstance(saved, dict) and "shape" in saved and len(saved) == 2):
        raise ValueError(f"{function}: a saved mask must be None or a dict of 'shape' and 'indices' or 'bitmask', "
                         f"got {type(saved).__name__}")
    return Mask(saved["shape"], indices=saved.get("indices"), bitmask=saved.get("bitmask"))


class MaskedAdam(torch.optim.Optimizer):
    """AdamW on the masked coordinates of each parameter only, with compact moments: optimizer
    memory is 2 x (4 or 8) bytes per masked coordinate, not per parameter entry.

    ``masks``: a list with one :class:`Mask` (or None: every coordinate) per parameter, in
    parameter-group order, or a dict with every parameter (the tensor, not its name) as a key; any
    other key or a missing parameter is a ValueError. On the masked coordinates each step
    is torch.optim.AdamW's (decoupled weight decay, bias corrections, in its order of operations)
    in one fused native pass per parameter, computed in float64 and rounded once; the moments are
    float32 (float64 for float64 parameters, whatever the parameter's 16-bit dtype). Unmasked
    coordinates are never written: they stay bit for bit as they were, weight decay included.
    ``lr``, ``betas``, ``eps`` and ``weight_decay`` may differ between parameter groups and be
    changed by LR schedulers, as in torch.

    A non-finite masked gradient is a ValueError from :meth:`step` naming the parameters, raised
    before anything changes (like :class:`mlprims.mfac.MFAC`; mixed-precision training with
    GradScaler skips such steps before they get here). Parameters without a gradient are skipped.

    :meth:`set_mask` changes a parameter's mask between steps: coordinates that stay selected keep
    their moments, new ones start at zero, and the step count (bias correction) goes on.
    ``state_dict()`` holds the moments and the masks they belong to, as plain tensors (it loads
    with ``torch.load(..., weights_only=True)``); ``load_state_dict()`` restores both (the masks
    given to the constructor are replaced by the saved ones).

    Examples
    --------
    >>> import torch
    >>> from mlprims import sparse
    >>> w = torch.nn.Parameter(torch.ones(4, 4))
    >>> mask = sparse.Mask.from_bool(torch.eye(4, dtype=torch.bool))     # train the diagonal
    >>> opt = sparse.MaskedAdam([w], [mask], lr=0.1, weight_decay=0.0)
    >>> w.grad = torch.ones(4, 4); opt.step()
    >>> w.diagonal(), w[0, 1].item()
    (tensor([0.9000, 0.9000, 0.9000, 0.9000], grad_fn=<DiagonalBackward0>), 1.0)
    >>> opt.state[w]["exp_avg"].shape                                   # compact: 4 moments, not 16
    torch.Size([4])
    """

    def __init__(self, params, masks, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2):
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
        super().__init__(params, defaults)
        for group in self.param_groups:
            self._check_group(group)
        self._masks = dict(zip(_all_parameters(self), _mask_list("sparse.MaskedAdam", _all_parameters(self), masks)))

    @staticmethod
    def _check_group(group: dict) -> None:
        function = "sparse.MaskedAdam"
        check_real(function, "lr", group["lr"], minimum=0.0)
        betas = group["betas"]
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise TypeError(f"{function}: 'betas' must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            check_real(function, f"betas[{i}]", beta, minimum=0.0, maximum=1.0, include_maximum=False)
        check_real(function, "eps", group["eps"], minimum=0.0)
        check_real(function, "weight_decay", group["weight_decay"], minimum=0.0)

    def add_param_group(self, param_group: dict) -> None:
        """Adds a parameter group; its masks come in the group's ``"masks"`` entry (a list in the
        group's parameter order, or a dict keyed by its parameters; absent: every coordinate)."""
        masks = param_group.pop("masks", None) if isinstance(param_group, dict) else None
        super().add_param_group(param_group)
        if not hasattr(self, "_masks"):  # the constructor's groups: their masks come from 'masks'
            if masks is not None:
                raise ValueError("sparse.MaskedAdam: give the masks of the constructor's parameter groups in its "
                                 "'masks' argument, not in a group's 'masks' entry")
            return
        group = self.param_groups[-1]
        try:
            self._check_group(group)
            params = group["params"]
            self._masks.update(zip(params, _mask_list("sparse.MaskedAdam.add_param_group", params,
                                                      [None] * len(params) if masks is None else masks)))
        except (TypeError, ValueError):
            self.param_groups.pop()  # nothing half-added
            raise

    def mask(self, param: torch.Tensor) -> Mask | None:
        """The mask of a parameter (None: every coordinate)."""
        return self._masks[param]

    def _moments_dtype(self, param: torch.Tensor) -> torch.dtype:
        return torch.float64 if param.dtype == torch.float64 else torch.float32

    def _nnz(self, param: torch.Tensor) -> int:
        mask = self._masks[param]
        return param.numel() if mask is None else mask.nnz

    def set_mask(self, param: torch.Tensor, mask: Mask | None) -> None:
        """Train `mask`'s coordinates of `param` from the next step; moments of the coordinates in
        both the old and the new mask are kept, the others start at zero."""
        function = "sparse.MaskedAdam.set_mask"
        if param not in self._masks:
            raise ValueError(f"{function}: 'param' is not one of this optimizer's parameters")
        mask = check_mask(function, "mask", mask, tuple(param.shape))
        state = self.state.get(param)
        if state and "exp_avg" in state:
            old = _positions64(self._masks[param], param.numel())
            new = _positions64(mask, param.numel())
            where = torch.searchsorted(old, new).clamp_(max=max(len(old) - 1, 0))
            kept = (old[where] == new) if len(old) else torch.zeros(len(new), dtype=torch.bool)
            for key in ("exp_avg", "exp_avg_sq"):
                moment = torch.zeros(len(new), dtype=state[key].dtype)
                moment[kept] = state[key][where[kept]]
                state[key] = moment
        self._masks[param] = mask

    @torch.no_grad()
    def step(self, closure=None):
        """One masked AdamW step; returns the closure's loss (if a closure was given)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        work = []
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise TypeError("sparse.MaskedAdam: torch sparse gradients are not supported")
                work.append((group, p, p.grad.detach().contiguous()))
        number = {id(p): i for i, p in enumerate(_all_parameters(self))}
        bad = [number[id(p)] for _, p, grad in work if _core.sparse.count_nonfinite(grad, *support_of(self._masks[p])) > 0]
        if bad:
            names = ", ".join(f"parameter {i}" for i in bad)
            raise ValueError(f"sparse.MaskedAdam.step: non-finite masked gradients in {names}; nothing was updated")
        for group, p, grad in work:
            state = self.state[p]
            if "exp_avg" not in state:
                state["step"] = 0
                state["exp_avg"] = torch.zeros(self._nnz(p), dtype=self._moments_dtype(p))
                state["exp_avg_sq"] = torch.zeros(self._nnz(p), dtype=self._moments_dtype(p))
            state["step"] += 1
            beta1, beta2 = group["betas"]
            _core.sparse.masked_adam_step(
                p.detach(), grad, *support_of(self._masks[p]), exp_avg=state["exp_avg"],
                exp_avg_sq=state["exp_avg_sq"], lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2),
                eps=float(group["eps"]), weight_decay=float(group["weight_decay"]), step=int(state["step"]))
        return loss

    def state_dict(self) -> dict:
        saved = super().state_dict()
        saved["masks"] = [_mask_state(self._masks[p]) for p in _all_parameters(self)]
        return saved

    def load_state_dict(self, state_dict: dict) -> None:
        function = "sparse.MaskedAdam.load_state_dict"
        masks = state_dict.get("masks")
        if masks is None:
            raise ValueError(f"{function}: 'state_dict' has no 'masks' (not a MaskedAdam state?)")
        params = _all_parameters(self)
        masks = _mask_list(function, params, [_mask_from_state(function, m) for m in masks])
        # torch casts floating state to the parameter's dtype: keep the float32 moments of 16-bit
        # parameters as they were saved.
        saved_ids = [i for group in state_dict["param_groups"] for i in group["params"]]
        moments = {saved: {k: v for k, v in state_dict["state"].get(saved, {}).items() if k.startswith("exp_avg")}
                   for saved in saved_ids}
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "masks"})
        for saved, p in zip(saved_ids, params):
            for key, value in moments[saved].items():
                self.state[p][key] = value.detach().to(dtype=self._moments_dtype(p), device="cpu").clone()
        self._masks = dict(zip(params, masks))
        for p in params:
            state = self.state.get(p, {})
            if "exp_avg" in state and state["exp_avg"].numel() != self._nnz(p):
                raise ValueError(f"{function}: the moments of a parameter do not match its mask")


class ZerothOrderSGD(torch.optim.Optimizer):
    """Zeroth-order SGD on masked coordinates: MeZO (Malladi et al. 2023) and Sparse MeZO (Liu et
    al. 2024), in O(1) extra memory.

    :meth:`step` takes a ``closure`` that returns the loss (a number or a 0-d tensor; it is called
    under ``torch.no_grad()``, and must not call backward). With a step seed s and z the normal of
    :func:`masked_perturb_` for s, each step does

        theta += eps z;  l+ = closure();  theta -= 2 eps z;  l- = closure();  theta += eps z
        g = (l+ - l-) / (2 eps)
        theta = (1 - lr weight_decay) theta - lr g z          (on the masked coordinates)

    z is regenerated from s four times and never stored. ``masks``: None (every coordinate), a
    list with a Mask or None per parameter, or a callable ``mask_fn(param) -> Mask | None``
    evaluated at the start of every step on the unperturbed weights (Sparse MeZO's rule on |theta|,
    e.g. ``lambda p: sparse.Mask.below(p, 1e-2)``). Step t uses the seed ``stream(seed, t)``, so a
    run is reproducible from ``seed``. Restoring theta is not exact: the three passes round three
    times (as in MeZO's reference code), so about half of the perturbed coordinates end up a unit
    or two in the last place away from where they started (measured: at most 1.25 ulp of
    max(|theta|, 2 eps |z|)), even with lr = 0. A parameter group with lr = 0 is still perturbed;
    leave frozen parameters out of the optimizer. ``last_projected_grad`` holds the latest g; the
    step returns l+.

    16-bit parameters: theta + eps z is rounded to the parameter's dtype, so eps must be well above
    the weights' spacing (|theta| 2^-8 for bfloat16, 2^-11 for float16) for l+ - l- to measure the
    directional derivative; at MeZO's eps = 1e-3 on weights of order 1 it does not. Train float32
    (or float64) parameters, or a float32 copy of the masked coordinates.

    Examples
    --------
    >>> import torch
    >>> from mlprims import sparse
    >>> w = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    >>> target = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    >>> opt = sparse.ZerothOrderSGD([w], lr=0.05, eps=1e-3, seed=0)
    >>> losses = [opt.step(lambda: float(((w - target) ** 2).sum())) for _ in range(300)]
    >>> losses[-1] < 0.05 * losses[0]
    True
    """

    def __init__(self, params, lr: float = 1e-6, eps: float = 1e-3, weight_decay: float = 0.0, masks=None,
                 seed: int | None = None):
        function = "sparse.ZerothOrderSGD"
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay})
        check_real(function, "eps", eps, minimum=0.0, include_minimum=False)
        self.eps = float(eps)
        for group in self.param_groups:
            check_real(function, "lr", group["lr"], minimum=0.0)
            check_real(function, "weight_decay", group["weight_decay"], minimum=0.0)
        params = _all_parameters(self)
        self._mask_fn = masks if callable(masks) else None
        # _mask_list also checks the parameters (dtype, contiguity), up front for every form of masks.
        checked = _mask_list(function, params, [None] * len(params) if masks is None or self._mask_fn is not None else masks)
        self._masks = checked if self._mask_fn is None else None
        self.seed = int(np.random.default_rng().integers(0, 2**63)) if seed is None else _check_seed(function, seed)
        self.steps = 0
        self.last_projected_grad = None

    def _current_masks(self, params: list) -> list:
        if self._mask_fn is None:
            return self._masks
        return [check_mask("sparse.ZerothOrderSGD", f"mask_fn(params[{i}])", self._mask_fn(p.detach()), tuple(p.shape))
                for i, p in enumerate(params)]

    @torch.no_grad()
    def step(self, closure):
        """One MeZO step (see the class docstring); returns the loss at theta + eps z."""
        if closure is None or not callable(closure):
            raise TypeError("sparse.ZerothOrderSGD.step: 'closure' must be a callable that returns the loss")
        params = _all_parameters(self)
        pairs = [(p.detach(), m) for p, m in zip(params, self._current_masks(params))]
        seed = _core.sparse.stream_seed(self.seed, self.steps)
        eps = self.eps

        def loss_at(offset: float) -> float:
            """The closure's loss at theta + offset z; theta is put back (to rounding) if it raises."""
            try:
                loss = closure()
                try:
                    return float(loss)
                except (TypeError, ValueError, RuntimeError):
                    shape = f" of shape {tuple(loss.shape)}" if hasattr(loss, "shape") else ""
                    raise TypeError("sparse.ZerothOrderSGD.step: 'closure' must return a number or a one-element "
                                    f"tensor, got {type(loss).__name__}{shape}") from None
            except BaseException:
                perturb_each(pairs, seed, -offset)
                raise

        perturb_each(pairs, seed, eps)
        loss_plus = loss_at(eps)
        perturb_each(pairs, seed, -2.0 * eps)
        loss_minus = loss_at(-eps)
        perturb_each(pairs, seed, eps)
        projected_grad = (loss_plus - loss_minus) / (2.0 * eps)
        if not np.isfinite(projected_grad):
            raise ValueError(f"sparse.ZerothOrderSGD.step: the loss is not finite (l+ = {loss_plus}, "
                             f"l- = {loss_minus}); the weights were restored (up to rounding, see the class "
                             "docstring) and not updated")
        groups = [group for group in self.param_groups for _ in group["params"]]
        for i, ((storage, mask), group) in enumerate(zip(pairs, groups)):
            _core.sparse.masked_perturb(storage, *support_of(mask), seed=parameter_seed(seed, i),
                                        scale=-group["lr"] * projected_grad,
                                        decay=1.0 - group["lr"] * group["weight_decay"])
        self.steps += 1
        self.last_projected_grad = projected_grad
        return loss_plus

    def state_dict(self) -> dict:
        saved = super().state_dict()
        saved["zeroth_order"] = {"seed": self.seed, "steps": self.steps, "eps": self.eps}
        return saved

    def load_state_dict(self, state_dict: dict) -> None:
        extra = state_dict.get("zeroth_order")
        if extra is None:
            raise ValueError("sparse.ZerothOrderSGD.load_state_dict: 'state_dict' has no 'zeroth_order' entry")
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "zeroth_order"})
        self.seed, self.steps, self.eps = int(extra["seed"]), int(extra["steps"]), float(extra["eps"])

