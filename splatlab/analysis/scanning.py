"""Scan many 3DGS files into one table, one row a file, here, on local processes or on Dask.

Each row holds what an incident review reads first: the file (path, size, sha256), its
format as :func:`splatlab.core.io.detect_format` tells it, layout and encoding, the
count, stored-opacity statistics, the scale spread, the share of gaussians the sn17 gate
counts as invisible (as the file is, and as the validator receives it through the SPZ
submission path), the shares at the miner's clamp spikes (``logit(1e-4)`` and
``logit(0.9999)``, and the older ``logit(1e-3)``/``logit(0.999)``), every finding code
of :func:`splatlab.diagnose` with its severity (``findings``; ``worst`` the most severe)
and the gate verdict on both paths (``gate`` is what the validator decides: "pass",
"reject" or "cannot be submitted"; ``gate_as_is`` judges the file itself).

Every regular file named, matched by a glob or found under a folder (recursively) is a
row, whatever its name: a file that cannot be read, or is not a 3DGS file, gives a row
with ``error`` set, and the scan goes on. Names starting with ``.`` (hidden files and
folders) are left out of folder walks; symbolic links to folders are followed, each
folder once (a link loop ends). Rows are sorted by path, so every executor gives the
same table (:mod:`splatlab.core.parallel` says which executors there are).

Example:
    >>> from splatlab import data
    >>> files = [data.path("trellis.ply"), data.path("corrupted.ply"), data.path("trellis.spz")]
    >>> table = scan(files, workers=1)                 # sorted: corrupted, trellis.ply, .spz
    >>> table[["format", "gate", "worst"]].values.tolist()
    [['ply', 'reject', 'error'], ['ply', 'pass', 'info'], ['spz', 'pass', 'warning']]
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(2) as pool:
    ...     scan(files, executor=pool)["gate"].tolist()
    ['reject', 'pass', 'pass']
"""

from __future__ import annotations

import glob
import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.fields import GROUPS, missing_properties
from ..core.floats import finite_summary, values_as_data
from ..core.io import detect_format, load
from ..core.parallel import engine
from ..core.ply import SplatFormatError, one_line
from ..core.progress import announce
from ..core.splat import Splat, SplatFieldError
from ..world import sn17
from ..world.miner import LOGIT_1E3, LOGIT_1E3_HIGH, LOGIT_1E4, LOGIT_1E4_HIGH
from ..world.sn17 import float32_sigmoid
from .diagnosis import SEVERITY_ORDER, diagnose, near
from .gates import gate, remembered
from .statistics import set_threads

SPIKE_ULPS = 4
"""A value within this many float32 steps of a clamp spike counts as at it (as in diagnose)."""

SPIKE_COLUMNS: dict[str, float] = {
    "spike_neg_9_21": LOGIT_1E4, "spike_pos_9_21": LOGIT_1E4_HIGH,
    "spike_neg_6_91": LOGIT_1E3, "spike_pos_6_91": LOGIT_1E3_HIGH,
}
"""Scan column -> the float32 value the miner's clamp leaves (share of gaussians at it)."""

COLUMNS = ("file", "size", "sha256", "format", "layout", "encoding", "count", "opacity_mean",
           "opacity_min", "opacity_max", "opacity_std", "opacity_nonfinite", "scale_std",
           "alpha_below_1e-3", "alpha_below_1e-3_spz", *SPIKE_COLUMNS, "uniform_rule", "gate",
           "gate_failed", "gate_as_is", "findings", "worst", "error")
"""Columns of :func:`scan`, in order."""

DTYPES = {"size": "Int64", "count": "Int64", "opacity_nonfinite": "Int64",
          "uniform_rule": "boolean"}
"""Columns with a missing-value-aware dtype (an unreadable file has no count)."""

NO_FINDINGS = "none"
"""``worst`` of a file without findings."""

SECONDS_A_FILE, SECONDS_A_BYTE = 0.025, 1 / 30e6
"""What scanning one file costs on one core of the 2-core dev box (bench/bench_scan.py's fit,
rounded up): a fixed part and a part a byte."""

