"""The package-wide Python conventions (docs/design_notes.md, "Python conventions"): the seed
policy, the result base class and the validation messages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from mlprims import lowrank, mfac, vmf
from mlprims._result import Result
from mlprims._validation import check_integer, check_real, resolve_seed


def test_algorithms_use_seed_zero_when_none():
    W = np.random.default_rng(0).standard_normal((200, 120)).astype(np.float32)
    default = lowrank.truncated_svd(W, 5, method="randomized")
    zero = lowrank.truncated_svd(W, 5, method="randomized", seed=0)
    other = lowrank.truncated_svd(W, 5, method="randomized", seed=1)
    np.testing.assert_array_equal(default.left, zero.left)
    assert not np.array_equal(default.left, other.left)  # the seed does reach the sketch


def test_samplers_draw_fresh_entropy_when_none():
    mu = np.array([0.0, 0.0, 1.0])
    first, second = vmf.sample(mu, 2.0, 50), vmf.sample(mu, 2.0, 50)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(vmf.sample(mu, 2.0, 50, seed=7), vmf.sample(mu, 2.0, 50, seed=7))
    generator = np.random.default_rng(3)
    assert resolve_seed("sample", generator, sampler=True) is generator


def test_seed_errors_name_the_function():
    with pytest.raises(ValueError, match=r"truncated_svd: 'seed' must be >= 0 and <= 2\*\*64 - 1, got -1"):
        lowrank.truncated_svd(np.eye(4), 2, seed=-1)
    with pytest.raises(TypeError, match=r"truncated_svd: 'seed' must be an integer, got Generator"):
        lowrank.truncated_svd(np.eye(4), 2, seed=np.random.default_rng())
    with pytest.raises(TypeError, match=r"sample: 'seed' must be None, an integer or a numpy.random.Generator, got float 1.5"):
        vmf.sample(np.ones(3), 1.0, 2, seed=1.5)


def test_results_repr_arrays_by_shape_and_unpack_only_where_declared():
    @dataclass(frozen=True)
    class Example(Result):
        values: object
        error: float
        converged: bool

    example = Example(np.zeros((3, 4), np.float32), 1 / 3, True)
    assert repr(example) == "Example(values=(3, 4) float32, error=0.3333333333, converged=True)"
    with pytest.raises(TypeError, match="Example is not iterable: read its attributes"):
        _values, _error, _converged = example
    finv = mfac.FisherInverse(np.eye(3, 5), 1.0)
    weights, mask = mfac.obs_prune(np.arange(1.0, 6.0), finv, 0.4)
    assert mask.tolist() == [False, False, True, True, True] and weights[0] == 0


def test_validation_messages_state_function_argument_range_and_value():
    with pytest.raises(ValueError, match=r"^f: 'n' must be >= 1 and <= 2\*\*62 \(a reason\), got 0$"):
        check_integer("f", "n", 0, minimum=1, maximum=2**62, why="a reason")
    with pytest.raises(TypeError, match=r"^f: 'n' must be an integer, got bool True$"):
        check_integer("f", "n", True, minimum=0)
    with pytest.raises(ValueError, match=r"^f: 'p' must be in \(0, 1\], got 0.0$"):
        check_real("f", "p", 0.0, minimum=0, maximum=1, include_minimum=False)
    with pytest.raises(ValueError, match=r"^f: 'x' must be finite in float64 \(\|value\| <= 1.8e308\), got an integer of 401 digits$"):
        check_real("f", "x", 10**400, finite=False)
    assert check_real("f", "x", np.array(2.5)) == 2.5
