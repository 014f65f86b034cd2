"""Judge candidate repairs the way the validator would: its input gate, then its renders.

Example:
    >>> fixed, _ = splatlab.repair.uniform_noise(splat, seed=0)      # doctest: +SKIP
    >>> judge({"submitted": splat, "noise fix": fixed})              # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from .cameras import Camera, validator_rig
from .render import coverage_summary, coverage_table, render
from .scan import scan_splat
from .splat import Splat

JUDGE_COLUMNS = ("count", "opacity_mean", "opacity_std", "alpha_below_1e-3", "gate",
                 "gate_failed", "covered_mean", "covered_min", "empty_views")
"""Columns of :func:`judge`: scan numbers, the sn17 verdict, rig coverage (alpha > 0.5)."""


def judge(candidates: Mapping[str, Splat], cameras: Sequence[Camera] | None = None,
          device: str | None = None, renders: bool = True) -> pd.DataFrame:
    """One row a candidate: opacity numbers, the sn17 gate, and what the rig's renders cover.

    ``cameras`` default to the validator's 16-view rig; ``renders=False`` skips
    rendering (coverage columns are then NaN). A file the gate rejects is still
    rendered: the numbers show what the validator would have seen had it looked.

    Example:
        >>> judge({"a": splat}, renders=False).loc["a", "gate"]   # doctest: +SKIP
        'pass'
    """
    cams = list(validator_rig() if cameras is None else cameras)
    rows = []
    for name, splat in candidates.items():
        row = {key: value for key, value in scan_splat(splat).items() if key in JUDGE_COLUMNS}
        if renders:
            summary = coverage_summary(coverage_table(render(splat, cams, device)))
            row.update(covered_mean=summary["covered_mean"], covered_min=summary["covered_min"],
                       empty_views=int(summary["empty_views"]))
        rows.append({"candidate": name, **row})
    return pd.DataFrame(rows).set_index("candidate").reindex(columns=list(JUDGE_COLUMNS))
