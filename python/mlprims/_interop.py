"""Argument normalization shared by the Python wrappers.

Inputs may be numpy arrays, torch tensors (CPU or CUDA), Python scalars and lists, or any object
with ``__dlpack__``. The native core reads them without copies through DLPack; results are
allocated here with the caller's own library (numpy or torch) on the caller's device, and the
core writes into them, so nothing is copied on the way out either.

Rules (the same for every function):

* Python scalars are "weak": they take the dtype of the array arguments (float64 if none).
* float16, bfloat16 and float32 arrays compute in float32; float64, integer and bool arrays
  compute in float64. Complex or non-numeric data is a TypeError naming the argument.
* torch tensors make the result a torch tensor on their device; all tensors must share one
  device (ValueError otherwise). numpy arrays mix with CPU tensors only.
* Other ``__dlpack__`` objects are viewed through ``numpy.from_dlpack`` (CPU) or
  ``torch.from_dlpack`` (CUDA) and the result comes back as numpy or torch respectively.
"""

from __future__ import annotations

import numbers
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Prepared", "broadcast_shape", "check_out", "is_tensor", "prepare", "torch_module"]

_CPU = ("cpu", 0)


def torch_module():
    """The torch module if it is already imported (mlprims never imports torch itself)."""
    return sys.modules.get("torch")


def is_tensor(value: Any) -> bool:
    torch = torch_module()
    return torch is not None and isinstance(value, torch.Tensor)


def stream_of(array) -> int:
    """The current CUDA stream (as an integer handle) of a CUDA tensor's device; 0 otherwise."""
    if is_tensor(array) and array.device.type == "cuda":
        return int(torch_module().cuda.current_stream(array.device).cuda_stream)
    return 0


def _describe(value: Any) -> str:
    return type(value).__module__ + "." + type(value).__qualname__


def _kind_of_numpy(dtype: np.dtype, function: str, name: str) -> str:
    """'f32' (computes in float32) or 'f64' (float64)."""
    if dtype.kind == "f":
        return "f32" if dtype.itemsize <= 4 else "f64"
    if dtype.kind in "iub":
        return "f64"
    if dtype.kind == "c":
        raise TypeError(f"{function}: '{name}' must be real, got complex dtype {dtype}")
    raise TypeError(f"{function}: '{name}' must hold numbers, got dtype {dtype}")


def _kind_of_torch(tensor, function: str, name: str) -> str:
    torch = torch_module()
    if tensor.is_complex():
        raise TypeError(f"{function}: '{name}' must be real, got complex dtype {tensor.dtype}")
    if tensor.is_floating_point():
        return "f64" if tensor.dtype == torch.float64 else "f32"
    return "f64"  # integers and bool


@dataclass
class Prepared:
    """Arguments converted to one framework, device and floating dtype."""

    arrays: dict[str, Any]
    framework: str  # "numpy" or "torch"
    device: Any  # torch.device for torch, None for numpy
    kind: str  # "f32" or "f64"
    all_scalars: bool

    @property
    def dtype(self):
        if self.framework == "torch":
            torch = torch_module()
            return torch.float32 if self.kind == "f32" else torch.float64
        return np.dtype(np.float32 if self.kind == "f32" else np.float64)

    @property
    def stream(self) -> int:
        """The torch CUDA stream to run on (0 for CPU work)."""
        if self.framework == "torch" and self.device.type == "cuda":
            return int(torch_module().cuda.current_stream(self.device).cuda_stream)
        return 0

    def native(self, name: str):
        """The argument as the native core reads it (torch tensors detached from autograd)."""
        value = self.arrays[name]
        return value.detach() if self.framework == "torch" else value

    def empty(self, shape):
        if self.framework == "torch":
            return torch_module().empty(tuple(shape), dtype=self.dtype, device=self.device)
        return np.empty(tuple(shape), dtype=self.dtype)

    def result(self, out):
        """numpy's convention: 0-d results are returned as scalars."""
        if self.framework == "numpy" and out.ndim == 0:
            return out[()]
        return out


def _from_foreign(value: Any, function: str, name: str):
    """View an object that only speaks DLPack as numpy (CPU) or torch (CUDA)."""
    device_type, _ = value.__dlpack_device__()
    if device_type in (1, 3):  # kDLCPU, kDLCUDAHost
        return np.from_dlpack(value)
    torch = torch_module()
    if torch is None:
        try:
            import torch
        except ImportError as error:
            raise TypeError(
                f"{function}: '{name}' lives on an accelerator (DLPack device {device_type}); "
                "mlprims returns such results as torch tensors, and torch is not installed"
            ) from error
    return torch.from_dlpack(value)


