"""Loads the native core. A CUDA build links cuBLAS/cuSOLVER from the nvidia-cublas and
nvidia-cusolver wheels: when the core does not load by itself, those libraries are loaded from the
wheels first and the import is retried (a CPU build never loads them: they take hundreds of
megabytes of memory).

Thread pools that wait passively: OpenMP (libgomp) reads OMP_WAIT_POLICY and OpenBLAS reads
OPENBLAS_THREAD_TIMEOUT once, when they are loaded. Their defaults spin: libgomp for up to 300,000
pauses at every barrier, OpenBLAS's idle threads for 2^28 cycles (~0.1 s) after every threaded call,
and on a node shared with other busy processes those spinning threads take the cores from the
threads doing the work (a 256 x 512 weighted SVD became 9.7x slower with 2 threads than with one).
So unless the caller has set them, the core is loaded with OMP_WAIT_POLICY=PASSIVE and
OPENBLAS_THREAD_TIMEOUT=16 (2^16 cycles, ~20 microseconds, enough for back-to-back calls), and the
environment is restored afterwards so that child processes and other libraries see it unchanged.
The copies of libgomp and OpenBLAS that mlprims loads are its own (torch, numpy and scipy bundle
theirs), so nothing else changes. bench/python/contention.py measures the effect."""

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


_PASSIVE_THREAD_POOLS = {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "16"}


def _import_core():
    added = [name for name in _PASSIVE_THREAD_POOLS if name not in os.environ]
    for name in added:
        os.environ[name] = _PASSIVE_THREAD_POOLS[name]
    try:
        try:
            from . import _core
        except ImportError:
            _preload_nvidia_libraries()
            from . import _core
    finally:
        for name in added:
            del os.environ[name]
    return _core


_core = _import_core()

__all__ = ["_core"]
