"""Compiled loops behind :func:`splatlab.stats` (numba): chunk moments, sorted-run walks.

numpy needs a temporary the size of its input for each step of these; here each is one or
two sweeps. :func:`chunk_moments` reduces a (rows, K) chunk while it sits in cache (any
layout, so a strided view of a memory-mapped table is read in place);
:func:`partition_below` splits a column at a value so that two threads can sort the two
sides; :func:`runs` reads the longest run and the number of distinct values of a sorted
column; :func:`chunk_histogram` bins a chunk and notes which bins hold one value only.

Example:
    >>> import numpy as np
    >>> out = np.empty((8, 1))
    >>> chunk_moments(np.array([[1.0], [3.0], [np.nan]]), out)
    >>> out[:, 0].tolist()
    [2.0, 1.0, 0.0, 0.0, 2.0, 2.0, 1.0, 3.0]
"""

from __future__ import annotations

import numba
import numpy as np

_REASSOC = {"reassoc", "nsz"}    # lets LLVM vectorise the sums; NaN and inf semantics kept
_CACHED_ROWS = 1024              # rows of a slab swept once a column (stays in L2 cache)


@numba.njit(nogil=True, cache=True, fastmath=_REASSOC)
def _all_finite_moments(block: np.ndarray, out: np.ndarray) -> None:
    """Moments of every column as if all values were finite (a non-finite sum tells otherwise)."""
    rows, width = block.shape
    total = np.zeros(width)
    low = np.full(width, np.inf)
    high = np.full(width, -np.inf)
    m2 = np.zeros(width)
    if block.strides[0] < block.strides[1]:           # columns contiguous: one at a time
        for j in range(width):
            t, lo, hi = 0.0, np.inf, -np.inf
            for r in range(rows):
                v = np.float64(block[r, j])
                t += v
                lo = min(lo, v)
                hi = max(hi, v)
            mean_j, m = t / rows, 0.0
            for r in range(rows):
                d = block[r, j] - mean_j
                m += d * d
            total[j], low[j], high[j], m2[j] = t, lo, hi, m
    else:                                             # rows contiguous: all columns a row
        for r in range(rows):
            for j in range(width):
                v = np.float64(block[r, j])
                total[j] += v
                low[j] = min(low[j], v)
                high[j] = max(high[j], v)
        mean = total / rows
        for r in range(rows):
            for j in range(width):
                d = block[r, j] - mean[j]
                m2[j] += d * d
    for j in range(width):
        out[0, j], out[1, j], out[2, j], out[3, j] = rows, 0.0, 0.0, 0.0
        out[4, j], out[5, j], out[6, j], out[7, j] = total[j] / rows, m2[j], low[j], high[j]


@numba.njit(nogil=True, cache=True)
def _masked_column(block: np.ndarray, j: int, out: np.ndarray) -> None:
    """Moments of column ``j`` over its finite values, counting NaN, +inf and -inf apart."""
    n, nan, posinf, neginf = 0, 0, 0, 0
    total, low, high = 0.0, np.inf, -np.inf
    for r in range(block.shape[0]):
        v = np.float64(block[r, j])
        if np.isfinite(v):
            n += 1
            total += v
            low = min(low, v)
            high = max(high, v)
        elif v != v:
            nan += 1
        elif v > 0:
            posinf += 1
        else:
            neginf += 1
    mean = total / n if n > 0 else 0.0
    m2 = 0.0
    for r in range(block.shape[0]):
        v = np.float64(block[r, j])
        if np.isfinite(v):
            m2 += (v - mean) * (v - mean)
    out[0, j], out[1, j], out[2, j], out[3, j] = n, nan, posinf, neginf
    out[4, j], out[5, j], out[6, j], out[7, j] = mean, m2, low, high


@numba.njit(nogil=True, cache=True)
def chunk_moments(block: np.ndarray, out: np.ndarray) -> None:
    """(8, K) moments of each column of a (rows, K) array (rows > 0) into ``out``.

    Rows of ``out``: finite, nan, +inf, -inf counts, then mean, M2 (sum of squared
    deviations from the mean), min and max over the finite values; float64
    accumulation, two sweeps (mean first, then M2 around it). Columns whose sum is
    not finite are swept again with the non-finite values counted and left out.
    """
    _all_finite_moments(block, out)
    for j in range(block.shape[1]):
        if not np.isfinite(out[4, j] + out[5, j]):
            _masked_column(block, j, out)


@numba.njit(nogil=True, cache=True)
def partition_below(values: np.ndarray, pivot: float) -> int:
    """Reorder ``values`` in place so those below ``pivot`` come first; returns their count.

    NaN is not below anything, so it goes to the second part, where a sort puts it last.
    """
    i, j = 0, len(values) - 1
    while True:
        while i <= j and values[i] < pivot:
            i += 1
        while i <= j and not values[j] < pivot:
            j -= 1
        if i >= j:
            return i
        values[i], values[j] = values[j], values[i]
        i += 1
        j -= 1


