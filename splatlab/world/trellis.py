"""What TRELLIS writes (microsoft/TRELLIS ``gaussian_model.py``, FACTS.md section 1).

One home for every fact about the generator's output: the property order, 32 gaussians
per active voxel of a 64^3 grid, opacity stored as a logit with a bias of logit(0.1)
(saturating to ``+inf``), log scales floored at the 3D filter kernel size 9e-4.
Synthetic files to this specification come from :func:`splatlab.world.synth.trellis`.

Example:
    >>> len(PROPERTIES), PER_VOXEL, round(LOG_SCALE_FLOOR, 4)
    (17, 32, -7.0131)
"""

from __future__ import annotations

import numpy as np
import torch

from ..core.fields import GROUPS
from .miner import float32_logit

PROPERTIES: tuple[str, ...] = (
    *GROUPS["positions"], *GROUPS["normals"], *GROUPS["sh_dc"], "opacity",
    *GROUPS["log_scales"], *GROUPS["quats"],
)
"""The 17 float32 properties TRELLIS writes, in its order (normals written as zeros)."""
GRID = 64
"""Voxels a side of TRELLIS's sparse structure."""
PER_VOXEL = 32
"""Gaussians TRELLIS's decoder emits for each active voxel: counts are multiples of this."""
SCALE_FLOOR = 9e-4
"""TRELLIS's 3D filter kernel size: activated scales are at least this."""
LOG_SCALE_FLOOR = float(np.log(np.float32(SCALE_FLOOR)))
"""log(9e-4) in float32 (-7.0131): the smallest stored scale TRELLIS writes."""
OPACITY_BIAS = float(np.log(0.1 / 0.9))
"""TRELLIS adds logit(0.1) to the network's opacity before the sigmoid."""


def trellis_logits(pre_activation: np.ndarray) -> np.ndarray:
    """TRELLIS's stored opacity: ``inverse_sigmoid(sigmoid(x + bias))`` in float32.

    Above about x + bias = 16.6 the sigmoid saturates and the stored value is ``+inf``.

    Example:
        >>> trellis_logits(np.array([0.0, 30.0])).tolist()
        [-2.1972246170043945, inf]
    """
    x = torch.from_numpy(np.asarray(pre_activation, np.float32) + np.float32(OPACITY_BIAS))
    return float32_logit(torch.sigmoid(x).numpy())


__all__ = ["GRID", "LOG_SCALE_FLOOR", "OPACITY_BIAS", "PER_VOXEL", "PROPERTIES", "SCALE_FLOOR",
           "trellis_logits"]
