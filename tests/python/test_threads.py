"""Thread settings: the MLPRIMS_NUM_THREADS default, and thread pools that wait passively without
leaving anything behind in the caller's environment."""

from __future__ import annotations

import os
import subprocess
import sys

import mlprims
import numpy as np
import pytest
from mlprims import lowrank


def run_python(code: str, **environment: str) -> str:
    env = {key: value for key, value in os.environ.items()
           if key not in ("MLPRIMS_NUM_THREADS", "OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT")}
    env.update(environment)
    return subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.mark.parametrize("threads", ["1", "2", "3"])
def test_environment_sets_the_default_thread_count(threads):
    code = "import mlprims; print(mlprims.get_num_threads()); mlprims.set_num_threads(0); print(mlprims.get_num_threads())"
    assert run_python(code, MLPRIMS_NUM_THREADS=threads).split() == [threads, threads]


@pytest.mark.parametrize("value", ["0", "-2", "two", ""])
def test_unusable_environment_values_fall_back_to_the_cores(value):
    code = "import os, mlprims; print(mlprims.get_num_threads() == os.cpu_count())"
    assert run_python(code, MLPRIMS_NUM_THREADS=value) == "True"


def test_import_leaves_the_environment_as_it_was():
    code = ("import os, mlprims; "
            "print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('OPENBLAS_THREAD_TIMEOUT'))")
    assert run_python(code) == "None None"
    assert run_python(code, OMP_WAIT_POLICY="ACTIVE") == "ACTIVE None"


def test_results_do_not_depend_on_the_thread_count():
    """The same factorization with 1 and 2 threads: equal to rounding (norm-wise, relative to the
    optimum error), whichever path BLAS takes for each call."""
    rng = np.random.default_rng(7)
    W = rng.standard_normal((300, 500))
    previous = mlprims.get_num_threads()
    errors = []
    try:
        for threads in (1, 2):
            mlprims.set_num_threads(threads)
            errors.append(lowrank.truncated_svd(W, 12, method="exact").weighted_error)
    finally:
        mlprims.set_num_threads(previous)
    assert abs(errors[0] - errors[1]) <= 1e-12 * errors[0]
