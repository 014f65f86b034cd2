"""The compiled loops behind splatlab.stats, against plain numpy on the same values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from splatlab.kernels import chunk_moments, is_sorted, partition_below, runs

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
