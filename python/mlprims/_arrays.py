"""The one array normalizer of the Python API: every public function reads its array arguments here.

Inputs may be numpy arrays, torch tensors (CPU or CUDA), Python scalars and lists, or any object
with ``__dlpack__``. The native core reads them without copies through DLPack; results are
allocated with the caller's own library (numpy or torch) on the caller's device, and the core
writes into them, so nothing is copied on the way out either.

Rules (the same for every function):

* :func:`as_array` takes one argument as it is (numpy array, torch tensor) or converts it (numpy
  scalars and lists to numpy arrays; other ``__dlpack__`` objects through ``numpy.from_dlpack``
  on the CPU or ``torch.from_dlpack`` on an accelerator, so their results come back as numpy or
  torch respectively). Anything else is a TypeError naming the argument.
* dtypes (:func:`compute_dtype`): float32 and float64 compute in their own precision; integer and
  bool arrays compute in float64; complex or non-numeric data is a TypeError naming the argument.
  A primitive that stores some arrays in another dtype (bfloat16 gradients) says so with
  ``stored=``.
* Half precision, one policy for every function: float16 and bfloat16 inputs compute in float32
  and results come back in float32. Rounding a result back to half precision would discard
  accuracy the library has computed (and a float16 log-Bessel overflows beyond 65504); a caller
  who wants half precision gets it with one ``.to(dtype)``/``.astype(dtype)``.
* :func:`prepare` (elementwise functions and others with several array arguments): Python scalars
  are "weak", taking the dtype of the array arguments (float64 if none); the arguments compute in
  float32 when all of them do, else in float64. torch tensors make the result a torch tensor on
  their device; all tensors must share one device (ValueError otherwise); numpy arrays mix with
  CPU tensors only.
"""

from __future__ import annotations

import numbers
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

import numpy as np

if TYPE_CHECKING:
    import torch

    #: What the public functions return: the caller's array type (numpy scalars for 0-d numpy results).
    Array = Union[np.ndarray, np.generic, torch.Tensor]
else:
    Array = Any

__all__ = [
    "Array",
    "Prepared",
    "as_array",
    "as_floating",
    "broadcast_shape",
    "check_out",
    "compute_dtype",
    "describe",
    "dtype_name",
    "empty_like",
    "host_float64",
    "is_tensor",
    "prepare",
    "stream_of",
    "torch_module",
]

# float16 and bfloat16 widen to this (the half-precision policy in the module docstring).
_HALF_COMPUTES_IN = "float32"


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


def describe(value: Any) -> str:
    """The type of `value`, for error messages."""
    return type(value).__module__ + "." + type(value).__qualname__


def dtype_name(array) -> str:
    """'float32', 'bfloat16', 'int64', ... for numpy arrays and torch tensors alike."""
    return str(array.dtype).replace("torch.", "")


def compute_dtype(function: str, name: str, dtype: str, stored: tuple[str, ...] = ("float32", "float64")) -> str:
    """The dtype the core computes with for an argument of `dtype` (a :func:`dtype_name`): dtypes in
    `stored` as they are, float16/bfloat16 float32, integers and bool float64; others a TypeError."""
    if dtype in stored:
        return dtype
    if dtype.startswith("complex"):
        raise TypeError(f"{function}: '{name}' must be real, got complex dtype {dtype}")
    if dtype in ("float16", "bfloat16"):
        return _HALF_COMPUTES_IN
    if dtype == "bool" or dtype.startswith(("int", "uint")):
        return "float64"
    raise TypeError(f"{function}: '{name}' must hold numbers, got dtype {dtype}")


def as_array(function: str, name: str, value: Any):
    """`value` as a numpy array or a torch tensor (tensors as they are, autograd included)."""
    if is_tensor(value) or isinstance(value, np.ndarray):
        return value
    if isinstance(value, np.generic):
        return np.asarray(value)  # numpy scalars keep their dtype, like 0-d arrays
    if isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real):
        raise TypeError(f"{function}: '{name}' must be real, got complex value {value!r}")
    if isinstance(value, numbers.Real):
        return np.asarray(value)
    if hasattr(value, "__dlpack__"):
        return _from_foreign(value, function, name)
    if isinstance(value, (list, tuple)):
        try:
            return np.asarray(value)
        except ValueError as error:
            raise ValueError(f"{function}: '{name}' is not a rectangular list of numbers: {error}") from None
    raise TypeError(
        f"{function}: '{name}' must be a number or an array (numpy, torch, list, or any "
        f"object with __dlpack__), got {describe(value)}"
    )


