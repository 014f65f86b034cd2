"""The loops of :mod:`splatlab.analysis.kernels` in plain numpy: what :func:`splatlab.stats`
runs where numba is not installed (see :mod:`splatlab.core.compiled`).

Each function has its compiled twin's name, arguments and results, in whole-array numpy
operations (a loop over columns at most, never over rows), so a missing numba costs
speed, not answers: runs, histograms, gathers and the scale and quaternion summaries are
the same bits; counts, minimum and maximum the same values (a minimum of 0.0 and -0.0 may
come out as either, as from the compiled loop, built without signed zeros); the moments'
mean and M2 are summed in another order, which moves them by rounding only, well within
:func:`~splatlab.analysis.statistics_reference.moment_tolerance`.
``tests/test_without_numba.py`` holds each twin to its kernel.

:mod:`splatlab.analysis.statistics` imports one set or the other as ``kernels``, in one
place at its top, by :func:`~splatlab.core.compiled.numba_available`. The compiled set
stays in ``kernels.py`` as it was (it is what ``docs/benchmarks.md`` times); the twins
live apart so that nothing here imports numba.

Example:
    >>> out = np.empty((8, 1))
    >>> chunk_moments(np.array([[1.0], [3.0], [np.nan]]), out)
    >>> out[:, 0].tolist()
    [2.0, 1.0, 0.0, 0.0, 2.0, 2.0, 1.0, 3.0]
"""

from __future__ import annotations

import numpy as np

from ..core.floats import QUIET


def chunk_moments(block: np.ndarray, out: np.ndarray) -> None:
    """(8, K) moments of each column of a (rows, K) array (rows > 0) into ``out``: finite,
    nan, +inf, -inf counts, then mean, M2, min and max over the finite values (mean 0.0,
    min +inf and max -inf where there is none), in float64.

    As the compiled one: every column first as if all its values were finite; a column
    whose sum or M2 is not finite is done again with the non-finite values counted apart.

    Example:
        >>> out = np.empty((8, 2))
        >>> chunk_moments(np.array([[1.0, np.inf], [2.0, -np.inf]], np.float32), out)
        >>> out[:, 1].tolist()
        [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, inf, -inf]
    """
    rows = len(block)
    columns = np.asarray(block).T.astype(np.float64, order="C")    # a column a row: in cache
    with np.errstate(**QUIET):
        out[0], out[1:4] = rows, 0.0
        out[6], out[7] = columns.min(axis=1), columns.max(axis=1)
        out[4] = mean = columns.sum(axis=1) / rows
        columns -= mean[:, None]
        out[5] = m2 = np.einsum("ij,ij->i", columns, columns)
    again = np.flatnonzero(~np.isfinite(mean + m2))
    if len(again):
        out[:, again] = _masked_moments(np.asarray(block[:, again], np.float64))


def _masked_moments(values: np.ndarray) -> np.ndarray:
    """(8, K) moments of float64 columns over their finite values, non-finite ones counted."""
    finite = np.isfinite(values)
    count = finite.sum(axis=0)
    with np.errstate(**QUIET):
        total = np.where(finite, values, 0.0).sum(axis=0)
        mean = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
        deviation = np.where(finite, values - mean, 0.0)
        return np.stack([count, np.isnan(values).sum(axis=0), (values == np.inf).sum(axis=0),
                         (values == -np.inf).sum(axis=0), mean,
                         np.einsum("ij,ij->j", deviation, deviation),
                         np.where(finite, values, np.inf).min(axis=0),
                         np.where(finite, values, -np.inf).max(axis=0)])


def partition_below(values: np.ndarray, pivot: float) -> int:
    """Reorder ``values`` in place so those below ``pivot`` come first; returns their count.

    NaN is not below anything, so it goes to the second part. Each part keeps its order
    (the compiled one swaps; either way the sorted parts are the sorted whole).

    Example:
        >>> values = np.array([3.0, np.nan, 1.0, 2.0])
        >>> partition_below(values, 2.5), values.tolist()
        (2, [1.0, 2.0, 3.0, nan])
    """
    below = values < pivot
    low, high = values[below], values[~below]
    values[:len(low)] = low
    values[len(low):] = high
    return len(low)


def runs(values: np.ndarray) -> tuple[float, int, int]:
    """(mode, its count, distinct values) of sorted ``values``: the mode is the value of the
    longest run of equal values, the smallest on ties; 0.0 and -0.0 are one value.

    Example:
        >>> runs(np.array([-0.0, 0.0, 1.0, 2.0, 2.0], np.float32))
        (-0.0, 2, 3)
    """
    if not len(values):
        return np.nan, 0, 0
    starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    lengths = np.diff(starts, append=len(values))
    longest = int(lengths.argmax())                  # the first: the smallest value
    return float(values[starts[longest]]), int(lengths[longest]), len(starts)


def is_sorted(values: np.ndarray) -> bool:
    """True when ``values`` is in ascending order (NaN last, as numpy sorts).

    Example:
        >>> is_sorted(np.array([0.0, 1.0, np.nan])), is_sorted(np.array([np.nan, 1.0]))
        (True, False)
    """
    before, after = values[:-1], values[1:]
    return not bool(((after < before) | (np.isnan(before) & ~np.isnan(after))).any())


