"""References shared by the sparse tests: float64 views, raw bit patterns, and rounding float64
values once to a storage dtype (bfloat16 included, which torch's own conversion rounds twice)."""

from __future__ import annotations

import numpy as np
import torch


def to64(array) -> np.ndarray:
    if isinstance(array, torch.Tensor):
        return array.detach().double().numpy().copy()
    return np.asarray(array, dtype=np.float64)


def bits(array) -> np.ndarray:
    """The raw bit patterns of an array (numpy or torch, any float dtype) as unsigned integers."""
    if isinstance(array, torch.Tensor):
        width = {2: torch.int16, 4: torch.int32, 8: torch.int64}[array.element_size()]
        return array.contiguous().view(width).numpy().view(f"u{array.element_size()}")
    return array.view(f"u{array.dtype.itemsize}")


def round_to(values64: np.ndarray, dtype: str):
    """float64 values rounded once (to nearest, ties to even) to `dtype`, as a torch tensor.
    bfloat16: rounded on the float64 bit pattern to 8 significant bits (exact for normal numbers,
    which is all the tests produce), then converted without further rounding."""
    values64 = np.asarray(values64, dtype=np.float64)
    if dtype == "bfloat16":
        raw = values64.view(np.uint64)
        shift = np.uint64(45)  # 52 - 7 stored fraction bits
        rounded = ((raw + np.uint64((1 << 44) - 1) + ((raw >> shift) & np.uint64(1))) >> shift) << shift
        rounded = np.where(np.isfinite(values64), rounded, raw).view(np.float64)
        return torch.from_numpy(rounded.astype(np.float32)).to(torch.bfloat16)
    return torch.from_numpy(values64.astype(dtype))
