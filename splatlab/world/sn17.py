"""The subnet-17 validator (404-Repo/three-gen-subnet): every constant and rule it applies.

One home for what the validator does to a file it receives (``shared/FACTS.md`` sections
2 and 5); the submission path before it is :mod:`splatlab.world.submission`. A change to
the validator goes here:

* its input gate's thresholds (:data:`MIN_COUNT`, :data:`INVISIBLE_ALPHA`,
  :data:`MAX_INVISIBLE_SHARE`, the two checks that cannot fire as written);
* its loader (:func:`validator_load`: sigmoid opacity, exp scales, normalised rotations);
* its pre-render normalisation (:func:`validator_frame`, :func:`validator_normalize`,
  :data:`EXTENT`);
* its camera rig (:data:`RIG_VIEWS` ... :data:`RIG_FOV_Y_DEG`; cameras are built from them in
  :func:`splatlab.rendering.cameras.validator_rig`).

Float32 arithmetic is done with torch on the CPU, as the validator does it, so that
values at the gate's threshold come out as the validator's do.

Example:
    >>> import numpy as np
    >>> from splatlab.core.splat import Splat
    >>> float(float32_sigmoid(np.float32(0.0))), MIN_COUNT, INVISIBLE_ALPHA
    (0.5, 7000, 0.001)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core.fields import GROUPS, SH_C0
from ..core.floats import values_as_data
from ..core.splat import Splat

MIN_COUNT = 7000
"""The gate rejects a file with fewer gaussians."""
INVISIBLE_ALPHA = 1e-3
"""A gaussian with activated opacity below this counts as invisible to the gate."""
MAX_INVISIBLE_SHARE = 0.8
"""The gate rejects a file with more than this share of invisible gaussians."""
WRITTEN_SCALE_EPS = 0.05
"""The scale check's epsilon as written (it reduces every scale to one boolean)."""
INTENDED_SCALE_EPS = 1e-4
"""Our assumption for the scale check as evidently intended (per gaussian; see
:mod:`splatlab.analysis.gates`): 0.05 per gaussian would reject the validator's own asset."""
GATE_VERSION = "2025-11"
"""The version of ``is_input_data_valid`` these rules follow."""

EXTENT = 1.5
"""The validator scales a scene so that its largest bounding-box side is this long."""

RIG_VIEWS = 16
RIG_RESOLUTION = 518
RIG_ELEVATION_DEG = -15.0
RIG_RADIUS = 2.5
RIG_FOV_Y_DEG = 49.1
"""The render rig: views evenly spaced in azimuth over 0..360 degrees, square images."""


