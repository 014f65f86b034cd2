"""Hostile values are data: splatlab counts and reports NaN, +-inf and values beyond a type's
range, so numpy's floating-point warnings about them say nothing more.

A signalling NaN (a flipped bit makes one) raises numpy's "invalid value encountered in
cast" on every float32 -> float64 cast and every ``exp``; a float64 beyond 3.4e38 raises
"overflow encountered in cast" on its way to float32 (as the validator's float32 loader
takes it); neither changes a result. :func:`values_as_data` turns these warnings off inside
each public verb (load, save, stats, diagnose, gate, diff, scan, the repairs, the models of
the validator and its submission path), so that a notebook or a terminal shows what the
verb found, not numpy's arithmetic; worker threads (which do not inherit the setting) use
:data:`QUIET` themselves.

Example:
    >>> import numpy as np
    >>> signalling = np.array([0x7F800001], np.uint32).view(np.float32)
    >>> @values_as_data
    ... def widen(values):
    ...     return values.astype(np.float64)
    >>> bool(np.isnan(widen(signalling))[0])      # and no RuntimeWarning
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np

F = TypeVar("F", bound=Callable)

QUIET = {"over": "ignore", "invalid": "ignore", "divide": "ignore"}
"""The ``numpy.errstate`` arguments of :func:`values_as_data` (underflow stays ignored, as by
default)."""


def values_as_data(fn: F) -> F:
    """Decorate a verb: numpy's floating-point warnings off while it runs (re-entrant,
    per thread)."""
    return np.errstate(**QUIET)(fn)


SUMMARY_KEYS = ("finite", "mean", "std", "min", "max")
"""The keys of :func:`finite_summary`, in order."""


def binary_exponent(largest: float) -> int:
    """The power of two ``e`` that brings the magnitude ``largest`` into [0.5, 1) (0 for 0):
    values times 2**-e (exact) neither overflow nor vanish in sums and squares.

    Example:
        >>> binary_exponent(1.5e308), binary_exponent(0.75), binary_exponent(0.0)
        (1024, 0, 0)
    """
    return int(np.frexp(largest)[1]) if largest > 0 else 0


@values_as_data
def finite_summary(values: np.ndarray) -> dict[str, float]:
    """Count of finite values and their mean, std (population), min and max (NaN when none
    is finite): the one summary of a column's finite values (``diff``'s ``a_*``/``b_*``
    columns, the scan's opacity metrics, the statistics reference, diff's row pairing).

    Mean and std are taken of the values scaled by a power of two (exact), so that values
    near float64's limits (+-1e308, subnormals) neither overflow nor vanish in the squares.

    Example:
        >>> finite_summary(np.array([1.0, 3.0, np.nan]))["mean"]
        2.0
        >>> finite_summary(np.array([-1.5e308, 1.5e308]))["std"]
        1.5e+308
    """
    v = np.asarray(values)
    finite = v[np.isfinite(v)].astype(np.float64)
    if not len(finite):
        return {"finite": 0, "mean": np.nan, "std": np.nan, "min": np.nan, "max": np.nan}
    low, high = float(finite.min()), float(finite.max())
    exponent = binary_exponent(max(abs(low), abs(high)))
    scaled = np.ldexp(finite, -exponent)
    return {"finite": int(len(finite)), "mean": float(np.ldexp(scaled.mean(), exponent)),
            "std": float(np.ldexp(scaled.std(), exponent)), "min": low, "max": high}


def sorted_finite(values: np.ndarray) -> np.ndarray:
    """The finite values of ``values`` as float64, sorted (what quantiles are read from).

    Example:
        >>> sorted_finite(np.float32([2.0, np.nan, -1.0, np.inf])).tolist()
        [-1.0, 2.0]
    """
    v = np.asarray(values)
    return np.sort(v[np.isfinite(v)].astype(np.float64))


__all__ = ["QUIET", "SUMMARY_KEYS", "binary_exponent", "finite_summary", "sorted_finite",
           "values_as_data"]
