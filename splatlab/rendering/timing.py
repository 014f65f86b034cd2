"""Time a piece of work on any torch device: CUDA events on a GPU, a wall clock elsewhere.

Example:
    >>> t = time_call(lambda: sum(range(1000)), device="cpu", repeat=3)
    >>> t.runs, t.median_ms >= 0
    (3, True)
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Timing:
    """Times of repeated runs, in milliseconds, and how they were taken."""

    times_ms: tuple[float, ...]
    clock: str  # "cuda-events" or "perf_counter"
    device: str

    @property
    def runs(self) -> int:
        return len(self.times_ms)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def min_ms(self) -> float:
        return min(self.times_ms)

    def __str__(self) -> str:
        return (f"{self.median_ms:.3f} ms median of {self.runs} ({self.clock} on {self.device},"
                f" min {self.min_ms:.3f} ms)")


def time_call(work: Callable[[], object], device: str | torch.device = "cpu", repeat: int = 5,
              warmup: int = 1) -> Timing:
    """Run ``work`` ``warmup`` times untimed, then ``repeat`` times timed.

    On a CUDA device each run is bracketed by CUDA events and synchronised, so the
    time is the GPU's; elsewhere ``time.perf_counter`` measures the call.

    Example:
        >>> time_call(lambda: None, repeat=2).clock
        'perf_counter'
    """
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    for _ in range(warmup):
        work()
    if str(device).startswith("cuda"):
        return Timing(tuple(_cuda_run(work, device) for _ in range(repeat)), "cuda-events",
                      str(device))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1e3)
    return Timing(tuple(times), "perf_counter", str(device))


def _cuda_run(work: Callable[[], object], device: str | torch.device) -> float:
    import torch

    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize(device)
    start.record()
    work()
    stop.record()
    torch.cuda.synchronize(device)
    return float(start.elapsed_time(stop))
