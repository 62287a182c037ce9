"""Timing helper the request-latency benches share: run a step once per input, report ms."""

import statistics
import time
from collections.abc import Callable, Iterable
from typing import Any


def p50_p95_ms(step: Callable[[Any], object], inputs: Iterable[Any]) -> tuple[float, float]:
    """Median and 95th percentile of step(x) wall time over the inputs, in milliseconds."""
    times = []
    for value in inputs:
        started = time.perf_counter()
        step(value)
        times.append((time.perf_counter() - started) * 1000)
    q = statistics.quantiles(times, n=20)
    return q[9], q[18]