PARALLEL_ABOVE_S = 3.0
"""With no executor and no worker count given, a scan whose estimated work on one core is
below this runs in this process: starting worker processes (each imports torch and loads
the compiled kernels) costs seconds."""

HASH_CHUNK = 1 << 20
"""Bytes read at a time to hash a file (memory stays flat whatever the file's size)."""


def expand(paths: Iterable[str | os.PathLike] | str | os.PathLike) -> list[Path]:
    """Every file ``paths`` name: files as named, every file under folders (recursive, hidden
    names left out, symbolic links followed once), glob patterns expanded; sorted by path,
    each once. A name that is nothing on disk stays in the list (its row will say so).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> folder = Path(tempfile.mkdtemp())
        >>> for name in ("b.spz", "a.ply", "notes.txt", "sub/c.ply", ".hidden/d.ply"):
        ...     (folder / name).parent.mkdir(exist_ok=True)
        ...     _ = (folder / name).write_bytes(b"")
        >>> [p.relative_to(folder).as_posix() for p in expand([folder])]
        ['a.ply', 'b.spz', 'notes.txt', 'sub/c.ply']
        >>> [p.name for p in expand([str(folder / "*.ply")])]
        ['a.ply']
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    found: set[Path] = set()
    for named in paths:
        path = Path(named)
        if path.is_dir():
            found.update(_walk(path))
        elif not path.exists() and glob.has_magic(str(named)):
            for match in glob.glob(str(named), recursive=True):
                found.update(_walk(Path(match)) if Path(match).is_dir() else [Path(match)])
        else:
            found.add(path)
    return sorted(found, key=str)


def _walk(folder: Path) -> list[Path]:
    """Files under ``folder``: hidden names left out, each real folder walked once."""
    files: list[Path] = []
    seen: set[tuple[int, int]] = set()
    for root, folders, names in os.walk(folder, followlinks=True):
        here = os.stat(root)
        if (here.st_dev, here.st_ino) in seen:  # reached again through a link: a loop
            folders[:] = []
            continue
        seen.add((here.st_dev, here.st_ino))
        folders[:] = [d for d in folders if not d.startswith(".")]
        files.extend(Path(root, n) for n in names if not n.startswith("."))
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
    opacity = finite_summary(splat.opacity)
    scales = finite_summary(np.asarray(splat.columns(GROUPS["log_scales"])).ravel())
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


def _layout(splat: Splat) -> str:
    origin = splat.provenance.format
    if origin.name == "ply":
        return f"{splat.header.format}, {len(splat.properties)} properties"
    return f"{origin.label}, {len(splat.properties)} properties"


def _findings(splat: Splat) -> tuple[str, str]:
    """(``"SL202:error SL302:error ..."``, the worst severity) of :func:`diagnose`."""
    report = diagnose(splat)
    pairs = dict.fromkeys(f"{f.code}:{f.severity}" for f in report)
    worst = min((f.severity for f in report), key=SEVERITY_ORDER.__getitem__,
                default=NO_FINDINGS)
    return " ".join(pairs), worst


@values_as_data
def scan_splat(splat: Splat, rules: str = "sn17") -> dict[str, Any]:
    """One scan row for a Splat (``file`` is its source, or None; no size or hash).

    Example:
        >>> from splatlab import synth
        >>> row = scan_splat(synth.trellis(32 * 300))
        >>> row["gate"], row["gate_as_is"], row["layout"]
        ('pass', 'pass', 'in-memory arrays, 17 properties')
    """
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row["file"] = str(splat.source) if splat.source else None
    row["format"] = splat.provenance.format.name
    row["layout"] = _layout(splat)
    row["count"] = splat.count
    with remembered():  # the row, the findings and the gate share one SPZ round trip
        row["findings"], row["worst"] = _findings(splat)
        missing = missing_properties(splat.properties)
        if missing:  # named like a load error: the file first, one line
            row["error"] = one_line(f"{row['file'] or '<splat>'}: not a 3DGS file: missing"
                                    f" {', '.join(missing)}")
            return row
        encoding = splat.encoding
        row["encoding"] = f"opacity {encoding.opacity_looks}, scales {encoding.scales_look}"
        row.update(opacity_metrics(splat))
        opacity = np.asarray(splat.opacity)
        hidden = sn17.invisible(float32_sigmoid(opacity))
        row["alpha_below_1e-3"] = float(hidden.mean()) if hidden.size else np.nan
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


def sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, read a chunk at a time.

    Example:
        >>> from splatlab import data
        >>> p = data.path("trellis.ply")
        >>> sha256(p) == hashlib.sha256(p.read_bytes()).hexdigest()
        True
    """
    digest = hashlib.sha256()
    buffer = bytearray(HASH_CHUNK)
    view = memoryview(buffer)
    with open(path, "rb") as f:
        while size := f.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


