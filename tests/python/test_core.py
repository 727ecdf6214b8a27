"""Package-level behaviour: build information, thread control, the CMake package location."""

from __future__ import annotations

import os

import mlprims
import numpy as np
import pytest
from mlprims import special


def test_build_info():
    info = mlprims.build_info()
    assert info["version"] == mlprims.__version__
    assert "OpenBLAS" in info["blas"] or "BLAS" in info["blas"]
    assert isinstance(info["cuda"], bool) and info["cuda_devices"] >= 0


def test_threads_setting_round_trips_and_results_do_not_depend_on_it():
    x = np.linspace(0.1, 500, 200001)
    before = mlprims.get_num_threads()
    try:
        mlprims.set_num_threads(1)
        assert mlprims.get_num_threads() == 1
        one = special.log_kv(3.3, x)
        mlprims.set_num_threads(2)
        two = special.log_kv(3.3, x)
        np.testing.assert_array_equal(one, two)
        mlprims.set_num_threads(0)
        assert mlprims.get_num_threads() >= 1
    finally:
        mlprims.set_num_threads(before)
    with pytest.raises(ValueError, match=r"set_num_threads: n must be >= 0"):
        mlprims.set_num_threads(-1)


def test_cmake_package_is_installed():
    folder = mlprims.cmake_dir()
    assert os.path.isfile(os.path.join(folder, "mlprimsConfig.cmake"))
    assert os.path.isfile(os.path.join(folder, "mlprimsTargets.cmake"))
    include = os.path.join(os.path.dirname(mlprims.__file__), "include", "mlprims", "special.hpp")
    assert os.path.isfile(include)