def as_floating(function: str, name: str, value: Any, stored: tuple[str, ...] = ("float32", "float64")):
    """`value` (:func:`as_array`, torch tensors detached) in the dtype the core computes with
    (:func:`compute_dtype`), converted only when its dtype is not already that one."""
    array = as_array(function, name, value)
    if is_tensor(array):
        array = array.detach()
    target = compute_dtype(function, name, dtype_name(array), stored)
    if dtype_name(array) == target:
        return array
    if is_tensor(array):
        return array.to(getattr(torch_module(), target))
    return array.astype(target)


def host_float64(function: str, name: str, value: Any) -> np.ndarray:
    """`value` as a float64 numpy array in CPU memory (copied from a device), for work done in numpy."""
    array = as_floating(function, name, value)
    if is_tensor(array):
        array = array.cpu().numpy()
    return np.asarray(array, dtype=np.float64)


def empty_like(array, shape, dtype: str):
    """An uninitialized result of `shape` and `dtype` in the library and on the device of `array`."""
    if is_tensor(array):
        torch = torch_module()
        return torch.empty(tuple(shape), dtype=getattr(torch, dtype), device=array.device)
    return np.empty(tuple(shape), dtype=dtype)


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


@dataclass
class Prepared:
    """Arguments converted to one framework, device and floating dtype."""

    arrays: dict[str, Any]
    framework: str  # "numpy" or "torch"
    device: Any  # torch.device for torch, None for numpy
    dtype_name: str  # "float32" or "float64"
    all_scalars: bool

    @property
    def dtype(self):
        if self.framework == "torch":
            return getattr(torch_module(), self.dtype_name)
        return np.dtype(self.dtype_name)

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


def prepare(function: str, **arguments: Any) -> Prepared:
    """Normalize the named array arguments of `function` (see the module docstring)."""
    converted: dict[str, Any] = {}
    computes_in: list[str] = []
    scalar_names: list[str] = []
    tensor_device = None
    tensor_owner = None
    for name, value in arguments.items():
        if isinstance(value, (bool, numbers.Integral, float)) and not isinstance(value, np.generic):
            scalar_names.append(name)  # weak: converted below to the arrays' dtype
            converted[name] = value
            continue
        value = as_array(function, name, value)
        computes_in.append(compute_dtype(function, name, dtype_name(value)))
        if is_tensor(value):
            if tensor_device is None:
                tensor_device, tensor_owner = value.device, name
            elif value.device != tensor_device:
                raise ValueError(
                    f"{function}: '{name}' is on {value.device} but '{tensor_owner}' is on "
                    f"{tensor_device}; all inputs must be on one device"
                )
        converted[name] = value

    target = "float32" if computes_in and all(d == "float32" for d in computes_in) else "float64"
    if tensor_device is not None:
        torch = torch_module()
        torch_dtype = getattr(torch, target)
        for name, value in converted.items():
            if is_tensor(value):
                converted[name] = value if value.dtype == torch_dtype else value.to(torch_dtype)
            elif isinstance(value, np.ndarray):
                if tensor_device.type != "cpu":
                    raise ValueError(
                        f"{function}: '{name}' is a numpy array (on the CPU) but '{tensor_owner}' is on "
                        f"{tensor_device}; all inputs must be on one device"
                    )
                array = np.asarray(value, dtype=target)
                converted[name] = torch.from_numpy(array) if array.flags.writeable else torch.as_tensor(array)
            else:
                converted[name] = torch.tensor(value, dtype=torch_dtype, device=tensor_device)
        framework, device = "torch", tensor_device
    else:
        for name, value in converted.items():
            converted[name] = np.asarray(value, dtype=target)
        framework, device = "numpy", None
    return Prepared(converted, framework, device, target, all_scalars=len(scalar_names) == len(arguments))


def check_out(function: str, prepared: Prepared, out: Any, shape: tuple) -> None:
    """`out` must be an array of the inputs' library, with the result's dtype, shape and device."""
    expected = "torch.Tensor" if prepared.framework == "torch" else "numpy.ndarray"
    if (prepared.framework == "torch") != is_tensor(out) or (prepared.framework == "numpy" and not isinstance(out, np.ndarray)):
        raise TypeError(f"{function}: 'out' must be a {expected} like the inputs, got {describe(out)}")
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
