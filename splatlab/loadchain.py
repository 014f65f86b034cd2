"""Models of load chains: what a program sees in a file, or what it writes back.

Three programs matter to the incident (``shared/FACTS.md`` sections 2, 3 and 5):

* :func:`spz_roundtrip` / :func:`submission_problems`: the SPZ submission path between
  the miner and the validator (compress, then decompress; from
  :mod:`splatlab.submission`);
* :func:`validator_load` / :func:`validator`: the subnet-17 validator's loader
  (activations) and the normalisation it applies before rendering;
* :func:`miner_double_logit`: the miner's ``GaussianModel.load_ply`` + re-save, which
  treats stored logits as probabilities, clamps them and applies ``logit`` again.

Float32 arithmetic is done with torch on the CPU, as the programs do, so the
constants below are bit-identical to the spikes found in files.

Example:
    >>> import numpy as np
    >>> from splatlab import Splat
    >>> s = Splat.from_arrays({"opacity": np.array([-3.0, 0.5, 2.0], np.float32)})
    >>> miner_double_logit(s).opacity.tolist() == [LOGIT_1E4, 0.0, LOGIT_1E4_HIGH]
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .fields import GROUPS, SH_C0
from .render import validator_frame, validator_normalize
from .splat import Splat
from .submission import SubmissionRefused, spz_roundtrip, submission_problems

CLAMP_1E4: tuple[float, float] = (1e-4, 0.9999)
"""The miner's clamp at the time of the incident."""

CLAMP_1E3: tuple[float, float] = (1e-3, 0.999)
"""The miner's older clamp."""

REF_BBOX_SIZE = 1.5
"""The validator scales the scene so that its largest bounding-box side is this long."""


def float32_logit(p: float | np.ndarray) -> np.ndarray:
    """``log(p / (1 - p))`` computed in float32 with torch, as the miner's ``inverse_sigmoid``.

    Example:
        >>> float(float32_logit(1e-4))
        -9.210240364074707
    """
    x = torch.from_numpy(np.array(p, dtype=np.float32))
    return torch.log(x / (1 - x)).numpy()


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


LOGIT_1E4 = float(float32_logit(CLAMP_1E4[0]))
"""float32 ``logit(1e-4)`` = -9.210240364074707: every stored logit <= 1e-4 becomes this."""
LOGIT_1E4_HIGH = float(float32_logit(CLAMP_1E4[1]))
"""float32 ``logit(0.9999)`` = +9.210074424743652 (not exactly ``-LOGIT_1E4``)."""
LOGIT_1E3 = float(float32_logit(CLAMP_1E3[0]))
"""float32 ``logit(1e-3)`` = -6.906754970550537 (older clamp)."""
LOGIT_1E3_HIGH = float(float32_logit(CLAMP_1E3[1]))
"""float32 ``logit(0.999)`` = +6.906767845153809 (older clamp)."""

SPIKES: dict[str, float] = {
    "logit(1e-4)": LOGIT_1E4, "logit(0.9999)": LOGIT_1E4_HIGH,
    "logit(1e-3)": LOGIT_1E3, "logit(0.999)": LOGIT_1E3_HIGH,
}
"""The exact float32 values the miner's chain leaves in a file, by name."""


def double_logit(opacity: np.ndarray, clamp: tuple[float, float] = CLAMP_1E4) -> np.ndarray:
    """The miner's opacity arithmetic: read as a probability, clamp, logit again (float32).

    Example:
        >>> double_logit(np.array([-3.0, 0.5], np.float32)).tolist()
        [-9.210240364074707, 0.0]
    """
    low, high = (np.float32(c) for c in clamp)
    return float32_logit(np.clip(np.asarray(opacity, np.float32), low, high))


def miner_double_logit(splat: Splat, clamp: tuple[float, float] = CLAMP_1E4) -> Splat:
    """The file the miner re-saved after loading ``splat`` with its double-logit bug.

    Stored opacity is read as a probability, clamped to ``clamp`` and passed through
    ``log(x / (1 - x))`` in float32; scales stay as they are when their minimum is
    negative, else they are logged. The layout (properties, order, comments) is
    kept; only ``opacity`` and possibly ``scale_*`` change. Use ``clamp=CLAMP_1E3``
    for the older miner.

    Example:
        >>> s = Splat.from_arrays({"opacity": np.array([-3.0, 0.5], np.float32)})
        >>> miner_double_logit(s).opacity.tolist()
        [-9.210240364074707, 0.0]
    """
    fields: dict[str, np.ndarray] = {"opacity": double_logit(splat.opacity, clamp)}
    names = [n for n in GROUPS["log_scales"] if n in splat.properties]
    if names:
        scales = torch.from_numpy(np.stack([splat.column(n) for n in names], 1).astype(np.float32))
        if not bool(scales.min() < 0):
            fields.update({n: torch.log(scales[:, i]).numpy() for i, n in enumerate(names)})
    return splat.replace(**fields)


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


def validator_load(splat: Splat) -> ValidatorData:
    """What the validator's loader makes of ``splat``: the input of its gate.

    sigmoid opacity (no clamp), exp scales, normalised quaternions, base colour.

    Example:
        >>> validator_load(splatlab.load("scene.ply")).opacities.max()  # doctest: +SKIP
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


def validator(splat: Splat, ref_bbox_size: float = REF_BBOX_SIZE) -> ValidatorData:
    """What the validator renders: its loader's output, re-centred and rescaled.

    :func:`splatlab.render.validator_normalize` on the loader's output: one scalar
    (the mean of all coordinates together) is subtracted from every coordinate; the
    scene is scaled by ``factor = ref_bbox_size / largest bbox side``; scales are
    multiplied and activated opacities divided by that factor, then clipped to
    [0, 1]. A large scene (factor < 1) thus gets *more* opaque; a non-finite
    coordinate makes every position NaN, as in the validator.

    Example:
        >>> v = validator(splatlab.load("scene.ply"))  # doctest: +SKIP
        >>> np.ptp(v.means, axis=0).max()              # doctest: +SKIP
        1.5
    """
    loaded = validator_load(splat)
    means, scales, opacities = (torch.from_numpy(a) for a in
                                (loaded.means, loaded.scales, loaded.opacities))
    center, factor = validator_frame(means, ref_bbox_size)
    means, scales, opacities = validator_normalize(means, scales, opacities, ref_bbox_size)
    return ValidatorData(means=means.numpy(), scales=scales.numpy(), opacities=opacities.numpy(),
                         quats=loaded.quats, colors=loaded.colors, center=float(center),
                         factor=float(factor))


__all__ = [
    "CLAMP_1E3", "CLAMP_1E4", "LOGIT_1E3", "LOGIT_1E3_HIGH", "LOGIT_1E4", "LOGIT_1E4_HIGH",
    "REF_BBOX_SIZE", "SPIKES", "SubmissionRefused", "ValidatorData", "double_logit",
    "float32_logit", "float32_sigmoid", "miner_double_logit", "spz_roundtrip",
    "submission_problems", "validator", "validator_load",
]
