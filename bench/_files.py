"""Benchmark inputs: TRELLIS-layout and INRIA SH-3 PLY files with realistic values.

Example:
    >>> path = trellis_file(Path("/tmp/bench"), 1000)   # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import splatlab
from splatlab.core.fields import inria_properties
from splatlab.world.trellis import PROPERTIES as TRELLIS_PROPERTIES

TRELLIS_ROWS = 762_112
INRIA_ROWS = 1_000_000


def _columns(names: tuple[str, ...], n: int, seed: int) -> dict[str, np.ndarray]:
    """Plausible 3DGS values: a unit-cube scene, logit opacities with a spike, log scales."""
    rng = np.random.default_rng(seed)
    opacity = rng.normal(-1.0, 3.0, n)
    opacity[rng.random(n) < 0.05] = np.log(1e-4 / (1 - 1e-4))   # pruned-looking spike
    generators = {
        "x": lambda: rng.uniform(-0.5, 0.5, n), "y": lambda: rng.uniform(-0.5, 0.5, n),
        "z": lambda: rng.uniform(-0.5, 0.5, n), "opacity": lambda: opacity,
        "nx": lambda: np.zeros(n), "ny": lambda: np.zeros(n), "nz": lambda: np.zeros(n),
    }
    columns = {}
    for name in names:
        if name in generators:
            values = generators[name]()
        elif name.startswith("scale_"):
            values = np.log(9e-4 + np.exp(rng.normal(-5.0, 0.8, n)))
        elif name.startswith("f_rest_"):
            values = rng.normal(0.0, 0.1, n)
        else:                                   # f_dc_*, rot_*
            values = rng.normal(0.0, 1.0, n)
        columns[name] = values.astype(np.float32)
    return columns


def _file(path: Path, names: tuple[str, ...], n: int, seed: int) -> Path:
    row_bytes = 4 * len(names)
    if path.exists() and path.stat().st_size > n * row_bytes:
        return path                          # generated before (same name means same content)
    path.parent.mkdir(parents=True, exist_ok=True)
    splatlab.save(splatlab.Splat.from_arrays(_columns(names, n, seed)), path, overwrite=True)
    return path


def trellis_file(folder: Path, n: int = TRELLIS_ROWS) -> Path:
    """A TRELLIS-layout file (17 float32 properties) of ``n`` gaussians in ``folder``."""
    return _file(folder / f"trellis_{n}.ply", TRELLIS_PROPERTIES, n, seed=1)


def inria_file(folder: Path, n: int = INRIA_ROWS) -> Path:
    """An INRIA SH-degree-3 file (62 float32 properties) of ``n`` gaussians in ``folder``."""
    return _file(folder / f"inria_{n}.ply", inria_properties(3), n, seed=2)