@values_as_data
def scan_file(path: str | os.PathLike, rules: str = "sn17",
              known: frozenset[str] = frozenset()) -> dict[str, Any]:
    """One scan row for a file; a file that cannot be read gives a row with ``error``.

    A file whose sha256 is in ``known`` is not read further: its row holds the path, size
    and hash only, and ``format`` is None (:func:`scan` takes the rest from a report).

    Example:
        >>> from splatlab import data
        >>> row = scan_file(data.path("trellis.ply"))
        >>> row["count"], row["size"] == data.path("trellis.ply").stat().st_size
        (7040, True)
    """
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise SplatFormatError(path, "not a regular file" if not stat.S_ISDIR(info.st_mode)
                                   else "is a folder, not a file")
        row["size"] = info.st_size
        row["sha256"] = sha256(path)
        if row["sha256"] in known:
            row["file"] = str(path)
            return row
        row["format"] = detect_format(path)
        row.update({k: v for k, v in scan_splat(load(path), rules).items()
                    if k not in ("size", "sha256")})
    except (SplatFormatError, SplatFieldError, ValueError) as e:
        text = str(e)
        row["error"] = one_line(text if text.startswith(str(path)) else f"{path}: {text}")
    except OSError as e:
        row["error"] = one_line(f"{path}: {e.strerror or e}")
    except MemoryError:
        row["error"] = one_line(f"{path}: out of memory reading the file")
    row["file"] = str(path)
    return row


def _scan_one(path: str, shared: tuple[str, frozenset[str]]) -> dict[str, Any]:
    """The function the executors run: one file, with the rules and the known hashes."""
    rules, known = shared
    return scan_file(path, rules, known)


def estimate_s(sizes: list[int]) -> float:
    """Seconds one core takes to scan files of these sizes (:data:`SECONDS_A_FILE`,
    :data:`SECONDS_A_BYTE`).

    Example:
        >>> round(estimate_s([30_000_000, 0]), 2)
        1.05
    """
    return len(sizes) * SECONDS_A_FILE + sum(sizes) * SECONDS_A_BYTE