@values_as_data
def float32_sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` in float32 with torch, as the validator's loader computes it.

    numpy's float32 ``exp`` can differ from torch's by one unit in the last place,
    which matters at the gate's 1e-3 threshold (``sigmoid(logit(1e-3))`` is
    0.00099999981 here, below float32(1e-3)).

    Example:
        >>> float(float32_sigmoid(np.float32(0.0)))
        0.5
    """
    t = torch.from_numpy(np.array(x, dtype=np.float32))
    return (1.0 / (1.0 + torch.exp(-t))).numpy()


def invisible(alpha: np.ndarray) -> np.ndarray:
    """Mask of the gaussians the gate counts as invisible: activated opacity ``alpha`` below
    :data:`INVISIBLE_ALPHA`, compared in float32 as the validator compares (the gate's
    opacity check, the scan's ``alpha_below_1e-3``, diagnose's SL402).

    Example:
        >>> invisible(float32_sigmoid(np.float32([-7.0, -6.9, 0.0]))).tolist()
        [True, False, False]
    """
    return np.asarray(alpha) < np.float32(INVISIBLE_ALPHA)


@dataclass(frozen=True)
class ValidatorData:
    """Gaussians as the subnet-17 validator holds them (float32 numpy arrays).

    ``means`` (N,3), ``scales`` (N,3) activated, ``opacities`` (N,) activated,
    ``quats`` (N,4) unit (zero rows stay zero), ``colors`` (N,3) =
    0.5 + 0.28209479 * f_dc. ``center`` and ``factor`` are None for the loader's
    output (what the input gate judges) and set for the normalised data that is
    rendered: ``means = (raw - center) * factor``, ``scales *= factor``,
    ``opacities = clip(opacities / factor, 0, 1)``.
    """

    means: np.ndarray
    scales: np.ndarray
    opacities: np.ndarray
    quats: np.ndarray
    colors: np.ndarray
    center: float | None = None
    factor: float | None = None

    @property
    def count(self) -> int:
        return len(self.opacities)


@values_as_data
def validator_load(splat: Splat) -> ValidatorData:
    """What the validator's loader makes of ``splat``: the input of its gate.

    sigmoid opacity (no clamp), exp scales, normalised quaternions, base colour.

    Example:
        >>> from splatlab import data
        >>> float(validator_load(data.trellis_like()).opacities.max()) <= 1.0
        True
    """
    q = torch.from_numpy(np.array(splat.quats, dtype=np.float32))
    scales = np.exp(splat.columns(GROUPS["log_scales"]).astype(np.float32))
    return ValidatorData(
        means=np.ascontiguousarray(splat.positions, dtype=np.float32),
        scales=scales,
        opacities=float32_sigmoid(splat.opacity),
        quats=torch.nn.functional.normalize(q, dim=1).numpy(),
        colors=(0.5 + SH_C0 * splat.sh_dc.astype(np.float64)).astype(np.float32),
    )


def validator_frame(means: torch.Tensor, extent: float = EXTENT
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """The validator's ``center`` (one float64 scalar: the mean of all coordinates) and
    ``factor`` (``extent`` over the largest side of the axis-aligned bounding box).

    Example:
        >>> c, f = validator_frame(torch.tensor([[0.0, 0.0, 0.0], [3.0, 0.0, 0.0]]))
        >>> c.item(), f.item()
        (0.5, 0.5)
    """
    side = (means.amax(dim=0) - means.amin(dim=0)).max()
    return means.double().mean(), extent / side.double()


def validator_normalize(means: torch.Tensor, scales: torch.Tensor, opacities: torch.Tensor,
                        extent: float = EXTENT
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The validator's pre-render normalisation (FACTS.md section 2).

    ``means`` (N, 3), ``scales`` (N, 3) linear, ``opacities`` (N,) activated. With
    ``factor = extent / max(bbox side)``, where a bbox side is ``max - min`` of one axis (the
    axis-aligned bounding box the validator measures with open3d; the text's "fit an extent of
    1.5" is that box), returns ``(means - mean_of_all_coordinates) * factor`` (one scalar mean
    over all three axes together, so the result is *not* centred per axis), ``scales * factor``
    and ``clip(opacities / factor, 0, 1)``. Like the validator's numpy code, a non-finite
    coordinate anywhere, or a zero extent, makes every position NaN: nothing renders.

    Example:
        >>> m = torch.tensor([[0.0, 0.0, 0.0], [3.0, 0.0, 0.0]])
        >>> out = validator_normalize(m, torch.ones(2, 3), torch.tensor([0.25, 0.9]))
        >>> out[0].tolist(), out[1][0].tolist(), out[2].tolist()
        ([[-0.25, -0.25, -0.25], [1.25, -0.25, -0.25]], [0.5, 0.5, 0.5], [0.5, 1.0])
    """
    center, factor = validator_frame(means, extent)
    new_means = ((means.double() - center) * factor).to(means.dtype)
    new_scales = (scales.double() * factor).to(scales.dtype)
    new_opacities = (opacities.double() / factor).clamp(0.0, 1.0).to(opacities.dtype)
    return new_means, new_scales, new_opacities


@values_as_data
def validator(splat: Splat, extent: float = EXTENT) -> ValidatorData:
    """What the validator renders: its loader's output, re-centred and rescaled.

    :func:`validator_normalize` on the loader's output: one scalar (the mean of all
    coordinates together) is subtracted from every coordinate; the scene is scaled by
    ``factor = extent / largest bbox side``; scales are multiplied and activated
    opacities divided by that factor, then clipped to [0, 1]. A large scene
    (factor < 1) thus gets *more* opaque; a non-finite coordinate makes every position
    NaN, as in the validator.

    Example:
        >>> from splatlab import data
        >>> v = validator(data.trellis_like())
        >>> round(float(np.ptp(v.means, axis=0).max()), 4)
        1.5
    """
    loaded = validator_load(splat)
    means, scales, opacities = (torch.from_numpy(a) for a in
                                (loaded.means, loaded.scales, loaded.opacities))
    center, factor = validator_frame(means, extent)
    means, scales, opacities = validator_normalize(means, scales, opacities, extent)
    return ValidatorData(means=means.numpy(), scales=scales.numpy(), opacities=opacities.numpy(),
                         quats=loaded.quats, colors=loaded.colors, center=float(center),
                         factor=float(factor))


__all__ = [
    "EXTENT", "GATE_VERSION", "INTENDED_SCALE_EPS", "INVISIBLE_ALPHA", "MAX_INVISIBLE_SHARE",
    "MIN_COUNT", "RIG_ELEVATION_DEG", "RIG_FOV_Y_DEG", "RIG_RADIUS", "RIG_RESOLUTION",
    "RIG_VIEWS", "ValidatorData", "WRITTEN_SCALE_EPS", "float32_sigmoid", "invisible", "validator",
    "validator_frame", "validator_load", "validator_normalize",
]
