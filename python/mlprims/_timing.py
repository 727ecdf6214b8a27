"""Timing helpers shared by the tour and the benchmarks: medians of repeated runs, optionally
interleaved so that a shared machine's slow drifts affect every contestant alike."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def median_time(function: Callable[[], object], repeats: int = 5) -> float:
    """Median wall time in seconds of `repeats` calls."""
    return interleaved_medians({"only": function}, repeats)["only"]


def interleaved_times(functions: dict, repeats: int, warmup_calls: int = 0, idle_seconds: float = 0.0) -> dict:
    """All wall times of several functions measured in turn (a, b, c, a, b, c, ...).

    warmup_calls untimed calls precede each timed one: contestants with their own thread pools
    (OpenBLAS in numpy, OpenMP in torch and mlprims) otherwise run while the previous one's
    threads still spin, on a 2-core machine a penalty of up to 2x for whoever comes next.
    idle_seconds of sleep before each contestant's turn let those pools go to sleep when the
    calls are shorter than their spinning (OpenBLAS spins ~0.1 s after a threaded call).
    """
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            if idle_seconds > 0:
                time.sleep(idle_seconds)
            for _ in range(warmup_calls):
                function()
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return times


def interleaved_medians(functions: dict, repeats: int, warmup_calls: int = 0, idle_seconds: float = 0.0) -> dict:
    """Median times of several functions measured in turn (a, b, c, a, b, c, ...)."""
    return {
        name: statistics.median(values)
        for name, values in interleaved_times(functions, repeats, warmup_calls, idle_seconds).items()
    }
