"""The one base class of the result objects the public functions return (LowRankResult, SolveInfo,
KappaEstimate, VonMisesFisherFit, PruneResult, ...).

A result is a frozen dataclass deriving from :class:`Result`: declare the fields, write their
docstrings, and it gets attribute access and a compact ``repr`` like SciPy's ``OptimizeResult``:
arrays by shape, dtype and device (not their contents), floats to 10 significant digits::

    @dataclass(frozen=True)
    class FitResult(Result):
        coefficients: Any
        error: float

A result that replaces what used to be a tuple keeps tuple unpacking by naming the fields it
unpacks to, in order, in ``_unpacks_as``; others are not iterable (unpacking nine fields by position
is a bug waiting to happen).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

__all__ = ["Result"]


def _short(value: Any) -> str:
    """One field as the repr shows it."""
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape is not None and dtype is not None and getattr(value, "ndim", 0) > 0:
        device = getattr(value, "device", None)
        where = f" on {device}" if device is not None and str(device) != "cpu" else ""
        return f"{tuple(shape)} {str(dtype).replace('torch.', '')}{where}"
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        return f"{float(value):.10g}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Result:
    """Base of every result object: a compact repr and, where declared, tuple unpacking."""

    _unpacks_as: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # @dataclass adds its own __repr__ only where the class has none in its own namespace; a
        # subclass that writes one keeps it.
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = Result.__repr__

    def __repr__(self) -> str:
        fields = ", ".join(f"{f.name}={_short(getattr(self, f.name))}" for f in dataclasses.fields(self))
        return f"{type(self).__name__}({fields})"

    def __iter__(self):
        if not self._unpacks_as:
            raise TypeError(f"{type(self).__name__} is not iterable: read its attributes")
        return iter(tuple(getattr(self, name) for name in self._unpacks_as))