def worker_setup() -> None:
    """In a worker process of a parallel scan: statistics on one thread (the processes are
    the parallelism; two workers on two cores must not each start a second thread), and
    one small scan so that the compiled kernels are loaded before the first file."""
    from .. import data

    set_threads(1)
    scan_splat(data.trellis_like())


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def scan(paths: Iterable[str | os.PathLike] | str | os.PathLike,
         executor: Any = None, *, workers: int | None = None, rules: str = "sn17",
         resume: str | os.PathLike | pd.DataFrame | None = None) -> pd.DataFrame:
    """One row a file (see the module docstring), sorted by path.

    ``executor`` and ``workers``: where the work runs (:func:`splatlab.core.parallel.engine`:
    local processes by default, ``"dask://HOST:PORT"``, ``"dask://local"``, a
    ``distributed.Client``, any ``concurrent.futures`` executor); with neither given, a
    small scan (under :data:`PARALLEL_ABOVE_S` of estimated work) runs in this process.
    ``resume``: a report (a path :func:`read_report` reads, or a table): a file whose
    sha256 it holds is not scanned again, and its row is taken from it (under the file's
    path now). With Dask, ``table.attrs["dashboard"]`` is the dashboard's address (also
    shown as a link in a notebook, a line on a terminal).

    Example:
        >>> from splatlab import data
        >>> scan([data.path("chained.ply")])[["count", "gate"]].values.tolist()
        [[7040, 'pass']]
    """
    files = [str(p) for p in expand(paths)]
    previous = None
    if resume is not None:
        from .scan_reports import read_report

        previous = resume if isinstance(resume, pd.DataFrame) else read_report(resume)
        previous = previous.dropna(subset=["sha256"]).drop_duplicates("sha256")
    known = frozenset(previous["sha256"]) if previous is not None else frozenset()
    sizes = [_size(Path(f)) for f in files]
    if executor is None and workers is None and estimate_s(sizes) < PARALLEL_ABOVE_S:
        executor = "here"
    with engine(executor, workers, items=len(files)) as where:
        if where.dashboard:
            announce("Dask dashboard", where.dashboard)
        rows = where.run(_scan_one, files, shared=(rules, known), setup=worker_setup,
                         sizes=sizes, description="scan")
    if previous is not None:
        by_hash = previous.set_index("sha256")
        for i, row in enumerate(rows):
            if row["sha256"] in known and row["format"] is None and row["error"] is None:
                rows[i] = {**by_hash.loc[row["sha256"]].to_dict(), "sha256": row["sha256"],
                           "file": row["file"], "size": row["size"]}
    table = typed(pd.DataFrame(rows, columns=list(COLUMNS)))
    table.attrs["dashboard"] = where.dashboard
    return table


def typed(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` in :data:`COLUMNS` with the dtypes of :data:`DTYPES` (the text columns
    as text, empty text as None, the rest float): a scan's table and one read back from a
    report compare equal.

    Example:
        >>> typed(pd.DataFrame({"count": [7040.0, None]}))["count"].tolist()
        [7040, <NA>]
    """
    table = table.reindex(columns=list(COLUMNS))
    for column in COLUMNS:
        if column in DTYPES:
            table[column] = table[column].astype(DTYPES[column])
        elif column in _TEXT:  # "" as missing, as a CSV reads it back
            text = table[column].astype(object)
            table[column] = text.where(text.notna() & (text != ""), None)
        else:
            table[column] = pd.to_numeric(table[column], errors="coerce").astype(float)
    return table


_TEXT = ("file", "sha256", "format", "layout", "encoding", "gate", "gate_failed", "gate_as_is",
         "findings", "worst", "error")


def failing(table: pd.DataFrame) -> pd.Series:
    """True for each row that fails: unreadable, not passed by the gate (as the validator
    receives the file), or with an error-level finding.

    Example:
        >>> from splatlab import data
        >>> failing(scan([data.path("trellis.ply"), data.path("corrupted.ply")])).tolist()
        [True, False]
    """
    return (table["error"].notna() | (table["gate"].fillna("") != "pass")
            | (table["worst"] == "error"))


def worst_first(table: pd.DataFrame) -> pd.DataFrame:
    """The rows most in need of a look first: unreadable files, files the gate does not
    pass, then by worst finding (error, warning, info, none), then by path.

    Example:
        >>> from splatlab import data
        >>> worst_first(scan([data.path("trellis.ply"), data.path("corrupted.ply")],
        ...                  workers=1))["file"].str.rsplit("/", n=1).str[-1].tolist()
        ['corrupted.ply', 'trellis.ply']
    """
    severity = {**SEVERITY_ORDER, NO_FINDINGS: len(SEVERITY_ORDER)}
    rank = pd.DataFrame({
        "unreadable": table["error"].isna(),
        "gate": table["gate"].fillna("") == "pass",
        "worst": table["worst"].map(severity).fillna(len(severity)),
        "file": table["file"],
    }, index=table.index)
    return table.loc[rank.sort_values(["unreadable", "gate", "worst", "file"]).index]


__all__ = ["COLUMNS", "DTYPES", "NO_FINDINGS", "SPIKE_COLUMNS", "estimate_s", "expand", "failing",
           "opacity_metrics", "scan", "scan_file", "scan_splat", "sha256", "spike_shares",
           "typed", "worker_setup", "worst_first"]
