"""The compiled loops behind splatlab.stats, against plain numpy on the same values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from splatlab.core.compiled import numba_available

if not numba_available():       # the [fast] extra; the numpy twins: tests/test_without_numba.py
    pytest.skip("numba is not installed", allow_module_level=True)

from splatlab.analysis.kernels import (  # noqa: E402
    chunk_histogram,
    chunk_moments,
    gather_columns,
    is_sorted,
    partition_below,
    quat_norms,
    runs,
    scale_summaries,
)

VALUES = st.lists(st.one_of(st.integers(-3, 3).map(float), st.floats(-1e3, 1e3, width=32),
                            st.sampled_from([np.nan, np.inf, -np.inf, -0.0])), max_size=200)


def plain_moments(column: np.ndarray) -> list[float]:
    finite = column[np.isfinite(column)].astype(np.float64)
    mean = finite.mean() if len(finite) else 0.0
    return [len(finite), np.isnan(column).sum(), (column == np.inf).sum(),
            (column == -np.inf).sum(), mean, ((finite - mean) ** 2).sum(),
            finite.min(initial=np.inf), finite.max(initial=-np.inf)]


@pytest.mark.parametrize("layout", ["C", "F", "strided rows"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chunk_moments_any_layout(layout: str, dtype: type):
    rng = np.random.default_rng(0)
    block = rng.normal(100.0, 3.0, (500, 5)).astype(dtype)
    block[7, 1], block[8, 1], block[9, 2] = np.nan, np.inf, -np.inf
    block[:, 3] = np.nan                                    # no finite value at all
    if layout == "F":
        block = np.asfortranarray(block)
    elif layout == "strided rows":
        block = np.repeat(block, 2, axis=1)[:, ::2]         # a view with a row stride
    out = np.empty((8, block.shape[1]))
    chunk_moments(block, out)
    for j in range(block.shape[1]):
        np.testing.assert_allclose(out[:, j], plain_moments(block[:, j]), rtol=1e-12,
                                   err_msg=f"column {j}")


@settings(max_examples=80, deadline=None)
@given(VALUES, st.floats(-5, 5, width=32) | st.just(np.nan))
def test_partition_below_splits_at_the_pivot(values: list[float], pivot: float):
    column = np.array(values, np.float32)
    before = np.sort(column)
    cut = partition_below(column, np.float32(pivot))
    assert (column[:cut] < pivot).all() and not (column[cut:] < pivot).any()
    np.testing.assert_array_equal(np.sort(column), before)      # nothing lost or changed


@settings(max_examples=80, deadline=None)
@given(VALUES)
def test_runs_match_unique(values: list[float]):
    column = np.sort(np.array(values, np.float32))
    column = column[np.isfinite(column)]
    mode, count, distinct = runs(column)
    uniques, counts = np.unique(column, return_counts=True)
    assert distinct == len(uniques)
    if len(column):
        assert (mode, count) == (float(uniques[counts.argmax()]), counts.max())
    else:
        assert count == 0 and np.isnan(mode)


def test_is_sorted_puts_nan_last():
    assert is_sorted(np.array([-np.inf, 0.0, 0.0, np.inf, np.nan, np.nan]))
    assert not is_sorted(np.array([0.0, np.nan, 1.0]))
    assert not is_sorted(np.array([1.0, 0.0]))
    assert is_sorted(np.array([], np.float32))


def test_chunk_histogram_counts_and_single_value_bins():
    rng = np.random.default_rng(1)
    column = np.concatenate([rng.uniform(0.0, 8.0, 1000), np.full(50, 4.5),
                             [np.nan, np.inf]]).astype(np.float32)
    block = np.stack([column, np.full_like(column, 3.0)], axis=1)    # second: one value
    finite = column[np.isfinite(column)]
    low = np.array([finite.min(), 3.0])
    span = np.array([finite.max() - finite.min(), 0.0])
    counts = np.zeros((2, 16), np.int32)
    last = np.zeros((2, 16), np.float32)
    chunk_histogram(block[:600], low, span, counts, last)          # in two chunks
    chunk_histogram(block[600:], low, span, counts, last)
    expected, _ = np.histogram(finite, bins=16, range=(low[0], low[0] + span[0]))
    np.testing.assert_array_equal(counts[0], expected)
    assert np.isnan(last[0][counts[0] > 1]).all()                    # continuous: mixed bins
    assert not counts[1].any()                                       # span 0: skipped
    spike = np.array([[2.0], [2.0], [2.0], [7.0]], np.float32)
    counts, last = np.zeros((1, 4), np.int32), np.zeros((1, 4), np.float32)
    chunk_histogram(spike, np.array([0.0]), np.array([8.0]), counts, last)
    assert counts.tolist() == [[0, 3, 0, 1]] and last[0, 1] == 2.0 and last[0, 3] == 7.0


def test_gather_columns_copies_the_named_columns():
    block = np.arange(12, dtype=np.float32).reshape(4, 3)
    out = np.empty((2, 4), np.float32)
    gather_columns(block, np.array([2, 0]), out)
    np.testing.assert_array_equal(out, block[:, [2, 0]].T)


SPECIALS = st.sampled_from([0.0, -0.0, 1e-30, 3.5, 1e30, np.inf, -np.inf, np.nan])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(*[st.floats(-50, 50) | SPECIALS] * 4), min_size=1,
                     max_size=40))
def test_scale_and_quat_summaries_are_numpys_bit_for_bit(dtype: type, rows: list):
    values = np.array(rows, dtype).T.copy()                       # (4, rows)
    a, b, c, d = values
    got = np.empty((3, len(rows)), dtype)
    scale_summaries(values[:3], got)
    with np.errstate(all="ignore"):
        high = np.maximum(np.maximum(a, b), c)
        want = [high, high / np.minimum(np.minimum(a, b), c), a * b * c]
        norms = np.sqrt(a * a + b * b + c * c + d * d)
    for k in range(3):
        np.testing.assert_array_equal(got[k], want[k])
    got_norms = np.empty(len(rows), dtype)
    quat_norms(values, got_norms)
    np.testing.assert_array_equal(got_norms, norms)
