"""The one place that checks the scalar options of the Python API (counts, tolerances, seeds, ...).

Every error is a TypeError (wrong type) or a ValueError (right type, value out of range) whose
message names the public function, the argument, what was expected and what was given, e.g.
``"FisherInverse: 'damp' must be finite and > 0, got 0.0"``. Integers are Python or numpy
integers, never bools (``True`` as a count is almost always a mistake); reals are Python or numpy
real numbers (bools excluded), or 0-d arrays and tensors holding one.

Seed policy (:func:`resolve_seed`), one for the whole package:

* randomized *algorithms*, whose answer should not depend on the seed (lowrank's sketches), use
  seed 0 when ``seed=None``: the same call gives the same result, run after run;
* *samplers*, whose output is random by purpose (``vmf.sample``), draw fresh entropy from the
  operating system when ``seed=None``, like ``numpy.random.default_rng()``; an integer or a
  ``numpy.random.Generator`` makes them reproducible.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["check_callable", "check_integer", "check_real", "check_string", "resolve_seed"]

# Integers that cross into C++ as int64 / uint64.
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1


def _bound(value) -> str:
    """A bound as people write it: 2**62 rather than 4611686018427387904, 0 rather than 0.0."""
    if isinstance(value, int) and value >= 2**32:
        if value & (value - 1) == 0:
            return f"2**{value.bit_length() - 1}"
        if (value + 1) & value == 0:
            return f"2**{value.bit_length()} - 1"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _given(value: Any, *, with_type: bool = False) -> str:
    """The value given, short whatever it is; with its type for TypeErrors ("float 2.5")."""
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)) and len(str(abs(int(value)))) > 30:
        return f"an integer of {len(str(abs(int(value))))} digits"
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, np.generic):
        return f"{type(value).__module__}.{type(value).__qualname__} of shape {tuple(shape)}"
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{type(value).__name__} {text}" if with_type else text


def _scalar(function: str, name: str, value: Any):
    """0-d numpy arrays and torch tensors as their Python value; other values as they are."""
    if hasattr(value, "ndim") and not isinstance(value, np.generic):
        if value.ndim != 0:
            raise ValueError(f"{function}: '{name}' must be a scalar, got an array of shape {tuple(value.shape)}")
        return value.item()
    return value


def _range_text(minimum, maximum, include_minimum: bool, include_maximum: bool) -> str:
    if minimum is not None and maximum is not None:
        return f"in {'[' if include_minimum else '('}{_bound(minimum)}, {_bound(maximum)}{']' if include_maximum else ')'}"
    if minimum is not None:
        return f"{'>=' if include_minimum else '>'} {_bound(minimum)}"
    if maximum is not None:
        return f"{'<=' if include_maximum else '<'} {_bound(maximum)}"
    return ""


def check_integer(function: str, name: str, value: Any, *, minimum: int | None = None,
                  maximum: int | None = None, why: str = "") -> int:
    """`value` as a Python int in [minimum, maximum] (either bound optional). Bools and non-integers
    are a TypeError; values outside the range a ValueError stating the range (and `why`, if given:
    where the bound comes from)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{function}: '{name}' must be an integer, got {_given(value, with_type=True)}")
    value = int(value)  # numpy signed and unsigned integers alike, without wrapping
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = [f">= {_bound(minimum)}"] if minimum is not None else []
        bounds += [f"<= {_bound(maximum)}"] if maximum is not None else []
        reason = f" ({why})" if why else ""
        raise ValueError(f"{function}: '{name}' must be {' and '.join(bounds)}{reason}, got {_given(value)}")
    return value


def check_real(function: str, name: str, value: Any, *, minimum: float | None = None,
               maximum: float | None = None, include_minimum: bool = True, include_maximum: bool = True,
               finite: bool = True) -> float:
    """`value` as a Python float in the given range (bounds optional, each inclusive or not), finite
    unless ``finite=False``. Bools, complex and non-numbers are a TypeError; NaN, values outside the
    range and integers too large for float64 are a ValueError."""
    scalar = _scalar(function, name, value)
    if isinstance(scalar, (bool, np.bool_)) or not isinstance(scalar, numbers.Real):
        raise TypeError(f"{function}: '{name}' must be a real number, got {_given(scalar, with_type=True)}")
    overflowed = False
    try:
        number = float(scalar)
    except OverflowError:  # an integer beyond the float64 range: never silently infinite
        number, overflowed = (math.inf if scalar > 0 else -math.inf), True
    ok = not overflowed and not math.isnan(number) and (math.isfinite(number) or not finite)
    if minimum is not None:
        ok = ok and (number >= minimum if include_minimum else number > minimum)
    if maximum is not None:
        ok = ok and (number <= maximum if include_maximum else number < maximum)
    if not ok:
        interval = minimum is not None and maximum is not None  # finite by itself
        finiteness = ""
        if overflowed:  # say why a number that looks fine is refused
            finiteness = "finite in float64 (|value| <= 1.8e308)"
        elif finite and not interval:
            finiteness = "finite"
        expected = " and ".join(part for part in (finiteness, _range_text(minimum, maximum, include_minimum,
                                                                          include_maximum)) if part)
        raise ValueError(f"{function}: '{name}' must be {expected or 'a number (not NaN)'}, got {_given(scalar)}")
    return number


def check_string(function: str, name: str, value: Any) -> str:
    """`value`, which must be a str (which strings are valid, the core decides and says)."""
    if not isinstance(value, str):
        raise TypeError(f"{function}: '{name}' must be a string, got {_given(value, with_type=True)}")
    return value


def check_callable(function: str, name: str, value: Any):
    """`value`, which must be callable or None."""
    if value is not None and not callable(value):
        raise TypeError(f"{function}: '{name}' must be callable or None, got {_given(value, with_type=True)}")
    return value


def resolve_seed(function: str, seed: Any, *, sampler: bool):
    """The package's seed policy (module docstring).

    Algorithms (``sampler=False``) get an int for the core: 0 for None, else an integer in
    [0, 2**64 - 1]. Samplers (``sampler=True``) get a ``numpy.random.Generator``: fresh entropy
    for None, seeded by an integer, or the caller's own Generator (used, not copied)."""
    if sampler and isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng() if sampler else 0
    if sampler and not isinstance(seed, numbers.Integral):
        raise TypeError(f"{function}: 'seed' must be None, an integer or a numpy.random.Generator, got {_given(seed, with_type=True)}")
    value = check_integer(function, "seed", seed, minimum=0, maximum=UINT64_MAX)
    return np.random.default_rng(value) if sampler else value
