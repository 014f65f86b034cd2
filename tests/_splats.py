"""Synthetic splats for the diagnose / gate / repair / diff tests."""

from __future__ import annotations

import numpy as np

from splatlab import Splat
from splatlab.world.trellis import LOG_SCALE_FLOOR, SCALE_FLOOR
from splatlab.world.trellis import PROPERTIES as TRELLIS_PROPERTIES

TRELLIS_FLOOR = LOG_SCALE_FLOOR


def trellis_columns(n: int = 10_240, seed: int = 0) -> dict[str, np.ndarray]:
    """Columns of a healthy TRELLIS-like file: 17 float32 properties, TRELLIS order.

    Positions fill the unit cube around the origin, normals are zero, opacity logits
    are N(-1, 3) (about 2.7 % below sigmoid 1e-3), scales are log(9e-4 + lognormal)
    (so at or above the TRELLIS floor), quaternions are random and not unit length.
    """
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-0.5, 0.5, (n, 3))
    scales = np.log(SCALE_FLOOR + np.exp(rng.normal(-5.0, 0.8, (n, 3))))
    values = np.column_stack([
        pos, np.zeros((n, 3)), rng.normal(0.0, 1.0, (n, 3)), rng.normal(-1.0, 3.0, n),
        scales, rng.normal(0.0, 1.0, (n, 4)) * rng.uniform(0.5, 2.0, (n, 1)),
    ]).astype(np.float32)
    return {name: values[:, i].copy() for i, name in enumerate(TRELLIS_PROPERTIES)}


def make_trellis_like(n: int = 10_240, seed: int = 0, **overrides: np.ndarray) -> Splat:
    """A healthy TRELLIS-like Splat; ``overrides`` replace whole columns (broadcast).

    Example:
        >>> float(make_trellis_like(64, opacity=-9.21).opacity.std())
        0.0
    """
    columns = trellis_columns(n, seed)
    for name, value in overrides.items():
        columns[name] = np.broadcast_to(np.asarray(value, np.float32), (n,)).copy()
    return Splat.from_arrays(columns)
