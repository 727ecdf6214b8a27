"""mlprims: fast, accurate numeric primitives for machine learning.

Modules: :mod:`mlprims.special` (log-Bessel functions and ratios), :mod:`mlprims.vmf`
(von Mises-Fisher distribution), :mod:`mlprims.mfac` (inverse-Fisher products from gradients,
OBS pruning, the M-FAC optimizer) and :mod:`mlprims.lowrank` (truncated and Fisher-weighted SVD).
Functions take numpy arrays, torch tensors (CPU and CUDA), Python scalars and lists, and anything
with ``__dlpack__``; results come back as the caller's array type on the caller's device, without
copies (float16/bfloat16 inputs give float32 results). Speed and accuracy figures: BENCHMARKS.md;
the reasons behind them: docs/design_notes.md.

``python -m mlprims tour`` runs each primitive on built-in data against the best installed peer.
"""

from __future__ import annotations

from . import lowrank, mfac, ot, sparse, special, vmf
from ._native import _core

__version__ = _core.version()

__all__ = ["__version__", "build_info", "cmake_dir", "get_num_threads", "lowrank", "mfac", "ot", "set_num_threads", "sparse", "special", "vmf"]


def set_num_threads(n: int) -> None:
    """Threads for mlprims' CPU work (its OpenMP loops and the BLAS it calls); 0 = all cores."""
    _core.set_num_threads(int(n))


def get_num_threads() -> int:
    """Threads mlprims' CPU work uses."""
    return _core.get_num_threads()


def build_info() -> dict:
    """What this build contains: version, BLAS, CUDA back end and visible CUDA devices.

    ``cuda_status`` says whether the CUDA back end was built and why, as decided when mlprims was
    compiled (pip hides that log): "on: built for CUDA architectures ..." or "off: ..." naming
    what was missing (nvcc, the cuBLAS/cuSOLVER headers or libraries) or MLPRIMS_CUDA=OFF."""
    return {
        "version": __version__,
        "blas": _core.blas_library(),
        "cuda": _core.built_with_cuda(),
        "cuda_status": _core.cuda_status(),
        "cuda_libraries": _core.cuda_libraries(),
        "cuda_devices": _core.cuda_device_count(),
        "threads": _core.get_num_threads(),
    }


def cmake_dir() -> str:
    """Folder with mlprimsConfig.cmake, for ``find_package(mlprims)`` in C++ projects."""
    import os

    return os.path.join(os.path.dirname(__file__), "lib", "cmake", "mlprims")
