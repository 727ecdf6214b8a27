"""Loads the native core. A CUDA build links cuBLAS/cuSOLVER from the nvidia-cublas and
nvidia-cusolver wheels: when the core does not load by itself, those libraries are loaded from the
wheels first and the import is retried (a CPU build never loads them: they take hundreds of
megabytes of memory)."""

from __future__ import annotations

import ctypes
import glob
import os


def _preload_nvidia_libraries() -> None:
    try:
        import nvidia  # namespace package of the NVIDIA wheels
    except ImportError:
        return
    for root in getattr(nvidia, "__path__", []):
        for pattern in ("*/lib/libcublasLt.so.*", "*/lib/libcublas.so.*", "*/lib/libnvJitLink.so.*",
                        "*/lib/libcusparse.so.*", "*/lib/libcusolver.so.*"):
            for path in sorted(glob.glob(os.path.join(root, pattern))):
                try:
                    ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
                except OSError:
                    pass


try:
    from . import _core
except ImportError:
    _preload_nvidia_libraries()
    from . import _core

__all__ = ["_core"]