@numba.njit(nogil=True, cache=True)
def runs(values: np.ndarray) -> tuple[float, int, int]:
    """(mode, its count, distinct values) of sorted ``values``: the mode is the value of the
    longest run of equal values, the smallest on ties; 0.0 and -0.0 are one value."""
    previous, run = 0.0, 0
    mode, longest, distinct = np.nan, 0, 0
    for k in range(len(values)):
        v = np.float64(values[k])
        if run > 0 and v == previous:
            run += 1
        else:
            if run > longest:
                mode, longest = previous, run
            previous, run = v, 1
            distinct += 1
    if run > longest:
        mode, longest = previous, run
    return mode, longest, distinct


@numba.njit(nogil=True, cache=True)
def is_sorted(values: np.ndarray) -> bool:
    """True when ``values`` is in ascending order (NaN last, as numpy sorts)."""
    for k in range(1, len(values)):
        if values[k] < values[k - 1] or (values[k - 1] != values[k - 1]
                                         and values[k] == values[k]):
            return False
    return True


@numba.njit(nogil=True, cache=True)
def chunk_histogram(block: np.ndarray, low: np.ndarray, span: np.ndarray, counts: np.ndarray,
                    last: np.ndarray) -> None:
    """Add the finite values of each column j of a (rows, K) array to its histogram.

    Column j has ``counts.shape[1]`` equal bins over ``[low[j], low[j] + span[j]]`` (a
    column with ``span[j] <= 0`` is skipped). ``last`` holds a bin's value while every
    value put in it was that one, and NaN (for good) once two differed, so a non-empty
    bin whose ``last`` is not NaN holds ``counts`` copies of it.
    """
    bins = counts.shape[1]
    for start in range(0, block.shape[0], _CACHED_ROWS):     # a cached slab, column by column
        stop = min(start + _CACHED_ROWS, block.shape[0])
        for j in range(block.shape[1]):
            if not span[j] > 0:
                continue
            scale, lowest = bins / span[j], low[j]
            column_counts, column_last = counts[j], last[j]
            for r in range(start, stop):
                v = block[r, j]
                if not np.isfinite(v):
                    continue
                b = min(int((v - lowest) * scale), bins - 1) if np.isfinite(scale) else 0
                seen, value = column_counts[b], column_last[b]
                column_last[b] = v if seen == 0 else (value if value == v else np.nan)
                column_counts[b] = seen + 1


@numba.njit(nogil=True, cache=True, error_model="numpy")
def scale_summaries(linear: np.ndarray, out: np.ndarray) -> None:
    """Largest scale, largest over smallest, and product, of each column of (3, rows)
    ``linear`` into the rows of (3, rows) ``out``.

    The same roundings as numpy's ``maximum``/``minimum`` chains (NaN propagates), ``/`` and
    ``a * b * c`` in the array's dtype, in one sweep instead of seven.
    """
    for r in range(linear.shape[1]):
        a, b, c = linear[0, r], linear[1, r], linear[2, r]
        high = _nan_max(_nan_max(a, b), c)
        out[0, r] = high
        out[1, r] = high / _nan_min(_nan_min(a, b), c)
        out[2, r] = a * b * c


@numba.njit(nogil=True, cache=True)
def quat_norms(quats: np.ndarray, out: np.ndarray) -> None:
    """sqrt(w*w + x*x + y*y + z*z) of each column of (4, rows) ``quats`` into ``out``,
    summed left to right in the array's dtype, as numpy does."""
    for r in range(quats.shape[1]):
        w, x, y, z = quats[0, r], quats[1, r], quats[2, r], quats[3, r]
        out[r] = np.sqrt(w * w + x * x + y * y + z * z)


@numba.njit(inline="always")
def _nan_max(x, y):
    """``np.maximum`` of two scalars: NaN if either is, ``y`` when equal (0.0 and -0.0)."""
    return x if (x > y or x != x) else y


@numba.njit(inline="always")
def _nan_min(x, y):
    """``np.minimum`` of two scalars: NaN if either is, ``y`` when equal (0.0 and -0.0)."""
    return x if (x < y or x != x) else y


@numba.njit(nogil=True, cache=True)
def gather_columns(block: np.ndarray, columns: np.ndarray, out: np.ndarray) -> None:
    """Copy the columns ``columns`` of a (rows, K) array into the rows of ``out``."""
    for r in range(block.shape[0]):
        for i in range(len(columns)):
            out[i, r] = block[r, columns[i]]
