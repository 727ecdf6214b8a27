"""Sparse weight updates: extract the part of a fine-tune that matters, store it compactly, apply
and merge it, in one or two streaming passes over each tensor (the CPU back end; CUDA tensors are
a TypeError until the CUDA back end of ``sparse`` is built).

Conventions, the same for every function here:

* Tensors are numpy arrays or torch CPU tensors of float16, bfloat16 (torch only), float32 or
  float64; positions are flat row-major indices, and "rows" are the last dimension.
* **The delta** of an entry is ``v = tuned - base`` computed in float64 and rounded once to the
  *value dtype*: by default float32 for float16/bfloat16 tensors and float64 for float32/float64
  ones. That is wide enough that ``base + v`` rounds back to ``tuned`` bit for bit wherever
  ``|tuned|`` and ``|base|`` are within a factor 2**16 (16-bit tensors) or 2**28 (float32) of each
  other; elsewhere (an entry driven to almost exactly zero) the error is below 2**-53 |base|.
  ``value_dtype=`` picks a narrower one (``"bfloat16"`` halves a bf16 delta's values, at one
  rounding of v).
* **Magnitude selections** rank ``|v|`` (the stored value), larger first, and among equal
  magnitudes the lower position first: ``k`` entries means exactly k, the same on any machine and
  thread count. They are exact (radix selection on the floats' bits, O(n), no sort).
* **NaN**: a NaN delta counts as changed (``atol`` rules keep it) and can never be ranked: a
  magnitude selection (``select="magnitude"``, ``"breadcrumbs"``, ``merge(method="ties")``) that
  meets one raises ValueError instead of keeping or dropping it silently.
* **Signed zeros**: with ``atol=0`` an entry is changed when its bits differ, so +0 -> -0 is a
  change (of value 0; applying it leaves +0).
* Updates of weights are computed in float64 and rounded once to the weights' dtype (round to
  nearest even).

Training on masked coordinates: :class:`Mask` (the selected coordinates of a tensor, compact),
:class:`MaskedAdam` (AdamW on them with compact moments), :func:`masked_perturb_` and
:class:`ZerothOrderSGD` (MeZO with seed-regenerated directions), :func:`ssd_dampen_` and
:func:`importance` (Selective Synaptic Dampening, for unlearning).

Papers: RL fine-tunes update small subnetworks (Mukherjee et al. 2025), TIES-merging (Yadav et al.
2023), DARE (Yu et al. 2024), Model Breadcrumbs (Davari and Belilovsky 2024).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ._arrays import Array, as_array, as_floating, dtype_name, empty_like, is_tensor
from ._native import _core
from ._result import Result
from ._validation import check_integer, check_real, check_string, resolve_seed

__all__ = [
    "CheckpointSummary",
    "Mask",
    "MaskedAdam",
    "SparseDelta",
    "TensorRow",
    "TopK",
    "UpdateStats",
    "ZerothOrderSGD",
    "apply_",
    "apply_checkpoint",
    "checkpoint_stats",
    "extract",
    "extract_checkpoint",
    "importance",
    "kth_largest_abs",
    "load",
    "masked_perturb_",
    "merge",
    "merge_checkpoints",
    "save",
    "ssd_dampen_",
    "tensor_seed",
    "topk_abs",
    "update_stats",
]

_STORED = ("float16", "bfloat16", "float32", "float64")
_SELECTS = ("magnitude", "random", "breadcrumbs")
_MERGE_METHODS = ("task_arithmetic", "ties", "dare_ties", "breadcrumbs_ties")
_DEFAULT_VALUE_DTYPE = {"float16": "float32", "bfloat16": "float32", "float32": "float64", "float64": "float64"}
_INT32_POSITIONS = 2**31


def _contiguous(array):
    # np.require keeps 0-d arrays 0-d (np.ascontiguousarray makes them 1-d).
    return array.contiguous() if is_tensor(array) else np.require(array, requirements="C")


def _weights(function: str, name: str, value: Any):
    """A C-contiguous float16/bfloat16/float32/float64 array (integers promote to float64)."""
    return _contiguous(as_floating(function, name, value, stored=_STORED))


def _same_layout(function: str, reference, reference_name: str, other, other_name: str) -> None:
    if tuple(other.shape) != tuple(reference.shape) or dtype_name(other) != dtype_name(reference):
        raise ValueError(
            f"{function}: '{other_name}' must have the shape and dtype of '{reference_name}' "
            f"({tuple(reference.shape)}, {dtype_name(reference)}), got {tuple(other.shape)}, {dtype_name(other)}"
        )


def _index_dtype(numel: int) -> str:
    return "int32" if numel <= _INT32_POSITIONS else "int64"


def _bitmask_is_smaller(numel: int, nnz: int) -> bool:
    """Whether a bitmask (numel / 8 bytes) is smaller than the positions' list (4 or 8 bytes each)."""
    return (numel + 7) // 8 < nnz * (4 if numel <= _INT32_POSITIONS else 8)


