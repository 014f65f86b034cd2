"""Scan many PLY files into one table, one row a file, locally or on an executor.

Each row holds what an incident review reads first: the file's format, the count,
stored-opacity statistics, the scale spread, the share of gaussians the sn17 gate
counts as invisible (as the file is, and as the validator receives it through the SPZ
submission path), the shares at the miner's clamp spikes (``logit(1e-4)`` and
``logit(0.9999)``, and the older ``logit(1e-3)``/``logit(0.999)``) and the gate
verdict on both paths (``gate`` is what the validator decides: "pass", "reject" or
"cannot be submitted"; ``gate_as_is`` judges the file itself). An unreadable file
gives a row with ``error`` set instead of stopping the scan.

Example:
    >>> from splatlab import data
    >>> files = [data.path("trellis.ply"), data.path("corrupted.ply"), data.path("trellis.spz")]
    >>> scan(files)[["count", "gate", "gate_as_is"]].values.tolist()
    [[7040, 'pass', 'pass'], [7040, 'reject', 'reject'], [7040, 'pass', 'pass']]
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(2) as pool:
    ...     scan(files, executor=pool)["gate"].tolist()
    ['pass', 'reject', 'pass']
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ..core.fields import GAUSSIAN_PROPERTIES, GROUPS
from ..core.floats import values_as_data
from ..core.io import load
from ..core.ply import SplatFormatError, one_line
from ..core.progress import progress
from ..core.splat import Splat
from ..world import sn17
from ..world.miner import LOGIT_1E3, LOGIT_1E3_HIGH, LOGIT_1E4, LOGIT_1E4_HIGH
from ..world.sn17 import float32_sigmoid
from .diagnosis import near
from .differences import summary
from .gates import gate

SPIKE_ULPS = 4
"""A value within this many float32 steps of a clamp spike counts as at it (as in diagnose)."""

SPIKE_COLUMNS: dict[str, float] = {
    "spike_neg_9_21": LOGIT_1E4, "spike_pos_9_21": LOGIT_1E4_HIGH,
    "spike_neg_6_91": LOGIT_1E3, "spike_pos_6_91": LOGIT_1E3_HIGH,
}
"""Scan column -> the float32 value the miner's clamp leaves (share of gaussians at it)."""

COLUMNS = ("file", "format", "count", "opacity_mean", "opacity_min", "opacity_max",
           "opacity_std", "opacity_nonfinite", "scale_std", "alpha_below_1e-3",
           "alpha_below_1e-3_spz", *SPIKE_COLUMNS, "uniform_rule", "gate", "gate_failed",
           "gate_as_is", "error")
"""Columns of :func:`scan`, in order."""


SCANNED_SUFFIXES = (".ply", ".spz")
"""File names a folder scan picks up (the content decides how each is read)."""


class Executor(Protocol):
    def map(self, fn, *iterables): ...


