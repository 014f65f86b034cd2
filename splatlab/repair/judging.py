"""Judge candidate repairs the way the validator would: its input gate, then its renders.

The gate is shown on both paths: ``gate`` for what the validator receives (the candidate
after the SPZ submission path, :func:`splatlab.submission.spz_roundtrip`), ``gate_as_is``
for the file itself. By default the renders too are of what the validator receives; a
candidate the path refuses never reaches a validator ("cannot be submitted") and is not
rendered. ``path="as-is"`` renders the candidates themselves.

Example:
    >>> from splatlab import synth
    >>> from splatlab.rendering.cameras import orbit_cameras
    >>> rig = orbit_cameras(2, 2.5, -15, 49.1, 32, 32)
    >>> table = judge({"a": synth.trellis(7040)}, cameras=rig)
    >>> table.loc["a", ["gate", "gate_as_is"]].tolist(), int(table.loc["a", "empty_views"])
    (['pass', 'pass'], 0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ..analysis.gates import SUBMISSION
from ..analysis.scanning import scan_splat
from ..core.progress import progress
from ..core.splat import Splat
from ..rendering.cameras import Camera, validator_rig
from ..rendering.rasterizer import coverage_summary, coverage_table, render
from ..world.submission import spz_roundtrip, submission_problems

JUDGE_COLUMNS = ("count", "opacity_mean", "opacity_std", "alpha_below_1e-3",
                 "alpha_below_1e-3_spz", "gate", "gate_failed", "gate_as_is", "covered_mean",
                 "covered_min", "empty_views")
"""Columns of :func:`judge`: scan numbers, the sn17 verdict on what the validator receives
and on the file as it is, rig coverage (alpha > 0.5) of what is rendered."""


def judge(candidates: Mapping[str, Splat], cameras: Sequence[Camera] | None = None,
          device: str | None = None, *, renders: bool = True, path: str = SUBMISSION
          ) -> pd.DataFrame:
    """One row a candidate: opacity numbers, the sn17 gate, and what the rig's renders cover.

    ``cameras`` default to the validator's 16-view rig; ``renders=False`` skips
    rendering (coverage columns are then NaN). A file the gate rejects is still
    rendered: the numbers show what the validator would have seen had it looked. With
    ``path="submission"`` (default) the rendered splat is the one the validator decodes;
    one the path refuses gets NaN coverage (the validator receives nothing);
    ``path="as-is"`` renders the candidate itself.

    Example:
        >>> from splatlab import data
        >>> table = judge({"healthy": data.trellis_like(), "corrupted": data.corrupted()},
        ...               renders=False)
        >>> table["gate"].tolist()
        ['pass', 'reject']
    """
    cams = list(validator_rig() if cameras is None else cameras)
    rows = []
    for name, splat in progress(candidates.items(), "judge", total=len(candidates),
                                unit="candidate"):
        row = {key: value for key, value in scan_splat(splat).items() if key in JUDGE_COLUMNS}
        shown = _rendered(splat, path)
        if renders and shown is not None:
            summary = coverage_summary(coverage_table(render(shown, cams, device)))
            row.update(covered_mean=summary["covered_mean"], covered_min=summary["covered_min"],
                       empty_views=int(summary["empty_views"]))
        rows.append({"candidate": name, **row})
    return pd.DataFrame(rows).set_index("candidate").reindex(columns=list(JUDGE_COLUMNS))


def _rendered(splat: Splat, path: str) -> Splat | None:
    """What the validator renders of ``splat``: None when it receives nothing."""
    if path != SUBMISSION:
        return splat
    return None if submission_problems(splat) else spz_roundtrip(splat)
