"""Side-by-side timing: alternate the candidates so both see the same noisy machine."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def medians(candidates: list[Callable[[], Any]], rounds: int, warmup: int = 2) -> list[float]:
    """Median seconds of each candidate, run in turn round after round."""
    for _ in range(warmup):
        for run in candidates:
            run()
    times: list[list[float]] = [[] for _ in candidates]
    for _ in range(rounds):
        for run, series in zip(candidates, times, strict=True):
            started = time.perf_counter()
            run()
            series.append(time.perf_counter() - started)
    return [statistics.median(series) for series in times]