def expand(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files named, and the ``*.ply`` and ``*.spz`` files under folders named (sorted,
    recursive).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> folder = Path(tempfile.mkdtemp())
        >>> for name in ("b.spz", "a.ply", "notes.txt", "sub/c.ply"):
        ...     (folder / name).parent.mkdir(exist_ok=True)
        ...     _ = (folder / name).write_bytes(b"")
        >>> [p.relative_to(folder).as_posix() for p in expand([folder])]
        ['a.ply', 'b.spz', 'sub/c.ply']
    """
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()
                                and p.suffix.lower() in SCANNED_SUFFIXES))
        else:
            files.append(path)
    return files


def opacity_metrics(splat: Splat) -> dict[str, Any]:
    """Stored-opacity and scale statistics as the write-up's table reports them.

    Mean, min, max and std (population) are over finite stored opacities;
    ``scale_std`` is the std of all 3 * count stored log scales.

    Example:
        >>> from splatlab import synth
        >>> opacity_metrics(synth.trellis(3200))["count"]
        3200
    """
    opacity = summary(splat.opacity)
    scales = summary(np.asarray(splat.columns(GROUPS["log_scales"])).ravel())
    return {
        "count": splat.count,
        "opacity_mean": opacity["mean"],
        "opacity_min": opacity["min"],
        "opacity_max": opacity["max"],
        "opacity_std": opacity["std"],
        "opacity_nonfinite": splat.count - opacity["finite"],
        "scale_std": scales["std"],
    }


def spike_shares(opacity: np.ndarray) -> dict[str, float]:
    """Share of gaussians at each clamp spike of :data:`SPIKE_COLUMNS`.

    Example:
        >>> spike_shares(np.float32([LOGIT_1E4, 0.0]))["spike_neg_9_21"]
        0.5
    """
    n = max(len(opacity), 1)
    return {name: float(near(opacity, value, SPIKE_ULPS).sum()) / n
            for name, value in SPIKE_COLUMNS.items()}


@values_as_data
def scan_splat(splat: Splat, rules: str = "sn17") -> dict[str, Any]:
    """One scan row for a Splat (``file`` is its source, or None).

    Example:
        >>> from splatlab import synth
        >>> row = scan_splat(synth.trellis(32 * 300))
        >>> row["gate"], row["gate_as_is"], row["format"]
        ('pass', 'pass', 'in-memory arrays')
    """
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row["file"] = str(splat.source) if splat.source else None
    row["format"] = splat.source_format.label
    missing = [n for n in GAUSSIAN_PROPERTIES if n not in splat.properties]
    if missing:  # named like a load error: the file first, one line
        row.update(count=splat.count, error=one_line(
            f"{row['file'] or '<splat>'}: not a 3DGS file: missing {', '.join(missing)}"))
        return row
    row.update(opacity_metrics(splat))
    opacity = np.asarray(splat.opacity)
    invisible = float32_sigmoid(opacity) < np.float32(sn17.INVISIBLE_ALPHA)
    row["alpha_below_1e-3"] = float(invisible.mean()) if invisible.size else np.nan
    row.update(spike_shares(opacity))
    row["uniform_rule"] = bool(row["opacity_std"] < 1.0)
    result = gate(splat, rules)
    row["gate"] = result.verdict
    row["gate_failed"] = ",".join(result.failed)
    row["gate_as_is"] = result.as_is.verdict
    checks = {c.name: c for c in result.checks}
    if "opacity" in checks:  # absent when the path refuses the file
        row["alpha_below_1e-3_spz"] = checks["opacity"].measured / 100
    return row


@values_as_data
def scan_file(path: str | os.PathLike, rules: str = "sn17") -> dict[str, Any]:
    """One scan row for a file; a file that cannot be read gives a row with ``error``.

    Example:
        >>> from splatlab import data
        >>> scan_file(data.path("trellis.ply"))["count"]
        7040
    """
    try:
        row = scan_splat(load(path), rules)
    except (SplatFormatError, OSError) as e:
        row = dict.fromkeys(COLUMNS)
        row["error"] = str(e) if isinstance(e, SplatFormatError) else f"{path}: {e.strerror or e}"
    row["file"] = str(path)
    return row


def scan(paths: Iterable[str | os.PathLike] | str | os.PathLike,
         executor: Executor | None = None, rules: str = "sn17") -> pd.DataFrame:
    """One row a file for files and folders (``*.ply`` and ``*.spz`` under them), in path
    order.

    ``executor``: anything with ``.map(fn, items)`` (a ``concurrent.futures``
    pool, ``dask.distributed.Client.get_executor()``); None scans here.

    Example:
        >>> from splatlab import data
        >>> scan([data.path("chained.ply")])[["count", "gate"]].values.tolist()
        [[7040, 'pass']]
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = [str(p) for p in expand(paths)]
    rules_each = [rules] * len(files)
    rows = list(progress(executor.map(scan_file, files, rules_each) if executor is not None
                         else map(scan_file, files, rules_each), "scan", total=len(files)))
    return pd.DataFrame(rows, columns=list(COLUMNS))


__all__ = ["COLUMNS", "SPIKE_COLUMNS", "expand", "opacity_metrics", "scan", "scan_file",
           "scan_splat", "spike_shares"]
