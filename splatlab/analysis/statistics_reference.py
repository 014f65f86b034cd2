"""The plain numpy reference of :func:`splatlab.stats`: slow, short, obviously right.

:func:`splatlab.stats` runs compiled loops over chunks on several threads (or torch on a
device), merges partial moments and sorts each column once; this module computes the same
table the way one would by hand, a column at a time in float64 numpy, so that the fast
engine is always checked against something simple (``tests/test_statistics_reference.py``
and the fuzzer compare the two on every kind of column). Counts, minimum, maximum, the
quantiles' ranks, the mode and the distinct count must agree exactly; mean and std within
:func:`moment_tolerance`, the rounding two float64 computations of them may differ by.

Example:
    >>> from splatlab import data, stats
    >>> splat = data.trellis_like()
    >>> fast, slow = stats(splat), reference_stats(splat)
    >>> bool((fast["finite"] == slow["finite"]).all()), list(fast.index) == list(slow.index)
    (True, True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.fields import GROUPS
from ..core.floats import finite_summary, sorted_finite, values_as_data
from ..core.splat import Splat

U = 2.0 ** -53
"""float64's unit roundoff."""


def moment_tolerance(n: int, largest: float) -> float:
    """How far two float64 computations of the mean (or std) of ``n`` finite values, the
    largest in magnitude ``largest``, may disagree by rounding alone.

    A float64 sum of n terms in any order is within (n - 1) u sum|x| of the exact sum
    (u = 2**-53), so a mean is within n u max|x|. The std: the two-pass sum of squared
    deviations about a mean off by d is the exact one plus n d**2, each term and the sum
    rounded within n u, so the std is off by at most d + n u std <= 2 n u max|x|. Chan's
    pairwise merges of chunks add a few u max|x| a level. Both sides err, so the two may
    differ by twice that: 4 (n + 64) u max|x| covers it with room. It is relative to the
    largest value, not to the result: a mean of +-3.4e38 values that nearly cancel is
    known only to about 1e23 in float64, however small it comes out.

    Example:
        >>> moment_tolerance(2000, 1.0) < 1e-12
        True
    """
    return 4.0 * (n + 64) * U * largest


@values_as_data
def reference_row(values: np.ndarray) -> dict[str, float]:
    """One row of the stats table for ``values``, in float64 numpy, with ``tolerance``
    (:func:`moment_tolerance`) beside mean and std.

    Mean, std, min and max are :func:`~splatlab.core.floats.finite_summary`'s (of the
    finite values times 2**-e, exact, so that columns near float64's limits neither
    overflow nor underflow), summed in sorted order. Quantiles are numpy's linear ones of
    the finite values; mode the most frequent finite value (the smallest on ties),
    ``mode_share`` its count over all values.

    Example:
        >>> row = reference_row(np.array([1.0, 2.0, 2.0, np.nan, np.inf]))
        >>> row["finite"], row["mean"], row["mode"], row["mode_share"], row["distinct"]
        (3, 1.6666666666666667, 2.0, 0.4, 2)
    """
    v = np.asarray(values).astype(np.float64)
    finite = sorted_finite(v)
    row: dict[str, float] = {
        "count": len(v), "finite": len(finite), "nan": int(np.isnan(v).sum()),
        "posinf": int((v == np.inf).sum()), "neginf": int((v == -np.inf).sum()),
        "mean": np.nan, "std": np.nan, "min": np.nan, "max": np.nan, "p01": np.nan,
        "p50": np.nan, "p99": np.nan, "mode": np.nan, "mode_share": np.nan, "distinct": 0,
        "tolerance": 0.0}
    if not len(finite):
        return row
    summary = finite_summary(finite)  # of the sorted values: the order its sums take
    largest = max(abs(summary["min"]), abs(summary["max"]))
    distinct, counts = np.unique(finite, return_counts=True)
    row.update(mean=summary["mean"], std=summary["std"], min=summary["min"], max=summary["max"],
               mode=float(distinct[counts.argmax()]),
               mode_share=float(counts.max() / len(v)), distinct=len(distinct),
               tolerance=moment_tolerance(len(finite), largest))
    row.update(zip(("p01", "p50", "p99"), _quantiles(finite)))
    return row


def _quantiles(ordered: np.ndarray) -> list[float]:
    """numpy's linear quantiles (1 %, 50 %, 99 %) of sorted finite values; between
    neighbours whose difference overflows float64 (near -1.8e308 and +1.8e308), their
    weighted mean."""
    out = []
    for q, value in zip((0.01, 0.5, 0.99), np.quantile(ordered, [0.01, 0.5, 0.99])):
        if not np.isfinite(value):
            h = q * (len(ordered) - 1)
            low, high = ordered[int(np.floor(h))], ordered[int(np.ceil(h))]
            t = h - np.floor(h)
            value = low * (1 - t) + high * t
        out.append(float(value))
    return out


