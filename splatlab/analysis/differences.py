"""Field-by-field comparison of two splats of the same rows: what changed, by how much.

Used to prove that a repair touched only what it claims to, and to compare one scene in
two formats: where the second stores the rows in another order (compressed PLY and SOG
reorder them), rows are paired by nearest position as
:func:`~splatlab.analysis.conversion.conversion_loss` pairs them
(:mod:`~splatlab.analysis.matching`).

Example:
    >>> from splatlab import data
    >>> d = diff(data.trellis_like(), data.chained())     # before and after the miner's chain
    >>> d.loc[d["changed"] > 0].index.tolist()
    ['opacity']
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..core.floats import SUMMARY_KEYS, binary_exponent, finite_summary, values_as_data
from ..core.io import load
from ..core.ply import one_line
from ..core.splat import Splat
from .matching import MatchMethod, match_rows

COLUMNS = ("status", "changed", "changed_share", "nonfinite_changed", "max_abs_change",
           "mean_abs_change", *(f"{side}_{k}" for side in "ab" for k in SUMMARY_KEYS))


class DiffError(ValueError):
    """Two splats that :func:`diff` cannot compare (their row counts differ); the message
    names both, on one line.

    Example:
        >>> str(DiffError("a.ply", 3, "b.ply", 2))
        'a.ply (3 rows) and b.ply (2 rows): diff compares row by row; rows must match in count'
    """

    def __init__(self, a: str, a_rows: int, b: str, b_rows: int):
        self.a, self.b = a, b
        super().__init__(one_line(f"{a} ({a_rows:,} rows) and {b} ({b_rows:,} rows): diff"
                                  " compares row by row; rows must match in count"))


@values_as_data
def diff(a: Splat | str | os.PathLike, b: Splat | str | os.PathLike, *,
         match: MatchMethod = "auto") -> pd.DataFrame:
    """Compare two splats (or paths) property by property, row by row.

    One row a property (index ``field``), in ``a``'s order, then properties only in
    ``b``. Columns: ``status`` (``same``, ``changed``, ``only in a``, ``only in b``),
    ``changed`` (rows whose value differs; NaN == NaN and inf == inf count as
    unchanged), ``changed_share``, ``nonfinite_changed`` (changed rows where either
    side is not finite), ``max_abs_change`` and ``mean_abs_change`` (over rows where
    both sides are finite; the mean over all such rows), then ``a_<stat>`` and
    ``b_<stat>`` for ``finite, mean, std, min, max``. Raises :class:`DiffError` (a
    ValueError naming both) when the row counts differ.

    Rows pair by order unless their order differs (``match="auto"``: see
    :func:`~splatlab.analysis.matching.match_rows`; ``"order"`` or ``"position"`` force
    one): then each row of ``b`` pairs with the nearest row of ``a``, the change columns
    count paired rows only, and ``frame.attrs["match"]`` says how rows paired, how many
    unambiguously and how many were left unpaired (the summaries still cover every row).

    Example:
        >>> s = Splat.from_arrays({"x": np.float32([0, 1]), "y": np.float32([2, np.nan])})
        >>> diff(s, s.replace(x=[0, 5]))[["changed", "max_abs_change"]].to_dict("index")
        {'x': {'changed': 1, 'max_abs_change': 4.0}, 'y': {'changed': 0, 'max_abs_change': 0.0}}
    """
    a = a if isinstance(a, Splat) else load(a)
    b = b if isinstance(b, Splat) else load(b)
    if a.count != b.count:
        raise DiffError(_label(a), a.count, _label(b), b.count)
    pairs = match_rows(a, b, method=match)
    rows = {}
    in_a_names, in_b_names = set(a.properties), set(b.properties)
    names = [*a.properties, *(n for n in b.properties if n not in in_a_names)]
    for name in names:
        in_a, in_b = name in in_a_names, name in in_b_names
        row: dict[str, object] = {"status": "only in a" if not in_b else "only in b"}
        va = a.column(name) if in_a else None
        vb = b.column(name) if in_b else None
        if in_a and in_b:
            pa, pb = ((va, vb) if pairs.is_identity
                      else (va[pairs.a_rows], vb[pairs.b_rows]))
            row.update(field_changes(pa.astype(np.float64), pb.astype(np.float64)))
        for side, values in (("a", va), ("b", vb)):
            stats = finite_summary(values) if values is not None else dict.fromkeys(SUMMARY_KEYS)
            row.update({f"{side}_{k}": stats[k] for k in SUMMARY_KEYS})
        rows[name] = row
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(COLUMNS))
    frame.index.name = "field"
    frame.attrs["match"] = pairs.to_dict()
    return frame


def _label(splat: Splat) -> str:
    return str(splat.source) if splat.source is not None else "<splat>"


def field_changes(va: np.ndarray, vb: np.ndarray) -> dict[str, object]:
    """How two float64 columns of paired rows differ: ``status``, ``changed`` (NaN == NaN and
    inf == inf count as unchanged), ``changed_share``, ``nonfinite_changed``, and the max and
    mean absolute change over rows finite on both sides.

    Example:
        >>> field_changes(np.array([1.0, np.inf, 3.0]), np.array([1.5, np.inf, 3.0]))["changed"]
        1
    """
    same = (va == vb) | (np.isnan(va) & np.isnan(vb))
    changed = int((~same).sum())
    both = np.isfinite(va) & np.isfinite(vb)
    with np.errstate(over="ignore"):  # a change beyond float64 (1e308 to -1e308) is inf
        delta = np.abs(va[both] - vb[both])
    largest = float(delta.max()) if len(delta) else 0.0
    exponent = binary_exponent(largest) if np.isfinite(largest) else 0
    return {"status": "changed" if changed else "same", "changed": changed,
            "changed_share": changed / len(va) if len(va) else 0.0,
            "nonfinite_changed": int((~same & ~both).sum()),
            "max_abs_change": largest,
            "mean_abs_change": float(np.ldexp(np.ldexp(delta, -exponent).mean(), exponent))
            if len(delta) else 0.0}


__all__ = ["DiffError", "diff", "field_changes"]
