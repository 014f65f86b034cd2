"""time_call runs the work as asked and reports a consistent Timing."""

from __future__ import annotations

import pytest
import torch

from splatlab.rendering.timing import time_call


def test_counts_runs_and_warmups():
    calls = []
    timing = time_call(lambda: calls.append(1), repeat=4, warmup=2)
    assert len(calls) == 6 and timing.runs == 4
    assert timing.min_ms <= timing.median_ms and timing.clock == "perf_counter"
    assert "median of 4" in str(timing)


def test_rejects_zero_repeats():
    with pytest.raises(ValueError):
        time_call(lambda: None, repeat=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_events():
    x = torch.ones(1 << 20, device="cuda")
    timing = time_call(lambda: x.mul(2), device="cuda", repeat=3)
    assert timing.clock == "cuda-events" and timing.median_ms > 0
