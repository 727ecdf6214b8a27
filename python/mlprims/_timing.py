"""Timing helpers shared by the tour and the benchmarks: medians of repeated runs, optionally
interleaved so that a shared machine's slow drifts affect every contestant alike."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def median_time(function: Callable[[], object], repeats: int = 5) -> float:
    """Median wall time in seconds of `repeats` calls."""
    return interleaved_medians({"only": function}, repeats)["only"]


def interleaved_times(functions: dict, repeats: int) -> dict:
    """All wall times of several functions measured in turn (a, b, c, a, b, c, ...)."""
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return times


def interleaved_medians(functions: dict, repeats: int) -> dict:
    """Median times of several functions measured in turn (a, b, c, a, b, c, ...)."""
    return {name: statistics.median(values) for name, values in interleaved_times(functions, repeats).items()}
