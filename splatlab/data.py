"""Small, deterministic sample data, so that every example in the docs runs as written.

Each function builds the same splat or file on every call (seeded). Files go into one
temporary folder a process, made on first use and removed at exit.

Example:
    >>> from splatlab import data, load
    >>> splat = load(data.path("trellis.ply"))
    >>> splat.count, splat.is_gaussian
    (7040, True)
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .core.io import save
from .core.splat import Splat
from .world import miner_logs, synth
from .world.miner import LOGIT_1E4, miner_double_logit

SAMPLE_COUNT = 7_040
"""Gaussians in a sample: just above the sn17 gate's 7,000, a multiple of TRELLIS's 32."""

FILES = ("trellis.ply", "corrupted.ply", "chained.ply", "trellis.spz", "points.ply",
         "miner-out.log", "gen-worker-1-error.log", "sample.compressed.ply", "sample.sog",
         "sample.spz", "sample.splat", "sample.ksplat")
"""Names :func:`path` knows: a healthy TRELLIS-layout file; the write-up's corrupted file
(every opacity at logit(1e-4)); a healthy file after the miner's double logit; the healthy
file as SPZ (what pyspz.compress writes); a plain point cloud (x, y, z only); the miner's
and its generation worker's logs of the Phase-3 hours (:mod:`splatlab.world.miner_logs`);
and :func:`inria_sample` in the other formats of the field: PlayCanvas compressed PLY, SOG
(a zip bundle), Niantic SPZ version 4, antimatter15 ``.splat`` and mkkellogg ``.ksplat``."""
SAMPLE_FORMAT_COUNT = 2_048
"""Gaussians in the samples of other formats."""

_folder: list[Path] = []


def trellis_like(count: int = SAMPLE_COUNT, seed: int = 0,
                 opacity: float | np.ndarray | None = None) -> Splat:
    """A healthy TRELLIS-layout splat (17 float32 properties); ``opacity`` replaces the
    stored logits (a scalar fills them all).

    Example:
        >>> trellis_like().count, float(trellis_like(opacity=-9.21).opacity.std())
        (7040, 0.0)
    """
    if opacity is not None:
        opacity = np.broadcast_to(np.asarray(opacity, np.float32), (count,)).copy()
    return synth.trellis(count, seed, opacity=opacity)


def corrupted(count: int = SAMPLE_COUNT) -> Splat:
    """The write-up's corrupted file: every stored opacity at float32 logit(1e-4).

    Example:
        >>> float(corrupted().opacity[0])
        -9.210240364074707
    """
    return trellis_like(count, opacity=LOGIT_1E4)


def chained(count: int = SAMPLE_COUNT) -> Splat:
    """A healthy file after the miner's double logit (spikes at +-9.2102).

    Example:
        >>> bool((chained().opacity == np.float32(LOGIT_1E4)).any())
        True
    """
    return miner_double_logit(trellis_like(count))


def inria_sample(count: int = SAMPLE_FORMAT_COUNT) -> Splat:
    """The INRIA-layout splat (SH degree 3) behind the ``sample.*`` files.

    Example:
        >>> inria_sample().sh_degree
        3
    """
    return synth.inria(count, seed=7, sh_degree=3)


def _other_format_bytes(name: str) -> bytes:
    from .core import ksplat, sog, spz

    splat = inria_sample()
    columns = {n: splat.column(n) for n in splat.properties}
    if name == "sample.sog":
        return sog.bundle(sog.encode(columns))
    if name == "sample.ksplat":
        return ksplat.encode(columns)
    return spz.to_streams_bytes(spz.encode(columns))   # sample.spz: Niantic version 4


def path(name: str = "trellis.ply") -> Path:
    """A sample file (one of :data:`FILES`), written on first use into a temporary folder.

    Example:
        >>> path("trellis.spz").read_bytes()[:4].hex()
        '28b52ffd'
    """
    if name not in FILES:
        raise ValueError(f"no sample file {name!r}; known: {', '.join(FILES)}")
    if not _folder:
        _folder.append(Path(tempfile.mkdtemp(prefix="splatlab-data-")))
        atexit.register(shutil.rmtree, _folder[0], True)
    target = _folder[0] / name
    if target.exists():
        return target
    logs = {"miner-out.log": miner_logs.phase3_miner_log,
            "gen-worker-1-error.log": miner_logs.phase3_worker_log}
    if name in logs:
        target.write_text("\n".join(logs[name]()) + "\n", encoding="utf-8")
    elif name in ("sample.sog", "sample.ksplat", "sample.spz"):
        target.write_bytes(_other_format_bytes(name))
    else:
        splats = {"trellis.ply": trellis_like, "corrupted.ply": corrupted, "chained.ply": chained,
                  "trellis.spz": trellis_like, "sample.compressed.ply": inria_sample,
                  "sample.splat": inria_sample,
                  "points.ply": lambda: Splat.from_arrays(
                      {k: np.zeros(8, np.float32) for k in ("x", "y", "z")})}
        save(splats[name](), target)
    return target


__all__ = ["FILES", "SAMPLE_COUNT", "SAMPLE_FORMAT_COUNT", "chained", "corrupted",
           "inria_sample", "path", "trellis_like"]
