"""``sparse.Mask``: the coordinates of one tensor that masked training touches, kept compact (the
encoding of a SparseDelta's support, without values)."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from . import sparse
from ._arrays import as_array, dtype_name, empty_like, is_tensor, torch_module
from ._native import _core
from ._validation import check_integer, check_real

__all__ = ["Mask"]


def _tensor_or_array(function: str, name: str, value: Any):
    """A numpy array or a torch tensor (detached) in CPU memory, of any dtype."""
    if not (is_tensor(value) or isinstance(value, np.ndarray)):
        raise TypeError(f"{function}: '{name}' must be a numpy array or a torch tensor, got {type(value).__name__}")
    if is_tensor(value):
        if value.device.type != "cpu":
            raise TypeError(f"{function}: '{name}' must be in CPU memory (the CUDA back end of sparse is not built "
                            f"yet), got a tensor on {value.device}")
        value = value.detach()
    return value


class Mask:
    """The selected coordinates of one tensor: ascending flat ``indices`` (int32 below 2**31
    elements, else int64) or a ``bitmask`` (uint8, bit ``p % 8`` of byte ``p // 8``), whichever is
    smaller, as in :class:`SparseDelta`.

    Build one from a delta's support (:meth:`from_delta`), a boolean tensor (:meth:`from_bool`),
    a threshold on |W| (:meth:`below`: SaRA's rule, :meth:`above`) or the exact top-k of a score
    (:meth:`topk`). ``nnz``, ``numel``, ``density``, ``encoding``, ``nbytes``; :meth:`gather` reads
    the masked values of a tensor into a compact vector (rank order = ascending position) and
    :meth:`scatter_` writes them back. Masks live in CPU memory, like the rest of ``sparse`` so far.

    Examples
    --------
    >>> import numpy as np
    >>> from mlprims import sparse
    >>> W = np.array([[0.5, -0.25], [0.125, 3.0]])
    >>> mask = sparse.Mask.below(W, 0.3)           # SaRA: the small weights
    >>> mask.nnz, mask.positions()
    (2, array([1, 2], dtype=int32))
    >>> values = mask.gather(W); values
    array([-0.25 ,  0.125])
    >>> mask.scatter_(W, values * 2)
    array([[ 0.5 , -0.5 ],
           [ 0.25,  3.  ]])
    """

    def __init__(self, shape, *, indices=None, bitmask=None):
        function = "sparse.Mask"
        if (indices is None) == (bitmask is None):
            raise ValueError(f"{function}: give exactly one of 'indices' and 'bitmask'")
        if isinstance(shape, numbers.Integral):
            shape = (shape,)
        integers = isinstance(shape, (tuple, list)) and all(  # torch.Size is a tuple
            isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in shape)
        if not integers:
            raise TypeError(f"{function}: 'shape' must be a tuple of integers, got {shape!r}")
        if any(s < 0 for s in shape):
            raise ValueError(f"{function}: 'shape' must have non-negative sizes, got {tuple(shape)}")
        self.shape = tuple(int(s) for s in shape)
        self.indices = None if indices is None else sparse._contiguous(_tensor_or_array(function, "indices", indices))
        self.bitmask = None if bitmask is None else sparse._contiguous(_tensor_or_array(function, "bitmask", bitmask))
        support = self.indices if self.indices is not None else self.bitmask
        if support.ndim != 1:
            raise ValueError(f"{function}: '{self.encoding}' must be one-dimensional, got shape {tuple(support.shape)}")
        self.nnz = int(_core.sparse.check_support(self.encoding, support, self.numel))

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def density(self) -> float:
        return self.nnz / self.numel if self.numel else 0.0

    @property
    def encoding(self) -> str:
        return "indices" if self.indices is not None else "bitmask"

    @property
    def nbytes(self) -> int:
        return int((self.indices if self.indices is not None else self.bitmask).nbytes)

    def _support(self):
        """(encoding, positions) as the native functions take them."""
        return self.encoding, (self.indices if self.indices is not None else self.bitmask)

    # ---- Construction ----------------------------------------------------------------------------

    @classmethod
    def _encoded(cls, shape, like, nnz: int, write_indices, write_bitmask) -> Mask:
        """A mask of nnz coordinates in the smaller encoding, its arrays made like `like`."""
        numel = math.prod(shape)
        if sparse._bitmask_is_smaller(numel, nnz):
            bitmask = empty_like(like, ((numel + 7) // 8,), "uint8")
            write_bitmask(bitmask)
            return cls(shape, bitmask=bitmask)
        indices = empty_like(like, (nnz,), sparse._index_dtype(numel))
        write_indices(indices)
        return cls(shape, indices=indices)

    @classmethod
    def from_delta(cls, delta) -> Mask:
        """The support of a :class:`SparseDelta` (its arrays are shared, not copied)."""
        if not isinstance(delta, sparse.SparseDelta):
            raise TypeError(f"sparse.Mask.from_delta: 'delta' must be a SparseDelta, got {type(delta).__name__}")
        return cls(delta.shape, indices=delta.indices, bitmask=delta.bitmask)

    @classmethod
    def from_bool(cls, selected) -> Mask:
        """The True entries of a boolean array or tensor (any shape)."""
        function = "sparse.Mask.from_bool"
        selected = _tensor_or_array(function, "selected", as_array(function, "selected", selected))
        if dtype_name(selected) != "bool":
            raise TypeError(f"{function}: 'selected' must have dtype bool, got {dtype_name(selected)}")
        shape = tuple(selected.shape)
        flat = np.ascontiguousarray((selected.numpy() if is_tensor(selected) else selected).reshape(-1))
        positions = np.flatnonzero(flat)

        def convert(array):
            return torch_module().from_numpy(array) if is_tensor(selected) else array

        def write_indices(indices):
            indices[...] = convert(positions.astype(dtype_name(indices)))

        def write_bitmask(bitmask):
            bitmask[...] = convert(np.packbits(flat, bitorder="little"))

        return cls._encoded(shape, selected, len(positions), write_indices, write_bitmask)

    @classmethod
    def _threshold(cls, function: str, W, threshold, below: bool) -> Mask:
        W = sparse._weights(function, "W", W)
        threshold = check_real(function, "threshold", threshold, finite=False)
        plan = _core.sparse.ThresholdSelection(W.reshape(-1), threshold, below=below)
        return cls._encoded(tuple(W.shape), W, plan.nnz, plan.write, plan.write_bitmask)

    @classmethod
    def below(cls, W, threshold: float) -> Mask:
        """The coordinates where |W| < threshold (SaRA trains those; compared in float64, NaN
        excluded), found in two passes without a dense boolean tensor."""
        return cls._threshold("sparse.Mask.below", W, threshold, True)

    @classmethod
    def above(cls, W, threshold: float) -> Mask:
        """The coordinates where |W| > threshold (compared in float64, NaN excluded)."""
        return cls._threshold("sparse.Mask.above", W, threshold, False)

    @classmethod
    def topk(cls, score, k: int | None = None, *, density: float | None = None) -> Mask:
        """The k coordinates of largest |score| (exact, ties to the lower position; see
        :func:`topk_abs`), or ``floor(density * numel)`` of them. NaN scores are a ValueError."""
        function = "sparse.Mask.topk"
        score = sparse._weights(function, "score", score)
        numel = math.prod(tuple(score.shape))
        if (k is None) == (density is None):
            raise ValueError(f"{function}: give exactly one of 'k' and 'density'")
        if density is not None:
            k = math.floor(check_real(function, "density", density, minimum=0.0, maximum=1.0) * numel)
        else:
            k = check_integer(function, "k", k, minimum=0, maximum=numel)
        shape = tuple(score.shape)
        if k == 0:
            return cls(shape, indices=empty_like(score, (0,), sparse._index_dtype(numel)))
        indices = sparse.topk_abs(score, k).indices
        if not sparse._bitmask_is_smaller(numel, int(indices.shape[0])):
            return cls(shape, indices=indices)
        bitmask = empty_like(score, ((numel + 7) // 8,), "uint8")
        _core.sparse.indices_to_bitmask(indices, numel, bitmask)
        return cls(shape, bitmask=bitmask)

    # ---- Use -------------------------------------------------------------------------------------

    def _check_target(self, function: str, W):
        W = sparse._weights(function, "W", W)
        if tuple(W.shape) != self.shape:
            raise ValueError(f"{function}: 'W' must have the mask's shape {self.shape}, got {tuple(W.shape)}")
        return W

    def gather(self, W):
        """The masked values of W as a compact (nnz,) array of W's dtype, in ascending position order."""
        target = self._check_target("sparse.Mask.gather", W)
        values = empty_like(target, (self.nnz,), dtype_name(target))
        _core.sparse.gather(target, *self._support(), values)
        return values

    def scatter_(self, W, values):
        """``W[mask] = values`` in place (values rounded once to W's dtype); returns W."""
        function = "sparse.Mask.scatter_"
        if not (is_tensor(W) or isinstance(W, np.ndarray)):
            raise TypeError(f"{function}: 'W' must be a numpy array or a torch tensor (updated in place), got {type(W).__name__}")
        if tuple(W.shape) != self.shape:
            raise ValueError(f"{function}: 'W' must have the mask's shape {self.shape}, got {tuple(W.shape)}")
        if dtype_name(W) not in sparse._STORED:
            raise TypeError(f"{function}: 'W' must have dtype {', '.join(sparse._STORED)}, got {dtype_name(W)}")
        if is_tensor(W) and W.requires_grad:
            raise ValueError(f"{function}: 'W' requires grad; update it under torch.no_grad() or pass W.data")
        values = sparse._weights(function, "values", values)
        target = sparse._contiguous(W)  # positions are row-major: a strided W goes through a copy
        _core.sparse.scatter(target, *self._support(), values)
        if target is not W:
            W[...] = target
        return W

    def positions(self):
        """The coordinates as ascending flat positions."""
        if self.indices is not None:
            return self.indices
        positions = empty_like(self.bitmask, (self.nnz,), sparse._index_dtype(self.numel))
        _core.sparse.bitmask_to_indices(self.bitmask, self.numel, positions)
        return positions

    def to_bool(self):
        """The mask as a dense boolean array of ``shape``."""
        support = self.indices if self.indices is not None else self.bitmask
        dense = np.zeros(self.numel, dtype=bool)
        positions = self.positions()
        dense[positions.numpy() if is_tensor(positions) else positions] = True
        dense = dense.reshape(self.shape)
        return torch_module().from_numpy(dense) if is_tensor(support) else dense

    def __repr__(self) -> str:
        return (f"Mask(shape={self.shape}, nnz={self.nnz}, density={self.density:.4g}, encoding={self.encoding}, "
                f"nbytes={self.nbytes})")


def check_mask(function: str, name: str, mask: Any, shape: tuple) -> Mask | None:
    """A Mask (or None: every coordinate) for a tensor of `shape`."""
    if mask is None:
        return None
    if not isinstance(mask, Mask):
        raise TypeError(f"{function}: '{name}' must be a sparse.Mask or None, got {type(mask).__name__}")
    if mask.shape != tuple(shape):
        raise ValueError(f"{function}: '{name}' has shape {mask.shape}, but its parameter has shape {tuple(shape)}")
    return mask


def support_of(mask: Mask | None):
    """(encoding, positions) for the native functions; None is every coordinate."""
    return ("all", None) if mask is None else mask._support()