def prepare(function: str, **arguments: Any) -> Prepared:
    """Normalize the named array arguments of `function` (see the module docstring)."""
    torch = torch_module()
    converted: dict[str, Any] = {}
    kinds: list[str] = []
    scalar_names: list[str] = []
    tensor_device = None
    tensor_owner = None
    for name, value in arguments.items():
        if isinstance(value, np.generic):
            value = np.asarray(value)  # numpy scalars keep their dtype, like 0-d arrays
        elif isinstance(value, (bool, numbers.Integral, float)):
            scalar_names.append(name)
            converted[name] = value
            continue
        if isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real):
            raise TypeError(f"{function}: '{name}' must be real, got complex value {value!r}")
        if not (isinstance(value, np.ndarray) or is_tensor(value)):
            if hasattr(value, "__dlpack__"):
                value = _from_foreign(value, function, name)
                torch = torch_module()
            elif isinstance(value, (list, tuple)):
                try:
                    value = np.asarray(value)
                except ValueError as error:
                    raise ValueError(f"{function}: '{name}' is not a rectangular list of numbers: {error}") from None
            else:
                raise TypeError(
                    f"{function}: '{name}' must be a number or an array (numpy, torch, list, or any "
                    f"object with __dlpack__), got {_describe(value)}"
                )
        if is_tensor(value):
            kinds.append(_kind_of_torch(value, function, name))
            if tensor_device is None:
                tensor_device, tensor_owner = value.device, name
            elif value.device != tensor_device:
                raise ValueError(
                    f"{function}: '{name}' is on {value.device} but '{tensor_owner}' is on "
                    f"{tensor_device}; all inputs must be on one device"
                )
        else:
            kinds.append(_kind_of_numpy(value.dtype, function, name))
        converted[name] = value

    kind = "f32" if kinds and all(k == "f32" for k in kinds) else "f64"
    if tensor_device is not None:
        framework = "torch"
        target = torch.float32 if kind == "f32" else torch.float64
        for name, value in converted.items():
            if is_tensor(value):
                converted[name] = value if value.dtype == target else value.to(target)
            elif isinstance(value, np.ndarray):
                if tensor_device.type != "cpu":
                    raise ValueError(
                        f"{function}: '{name}' is a numpy array (on the CPU) but '{tensor_owner}' is on "
                        f"{tensor_device}; all inputs must be on one device"
                    )
                array = np.asarray(value, dtype=np.float32 if kind == "f32" else np.float64)
                converted[name] = torch.from_numpy(array) if array.flags.writeable else torch.as_tensor(array)
            else:
                converted[name] = torch.tensor(value, dtype=target, device=tensor_device)
        device = tensor_device
    else:
        framework = "numpy"
        target = np.float32 if kind == "f32" else np.float64
        for name, value in converted.items():
            converted[name] = np.asarray(value, dtype=target)
        device = None
    return Prepared(converted, framework, device, kind, all_scalars=len(scalar_names) == len(arguments))


def check_out(function: str, prepared: Prepared, out: Any, shape: tuple) -> None:
    """`out` must be an array of the inputs' library, with the result's dtype, shape and device."""
    expected = "torch.Tensor" if prepared.framework == "torch" else "numpy.ndarray"
    if (prepared.framework == "torch") != is_tensor(out) or (prepared.framework == "numpy" and not isinstance(out, np.ndarray)):
        raise TypeError(f"{function}: 'out' must be a {expected} like the inputs, got {_describe(out)}")
    if out.dtype != prepared.dtype:
        raise TypeError(f"{function}: 'out' must have dtype {prepared.dtype}, got {out.dtype}")
    if tuple(out.shape) != tuple(shape):
        raise ValueError(f"{function}: 'out' must have shape {tuple(shape)}, got {tuple(out.shape)}")
    if prepared.framework == "torch" and out.device != prepared.device:
        raise ValueError(f"{function}: 'out' must be on {prepared.device}, got {out.device}")


def broadcast_shape(function: str, prepared: Prepared, *names: str) -> tuple:
    """numpy broadcasting of the named arrays, with a ValueError naming them and their shapes."""
    shapes = [tuple(prepared.arrays[n].shape) for n in names]
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        described = " and ".join(f"'{n}' {s}" for n, s in zip(names, shapes))
        raise ValueError(f"{function}: shapes of {described} cannot be broadcast together") from None