def _fresh_or_given_seed(function: str, seed: Any) -> int:
    if seed is None:
        return int(resolve_seed(function, None, sampler=True).integers(0, 2**63))
    return resolve_seed(function, seed, sampler=False)


class SparseDelta:
    """One tensor's sparse update: ``values`` at the positions of a support, encoded as ascending
    flat ``indices`` (int32 below 2**31 elements, else int64) or as a ``bitmask`` (uint8, bit
    ``p % 8`` of byte ``p // 8``), whichever is smaller for its density.

    shape, dtype : the tensor's shape and dtype (a string).  values : (nnz,) of ``value_dtype``.
    nnz, numel, density, nbytes (of the arrays stored), encoding ('indices' or 'bitmask').

    Made by :func:`extract` (or from arrays one has, as below) and stored by :func:`save`.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import sparse
    >>> delta = sparse.SparseDelta((2, 3), "float32", np.array([0.5, -1.0]), indices=np.array([1, 5], np.int32))
    >>> delta.nnz, delta.density, delta.encoding
    (2, 0.3333333333333333, 'indices')
    >>> delta.to_dense()
    array([[ 0. ,  0.5,  0. ],
           [ 0. ,  0. , -1. ]])
    """

    def __init__(self, shape, dtype: str, values, *, indices=None, bitmask=None):
        if (indices is None) == (bitmask is None):
            raise ValueError("SparseDelta: give exactly one of 'indices' and 'bitmask'")
        self.shape = tuple(int(s) for s in shape)
        self.dtype = str(dtype)
        self.values = _contiguous(as_array("SparseDelta", "values", values))
        self.indices = None if indices is None else _contiguous(as_array("SparseDelta", "indices", indices))
        self.bitmask = None if bitmask is None else _contiguous(as_array("SparseDelta", "bitmask", bitmask))
        indices, values, bitmask = self.indices, self.values, self.bitmask
        numel = self.numel
        if indices is not None:
            if tuple(indices.shape) != tuple(values.shape):
                raise ValueError(f"SparseDelta: 'indices' {tuple(indices.shape)} and 'values' {tuple(values.shape)} differ in shape")
        elif tuple(bitmask.shape) != ((numel + 7) // 8,):
            raise ValueError(f"SparseDelta: 'bitmask' must have shape ({(numel + 7) // 8},) for shape {self.shape}, got {tuple(bitmask.shape)}")

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nnz(self) -> int:
        return int(self.values.shape[0])

    @property
    def density(self) -> float:
        return self.nnz / self.numel if self.numel else 0.0

    @property
    def value_dtype(self) -> str:
        return dtype_name(self.values)

    @property
    def encoding(self) -> str:
        return "indices" if self.indices is not None else "bitmask"

    @property
    def nbytes(self) -> int:
        support = self.indices if self.indices is not None else self.bitmask
        return int(support.nbytes) + int(self.values.nbytes)

    def positions(self):
        """The support as ascending flat positions (the stored indices, or decoded from the bitmask)."""
        if self.indices is not None:
            return self.indices
        positions = empty_like(self.values, (self.nnz,), _index_dtype(self.numel))
        _core.sparse.bitmask_to_indices(self.bitmask, self.numel, positions)
        return positions

    def to_dense(self, dtype: str | None = None):
        """The delta as a dense array of ``shape`` (zeros off the support), in ``dtype`` (default
        the value dtype), each value rounded once."""
        dtype = dtype or self.value_dtype
        dense = empty_like(self.values, self.shape, dtype)
        dense[...] = 0
        self.apply_(dense)
        return dense

    def apply_(self, W, alpha: float = 1.0):
        """``W += alpha * delta`` in place (see :func:`apply_`); returns W."""
        return apply_(W, self, alpha=alpha)

    def __repr__(self) -> str:
        return (
            f"SparseDelta(shape={self.shape}, dtype={self.dtype}, nnz={self.nnz}, density={self.density:.4g}, "
            f"encoding={self.encoding}, value_dtype={self.value_dtype}, nbytes={self.nbytes})"
        )


def extract(base, tuned, *, k: int | None = None, density: float | None = None, atol: float | None = None,
            select: str = "magnitude", seed: int | None = None, scope: str = "tensor",
            drop_top: float | None = None, keep: float | None = None, value_dtype: str | None = None,
            encoding: str = "auto") -> SparseDelta:
    """The sparse delta of a fine-tuned tensor against its base.

    Which entries (v = tuned - base, see the module docstring):

    * ``atol`` (and neither k nor density): the changed entries. ``atol=0`` (the default when
      nothing else is given): every entry whose bits differ (NaN counts as changed, +0 vs -0 too);
      ``atol > 0``: ``|tuned - base| > atol`` in float64.
    * ``select="magnitude"`` with ``k`` or ``density`` (k = floor(density * n)): exactly the k
      entries of largest |v|, ties to the lower position, by exact O(n) selection; ``scope="row"``
      keeps k (or floor(density * m)) per row of the last dimension.
    * ``select="random"`` (DARE, Yu et al. 2024): each changed entry kept with probability
      ``density`` and rescaled by 1/density; the same ``seed`` keeps the same entries on any
      machine and thread count (``seed=None``: fresh entropy).
    * ``select="breadcrumbs"`` (Davari and Belilovsky 2024): per row of m entries, drop the
      floor(drop_top * m) largest |v| (default drop_top 0.01; none when that floor is 0) and keep
      the next floor(keep * m) (``keep`` defaults to ``density``).

    ``value_dtype``: dtype of the stored values (default: float32 for 16-bit tensors, float64 for
    float32/float64). ``encoding``: 'auto' (the smaller), 'indices' or 'bitmask'.

    Cost: magnitude selection three passes over base and tuned (a histogram, a count that collects
    the keys of the threshold's bucket, the write); the other rules two; row rules one plus
    O(m) per row. Memory: the result, plus at most n/16 keys.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import sparse
    >>> base = np.zeros(8, dtype=np.float32)
    >>> tuned = np.array([0, 3, 0, -5, 1, 0, 0, 2], dtype=np.float32)
    >>> delta = sparse.extract(base, tuned, k=2)          # the 2 largest changes
    >>> delta.positions(), delta.values
    (array([1, 3], dtype=int32), array([ 3., -5.]))
    >>> sparse.extract(base, tuned).nnz                   # every changed entry
    4
    >>> w = base.copy(); delta.apply_(w)                 # tuned where kept, base elsewhere
    array([ 0.,  3.,  0., -5.,  0.,  0.,  0.,  0.], dtype=float32)
    """
    function = "sparse.extract"
    base = _weights(function, "base", base)
    tuned = _weights(function, "tuned", tuned)
    _same_layout(function, base, "base", tuned, "tuned")
    select = check_string(function, "select", select)
    if select not in _SELECTS:
        raise ValueError(f"{function}: 'select' must be one of {', '.join(map(repr, _SELECTS))}, got {select!r}")
    scope = check_string(function, "scope", scope)
    if scope not in ("tensor", "row"):
        raise ValueError(f"{function}: 'scope' must be 'tensor' or 'row', got {scope!r}")
    encoding = check_string(function, "encoding", encoding)
    if encoding not in ("auto", "indices", "bitmask"):
        raise ValueError(f"{function}: 'encoding' must be 'auto', 'indices' or 'bitmask', got {encoding!r}")
    dtype = dtype_name(base)
    value_dtype = _DEFAULT_VALUE_DTYPE[dtype] if value_dtype is None else check_string(function, "value_dtype", value_dtype)
    if value_dtype not in _STORED:
        raise TypeError(f"{function}: 'value_dtype' must be one of {', '.join(_STORED)}, got {value_dtype!r}")
    if value_dtype == "bfloat16" and not is_tensor(base):
        raise TypeError(f"{function}: 'value_dtype' bfloat16 needs torch tensors (numpy has no bfloat16)")
    shape = tuple(base.shape)
    numel = math.prod(shape)
    row_length = shape[-1] if shape else 1

    rule: dict[str, Any] = {"scope": scope}
    if density is not None:
        density = check_real(function, "density", density, minimum=0.0, maximum=1.0, include_minimum=False)
    if k is not None and density is not None:
        raise ValueError(f"{function}: give 'k' or 'density', not both")
    if atol is not None and (k is not None or (density is not None and select == "magnitude")):
        raise ValueError(f"{function}: 'atol' selects the changed entries; it cannot be combined with 'k' or 'density'")
    if select == "magnitude" and k is None and density is None:
        rule.update(select="changed", atol=check_real(function, "atol", 0.0 if atol is None else atol, minimum=0.0, finite=True))
    elif select == "magnitude":
        limit = row_length if scope == "row" else numel
        if k is None:
            k = math.floor(density * limit)
        rule.update(select="magnitude", k=check_integer(function, "k", k, minimum=0, maximum=limit))
    elif select == "random":
        if density is None:
            raise ValueError(f"{function}: select='random' (DARE) needs 'density', the keep probability")
        rule.update(select="random", density=density, seed=_fresh_or_given_seed(function, seed))
    else:
        keep = density if keep is None else keep
        if keep is None:
            raise ValueError(f"{function}: select='breadcrumbs' needs 'keep' (or 'density'), the fraction of each row kept")
        rule.update(select="breadcrumbs",
                    drop_top=check_real(function, "drop_top", 0.01 if drop_top is None else drop_top, minimum=0.0, maximum=1.0),
                    keep=check_real(function, "keep", keep, minimum=0.0, maximum=1.0))
    if scope == "row" and rule["select"] != "magnitude":
        raise ValueError(f"{function}: scope='row' applies to select='magnitude' with k or density")

    plan = _core.sparse.Extraction(base, tuned, value_dtype=value_dtype, **rule)
    nnz = plan.nnz
    values = empty_like(base, (nnz,), value_dtype)
    mask_bytes = (numel + 7) // 8
    if encoding == "bitmask" or (encoding == "auto" and _bitmask_is_smaller(numel, nnz)):
        bitmask = empty_like(base, (mask_bytes,), "uint8")
        plan.write_bitmask(bitmask, values)
        return SparseDelta(shape, dtype, values, bitmask=bitmask)
    indices = empty_like(base, (nnz,), _index_dtype(numel))
    plan.write(indices, values)
    return SparseDelta(shape, dtype, values, indices=indices)


def apply_(W, delta: SparseDelta, alpha: float = 1.0):
    """``W += alpha * delta`` in place, entry by entry computed in float64 and rounded once to
    W's dtype (float16, bfloat16, float32 or float64; it need not be the delta's). W must be a
    array of the delta's shape (a strided one is updated through a contiguous copy). Returns W.

    The support is checked first (positions strictly ascending and in range, or a bitmask with as
    many bits as values): a corrupted delta is a ValueError and W is left untouched.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import sparse
    >>> delta = sparse.extract(np.zeros(4), np.array([0.0, 2.0, 0.0, 4.0]))
    >>> sparse.apply_(np.ones(4), delta, alpha=0.5)
    array([1., 2., 1., 3.])
    """
    function = "sparse.apply_"
    if not isinstance(delta, SparseDelta):
        raise TypeError(f"{function}: 'delta' must be a SparseDelta, got {type(delta).__name__}")
    if not (is_tensor(W) or isinstance(W, np.ndarray)):
        raise TypeError(f"{function}: 'W' must be a numpy array or a torch tensor (updated in place), got {type(W).__name__}")
    if tuple(W.shape) != delta.shape:
        raise ValueError(f"{function}: 'W' must have the delta's shape {delta.shape}, got {tuple(W.shape)}")
    alpha = check_real(function, "alpha", alpha, finite=True)
    if is_tensor(W) and W.requires_grad:
        raise ValueError(f"{function}: 'W' requires grad; update it under torch.no_grad() or pass W.data")
    # Positions are row-major: a strided W is updated through a contiguous copy.
    target = _contiguous(W)
    if delta.indices is not None:
        _core.sparse.apply_indices(target, delta.indices, delta.values, alpha)
    else:
        _core.sparse.apply_bitmask(target, delta.bitmask, delta.values, alpha)
    if target is not W:
        W[...] = target
    return W


@dataclass(frozen=True)
class TopK(Result):
    """The k entries of largest magnitude, in position order (what :func:`topk_abs` returns);
    unpacks as ``values, indices``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import sparse
    >>> values, indices = sparse.topk_abs(np.array([1.0, -4.0, 2.0]), 2)
    >>> values, indices
    (array([-4.,  2.]), array([1, 2], dtype=int32))
    """

    _unpacks_as: ClassVar[tuple[str, ...]] = ("values", "indices")

    values: Array
    indices: Array


def topk_abs(x, k: int) -> TopK:
    """The k entries of largest |x| (exact; ties to the lower position), as ``(values, indices)``
    in ascending position order (flat indices; int32 below 2**31 elements, else int64). O(n),
    multithreaded, any size that fits in memory; NaN is a ValueError. Unlike ``torch.topk`` the
    result is not sorted by magnitude: sort the k values if that order is needed.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import sparse
    >>> top = sparse.topk_abs(np.array([[3.0, -7.0], [1.0, 7.0]]), 2)
    >>> top.values, top.indices
    (array([-7.,  7.]), array([1, 3], dtype=int32))
    """
    function = "sparse.topk_abs"
    x = _weights(function, "x", x)
    numel = math.prod(tuple(x.shape))
    k = check_integer(function, "k", k, minimum=1, maximum=max(1, numel))
    indices = empty_like(x, (k,), _index_dtype(numel))
    values = empty_like(x, (k,), dtype_name(x))
    _core.sparse.topk_abs(x.reshape(-1), k, indices=indices, values=values)
    return TopK(values, indices)


def kth_largest_abs(x, k: int) -> float:
    """The k-th largest |x| (k = 1 is the largest), exact, in O(n); NaN is a ValueError.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import sparse
    >>> sparse.kth_largest_abs(np.array([3.0, -7.0, 1.0, 5.0]), 2)
    5.0
    """
    function = "sparse.kth_largest_abs"
    x = _weights(function, "x", x)
    k = check_integer(function, "k", k, minimum=1, maximum=max(1, math.prod(tuple(x.shape))))
    return _core.sparse.kth_largest_abs(x.reshape(-1), k)


@dataclass(frozen=True)
class UpdateStats(Result):
    """How much a tensor changed: ``changed`` entries (bits differ at atol 0, else |v| > atol; NaN
    counts), their ``fraction`` of ``numel``, ``nan`` deltas, and ``max_abs``/``mean_abs`` of |v| over
    the entries whose delta is not NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import sparse
    >>> stats = sparse.update_stats(np.zeros(4), np.array([0.0, 1.0, 0.0, -3.0]))
    >>> stats.changed, stats.fraction, stats.max_abs, stats.mean_abs
    (2, 0.5, 3.0, 1.0)
    """

    numel: int
    changed: int
    fraction: float
    nan: int
    max_abs: float
    mean_abs: float


def update_stats(base, tuned, *, atol: float = 0.0) -> UpdateStats:
    """Changed count and fraction (bitwise when atol = 0), NaN count, max and mean |tuned - base|,
    in one pass.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import sparse
    >>> sparse.update_stats(np.zeros(3), np.array([0.0, 1e-6, 1.0]), atol=1e-5).changed
    1
    """
    function = "sparse.update_stats"
    base = _weights(function, "base", base)
    tuned = _weights(function, "tuned", tuned)
    _same_layout(function, base, "base", tuned, "tuned")
    atol = check_real(function, "atol", atol, minimum=0.0, finite=True)
    s = _core.sparse.update_stats(base, tuned, atol)
    fraction = s["changed"] / s["numel"] if s["numel"] else 0.0
    return UpdateStats(s["numel"], s["changed"], fraction, s["nan"], s["max_abs"], s["mean_abs"])


def merge(base, tuned_list, *, method: str = "ties", weights=None, density: float | None = None,
          divisor: str = "weights", seed: int | None = None, drop_top: float | None = None,
          keep: float | None = None, out=None):
    """Merge fine-tunes of one base: ``base + merged(tuned_t - base)``, computed in float64 and
    rounded once to base's dtype.

    * ``"task_arithmetic"``: the weighted sum of the task vectors.
    * ``"ties"`` (Yadav et al. 2023): trim each task vector to its floor(density * n) largest
      entries (exact, ties to the lower position), elect each entry's sign from the weighted sum
      of the trimmed vectors (a zero sum elects +), and average the agreeing entries:
      sum(w_t v_t) / divisor, ``divisor="weights"`` the sum of their weights (mergekit) or
      ``"count"`` their number (peft); zero where none agrees.
    * ``"dare_ties"``: trim by DARE (keep each changed entry with probability density, rescaled by
      1/density; task t uses seed + t), then as TIES.
    * ``"breadcrumbs_ties"``: trim each row by breadcrumbs (drop_top, keep; see :func:`extract`),
      then as TIES.

    The sign is elected on the weighted vectors (mergekit's rule; peft elects on the unweighted
    ones, the same when the weights are equal). ``out`` may be ``base`` itself (merged in place)
    but no tuned tensor. Cost: per task one selection (two passes over base and the task) for
    TIES, none for DARE; then one pass over all inputs. No dense copy of any task vector is made.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import sparse
    >>> base = np.zeros(4)
    >>> a, b = np.array([1.0, -2.0, 3.0, 0.0]), np.array([3.0, 1.5, -1.0, 0.5])
    >>> sparse.merge(base, [a, b], method="task_arithmetic", weights=[0.5, 0.5])
    array([ 2.  , -0.25,  1.  ,  0.25])
    >>> sparse.merge(base, [a, b], method="ties", density=0.5)  # a keeps -2, 3; b keeps 3, 1.5
    array([ 3., -2.,  3.,  0.])
    """
    function = "sparse.merge"
    base = _weights(function, "base", base)
    if not isinstance(tuned_list, (list, tuple)) or not tuned_list:
        raise ValueError(f"{function}: 'tuned_list' must be a non-empty list of tensors, got {type(tuned_list).__name__}")
    tuned = []
    for t, item in enumerate(tuned_list):
        array = _weights(function, f"tuned_list[{t}]", item)
        _same_layout(function, base, "base", array, f"tuned_list[{t}]")
        tuned.append(array)
    method = check_string(function, "method", method)
    if method not in _MERGE_METHODS:
        raise ValueError(f"{function}: 'method' must be one of {', '.join(map(repr, _MERGE_METHODS))}, got {method!r}")
    divisor = check_string(function, "divisor", divisor)
    if divisor not in ("weights", "count"):
        raise ValueError(f"{function}: 'divisor' must be 'weights' or 'count', got {divisor!r}")
    if weights is None:
        weights = [1.0] * len(tuned)
    weights = [check_real(function, f"weights[{t}]", w, finite=True) for t, w in enumerate(weights)]
    if len(weights) != len(tuned):
        raise ValueError(f"{function}: 'weights' must have one entry per tuned tensor ({len(tuned)}), got {len(weights)}")
    if density is not None:
        density = check_real(function, "density", density, minimum=0.0, maximum=1.0, include_minimum=False)
    if method in ("ties", "dare_ties") and density is None:
        raise ValueError(f"{function}: method={method!r} needs 'density', the fraction of each task vector kept")
    if method == "breadcrumbs_ties":
        keep = density if keep is None else keep
        if keep is None:
            raise ValueError(f"{function}: method='breadcrumbs_ties' needs 'keep' (or 'density')")
        keep = check_real(function, "keep", keep, minimum=0.0, maximum=1.0)
    drop_top = check_real(function, "drop_top", 0.01 if drop_top is None else drop_top, minimum=0.0, maximum=1.0)
    seed = _fresh_or_given_seed(function, seed) if method == "dare_ties" else 0
    if out is None:
        out = empty_like(base, tuple(base.shape), dtype_name(base))
    else:
        if not (is_tensor(out) or isinstance(out, np.ndarray)):
            raise TypeError(f"{function}: 'out' must be a numpy array or a torch tensor, got {type(out).__name__}")
        _same_layout(function, base, "base", out, "out")
    _core.sparse.merge(base, tuned, out=out, method=method, weights=weights, density=1.0 if density is None else density,
                       divisor=divisor, seed=seed, drop_top=drop_top, keep=0.0 if keep is None else keep)
    return out


# The checkpoint level (delta files, sharded folders, dicts), written over the functions above.
from ._sparse_checkpoint import (  # noqa: E402
    CheckpointSummary,
    TensorRow,
    apply_checkpoint,
    checkpoint_stats,
    extract_checkpoint,
    load,
    merge_checkpoints,
    save,
    tensor_seed,
)

# Training and unlearning on masked coordinates.
from ._sparse_mask import Mask  # noqa: E402
from ._sparse_updates import importance, masked_perturb_, ssd_dampen_  # noqa: E402


def __getattr__(name: str):
    # The optimizers subclass torch.optim.Optimizer: importing them imports torch, on first use only.
    if name in ("MaskedAdam", "ZerothOrderSGD"):
        from . import _sparse_optim

        return getattr(_sparse_optim, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
