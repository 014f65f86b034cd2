"""Benchmark inputs: the library's synthetic TRELLIS and INRIA SH-3 files
(:mod:`splatlab.world.synth`), written once a size into a folder.

Example:
    >>> path = trellis_file(Path("/tmp/bench"), 1024)   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import splatlab
from splatlab.world import synth

TRELLIS_ROWS = 762_112
INRIA_ROWS = 1_000_000


def _file(path: Path, make: Callable[[], splatlab.Splat]) -> Path:
    if path.exists():                        # generated before (same name means same content;
        return path                          # save is atomic, so never a partial file)
    path.parent.mkdir(parents=True, exist_ok=True)
    splatlab.save(make(), path, overwrite=True)
    return path


def trellis_file(folder: Path, n: int = TRELLIS_ROWS) -> Path:
    """A TRELLIS file (``synth.trellis``: 17 float32 properties, ``n`` a multiple of 32)."""
    return _file(folder / f"synth_trellis_{n}.ply", lambda: synth.trellis(n, seed=1))


def inria_file(folder: Path, n: int = INRIA_ROWS) -> Path:
    """An INRIA SH-degree-3 file (``synth.inria``: 62 float32 properties) of ``n`` gaussians."""
    return _file(folder / f"synth_inria_{n}.ply", lambda: synth.inria(n, seed=2, sh_degree=3))
