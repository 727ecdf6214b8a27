"""Array arguments of the Python API: numpy arrays and torch tensors taken as they are, lists and
DLPack objects converted, dtypes checked and widened, with errors that name the argument."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._interop import is_tensor, torch_module


def describe(value: Any) -> str:
    return type(value).__module__ + "." + type(value).__qualname__


def as_array(function: str, name: str, value: Any):
    """`value` as a numpy array or a torch tensor (detached), converting lists and DLPack objects."""
    if is_tensor(value):
        return value.detach()
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)):
        return np.asarray(value)
    if hasattr(value, "__dlpack__"):
        device_type, _ = value.__dlpack_device__()
        if device_type in (1, 3):
            return np.from_dlpack(value)
        import torch

        return torch.from_dlpack(value)
    raise TypeError(f"{function}: '{name}' must be a numpy array or a torch tensor, got {describe(value)}")


def dtype_name(array) -> str:
    return str(array.dtype).replace("torch.", "")


def as_floating(function: str, name: str, array, allowed=("float32", "float64")):
    """The array in a dtype the core reads: floating types in `allowed` kept as they are, float16
    and bfloat16 (unless allowed) widened to float32, integers and bool to float64; others TypeError."""
    dtype = dtype_name(array)
    if dtype in allowed:
        return array
    if dtype.startswith("complex"):
        raise TypeError(f"{function}: '{name}' must be real, got complex dtype {dtype}")
    if dtype in ("float16", "bfloat16"):
        target = "float32"
    elif dtype == "bool" or dtype.startswith(("int", "uint")):
        target = "float64"
    else:
        raise TypeError(f"{function}: '{name}' must hold real numbers, got dtype {dtype}")
    if is_tensor(array):
        return array.to(getattr(torch_module(), target))
    return array.astype(target)
