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


__all__ = ["QUIET", "values_as_data"]
