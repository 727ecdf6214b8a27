"""Shared fixtures: the stored Arb reference values and device availability."""

from __future__ import annotations

from pathlib import Path

import mlprims
import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="session")
def reference():
    """Arb reference values made by tests/data/make_reference.py."""
    with np.load(DATA / "bessel_reference.npz") as data:
        return {key: data[key] for key in data.files}


def pytest_report_header(config):
    """Which BLAS kernels and how many threads this run uses: results must not depend on either,
    and CI runs the suite under several (OPENBLAS_CORETYPE, MLPRIMS_NUM_THREADS)."""
    lines = [f"mlprims threads: {mlprims.get_num_threads()}; BLAS: {mlprims.build_info()['blas']}"]
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return lines + ["threadpoolctl not installed: BLAS kernels of other libraries not shown"]
    for pool in threadpool_info():
        lines.append(f"thread pool {pool.get('internal_api')}: {pool.get('filepath', '?').rsplit('/', 1)[-1]}, "
                     f"kernels {pool.get('architecture', '?')}, {pool.get('num_threads')} threads")
    return lines


def cuda_device_available() -> bool:
    if mlprims.build_info()["cuda_devices"] == 0:
        return False
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    if cuda_device_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device and a CUDA build of mlprims")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


def guarded_relative_error(got, ref):
    """|got - ref| / max(1, |ref|), zero where both are the same infinity."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        err = np.abs(got - ref) / np.maximum(1.0, np.abs(ref))
    same_special = (got == ref) | (np.isnan(got) & np.isnan(ref))
    return np.where(same_special, 0.0, err)


def relative_error(got, ref):
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.abs(got - ref) / np.abs(ref)
    return np.where(got == ref, 0.0, err)


def worst(err, *columns):
    """Describes the worst point for an assertion message."""
    i = int(np.nanargmax(np.where(np.isnan(err), np.inf, err)))
    return f"max error {err[i]:.3g} at " + ", ".join(f"{c[i]!r}" for c in columns)