@values_as_data
def derived_columns(splat: Splat) -> dict[str, np.ndarray]:
    """The derived rows of ``stats`` from the Splat's accessors: ``alpha``, ``linear_scale_k``,
    ``scale_max``, ``anisotropy`` (max / min), ``volume`` and ``quat_norm``, in float32 when
    their inputs are float32, else float64 (keys are the row names, before any
    ``(derived)`` suffix).

    Example:
        >>> from splatlab import data
        >>> list(derived_columns(data.trellis_like()))[:3]
        ['alpha', 'linear_scale_0', 'linear_scale_1']
    """
    names = set(splat.properties)
    out: dict[str, np.ndarray] = {}
    if "opacity" in names:
        out["alpha"] = splat.alpha
    scales = [n for n in GROUPS["log_scales"] if n in names]
    if scales:
        dtype = _float32_or_64([splat.column(n) for n in scales])
        stored = np.stack([splat.column(n).astype(dtype) for n in scales], axis=1)
        linear = stored if splat.scale_encoding == "linear" else np.exp(stored)
        for k, name in enumerate(scales):
            out[f"linear_scale_{name[-1]}"] = linear[:, k]
        if len(scales) == 3:
            high, low = linear.max(axis=1), linear.min(axis=1)
            out.update(scale_max=high, anisotropy=high / low,
                       volume=linear[:, 0] * linear[:, 1] * linear[:, 2])
    if all(n in names for n in GROUPS["quats"]):
        dtype = _float32_or_64([splat.column(n) for n in GROUPS["quats"]])
        q = [splat.column(n).astype(dtype) for n in GROUPS["quats"]]
        out["quat_norm"] = np.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
    return out


def reference_stats(splat: Splat) -> pd.DataFrame:
    """The stats table of ``splat`` (exact quantiles), one :func:`reference_row` a stored
    property then a derived row, as :func:`splatlab.stats` orders them; a ``tolerance``
    column beside.

    Example:
        >>> from splatlab import data
        >>> reference_stats(data.corrupted()).loc["opacity", "mode_share"]
        np.float64(1.0)
    """
    from .statistics import derived_label

    columns = {name: splat.column(name) for name in splat.properties}
    columns.update({derived_label(splat, name): values
                    for name, values in derived_columns(splat).items()})
    frame = pd.DataFrame([reference_row(v) for v in columns.values()],
                         index=pd.Index(list(columns), name="field"))
    return frame.astype({"distinct": "Int64"})


def disagreements(fast: pd.DataFrame, reference: pd.DataFrame) -> list[str]:
    """Where a stats table ``fast`` disagrees with :func:`reference_stats`: the same rows;
    counts, minimum, maximum, mode, mode share and distinct count equal (NaN equal to NaN);
    mean, std and the quantiles within the row's ``tolerance``. Columns ``fast`` lacks (a
    table without quantiles) are not compared. Empty when they agree.

    Example:
        >>> from splatlab import data, stats
        >>> disagreements(stats(data.chained()), reference_stats(data.chained()))
        []
    """
    if list(fast.index) != list(reference.index):
        return [f"rows {list(fast.index)} != reference rows {list(reference.index)}"]
    exact = ["count", "finite", "nan", "posinf", "neginf", "min", "max", "mode", "mode_share",
             "distinct"]
    close = ["mean", "std", "p01", "p50", "p99"]
    if "quantiles" in fast and (fast["quantiles"] != "exact").any():
        exact, close = exact[:7], close[:2]   # histogram or skipped quantiles
    out = []
    names = list(fast.index)
    for key in (k for k in exact if k in fast):
        a, b = _floats(fast[key]), _floats(reference[key])
        wrong = ~((a == b) | (np.isnan(a) & np.isnan(b)))
        out += [(i, f"{names[i]}: {key} {fast[key].iloc[i]!r}, reference"
                    f" {reference[key].iloc[i]!r}") for i in np.flatnonzero(wrong)]
    tolerance = reference["tolerance"].to_numpy(np.float64)
    for key in (k for k in close if k in fast):
        a, b = _floats(fast[key]), _floats(reference[key])
        with np.errstate(invalid="ignore"):
            wrong = (np.isnan(a) != np.isnan(b)) | (~np.isnan(b) & ~(np.abs(a - b) <= tolerance))
        out += [(i, f"{names[i]}: {key} {a[i]!r}, reference {b[i]!r}"
                    f" (tolerance {tolerance[i]:.3g})") for i in np.flatnonzero(wrong)]
    return [message for _, message in sorted(out, key=lambda pair: pair[0])]


def _floats(column: pd.Series) -> np.ndarray:
    """A column as float64, missing values (NaN, None, pd.NA) as NaN."""
    return pd.to_numeric(column, errors="coerce").to_numpy(np.float64, na_value=np.nan)


def _float32_or_64(columns: list[np.ndarray]) -> type:
    """float32 when every column is float32 (either byte order), else float64."""
    single = all(c.dtype.kind == "f" and c.dtype.itemsize == 4 for c in columns)
    return np.float32 if single else np.float64


__all__ = ["derived_columns", "disagreements", "moment_tolerance", "reference_row",
           "reference_stats"]