def chunk_histogram(block: np.ndarray, low: np.ndarray, span: np.ndarray, counts: np.ndarray,
                    last: np.ndarray) -> None:
    """Add the finite values of each column j of a (rows, K) array to its histogram.

    Column j has ``counts.shape[1]`` equal bins over ``[low[j], low[j] + span[j]]``
    (``low[j]`` at most the column's smallest value; a column with ``span[j] <= 0`` is
    skipped). ``last`` holds a bin's value while every value put in it was that one (the
    first one put in it, in ``last``'s type, compared with each later one), and NaN for
    good once two differed.

    Example:
        >>> counts, last = np.zeros((1, 4), np.int32), np.zeros((1, 4), np.float32)
        >>> spike = np.array([[2.0], [2.0], [2.0], [7.0], [np.nan]], np.float32)
        >>> chunk_histogram(spike, np.array([0.0]), np.array([8.0]), counts, last)
        >>> counts.tolist(), last[0, 1].item(), last[0, 3].item()
        ([[0, 3, 0, 1]], 2.0, 7.0)
    """
    bins = counts.shape[1]
    active = np.flatnonzero(span > 0)
    if not len(active) or not len(block):
        return
    values = np.asarray(block)[:, active].T.astype(np.float64, order="C")   # a column a row
    finite = np.isfinite(values)
    every_one = bool(finite.all())
    with np.errstate(**QUIET):
        scale = bins / span[active]
        position = np.subtract(values, low[active, None])
        position *= scale[:, None]
    if not every_one or not np.isfinite(scale).all():
        position[~(finite & np.isfinite(scale)[:, None])] = 0.0
    np.clip(position, 0, bins - 1, out=position)
    bin_of = position.astype(np.int64)
    bin_of += bins * np.arange(len(active))[:, None]
    bin_of, kept = (bin_of.ravel(), values.ravel()) if every_one else (bin_of[finite],
                                                                        values[finite])
    added = np.bincount(bin_of, minlength=len(active) * bins)   # rows in order, column by column
    seen = counts[active].ravel()
    single = last[active].ravel()                               # a copy: written back below
    first = np.full(len(added), len(bin_of))
    np.minimum.at(first, bin_of, np.arange(len(bin_of)))        # each bin's first value here
    fresh = np.flatnonzero((added > 0) & (seen == 0))
    single[fresh] = kept[first[fresh]]                          # stored in last's type
    with np.errstate(invalid="ignore"):
        differs = kept != single[bin_of]                        # NaN differs from all
    differs[first[fresh]] = False                               # the first is not compared
    single[np.bincount(bin_of, differs, len(added)) > 0] = np.nan
    counts[active] = (seen + added).reshape(len(active), bins)
    last[active] = single.reshape(len(active), bins)


def scale_summaries(linear: np.ndarray, out: np.ndarray) -> None:
    """Largest scale, largest over smallest, and product, of each column of (3, rows)
    ``linear`` into the rows of (3, rows) ``out``: numpy's ``maximum``/``minimum`` chains
    (NaN propagates), ``/`` and ``a * b * c`` in the array's dtype.

    Example:
        >>> out = np.empty((3, 1), np.float32)
        >>> scale_summaries(np.array([[1.0], [4.0], [2.0]], np.float32), out)
        >>> out[:, 0].tolist()
        [4.0, 4.0, 8.0]
    """
    a, b, c = linear
    with np.errstate(**QUIET):
        np.maximum(np.maximum(a, b), c, out=out[0])
        np.divide(out[0], np.minimum(np.minimum(a, b), c), out=out[1])
        np.multiply(a * b, c, out=out[2])


def quat_norms(quats: np.ndarray, out: np.ndarray) -> None:
    """sqrt(w*w + x*x + y*y + z*z) of each column of (4, rows) ``quats`` into ``out``,
    summed left to right in the array's dtype.

    Example:
        >>> out = np.empty(1)
        >>> quat_norms(np.array([[1.0], [2.0], [2.0], [4.0]]), out)
        >>> out.tolist()
        [5.0]
    """
    w, x, y, z = quats
    with np.errstate(**QUIET):
        np.sqrt(w * w + x * x + y * y + z * z, out=out)


def gather_columns(block: np.ndarray, columns: np.ndarray, out: np.ndarray) -> None:
    """Copy the columns ``columns`` of a (rows, K) array into the rows of ``out`` (its first
    ``rows`` columns).

    Example:
        >>> out = np.zeros((2, 3))
        >>> gather_columns(np.arange(6.0).reshape(2, 3), np.array([2, 0]), out)
        >>> out.tolist()
        [[2.0, 5.0, 0.0], [0.0, 3.0, 0.0]]
    """
    out[:, :block.shape[0]] = block[:, columns].T


__all__ = ["chunk_histogram", "chunk_moments", "gather_columns", "is_sorted",
           "partition_below", "quat_norms", "runs", "scale_summaries"]
