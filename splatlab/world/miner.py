"""The miner's load chain at the time of the incident (Quinut-McGee/3D-gen, FACTS.md section 3).

``GaussianModel.load_ply`` read TRELLIS's stored opacity *logits* as probabilities,
clamped them to [1e-4, 0.9999] and applied ``inverse_sigmoid`` again; the model was then
re-saved and submitted. Every stored logit <= 1e-4 became exactly logit(1e-4) = -9.2102,
every one >= 0.9999 became +9.2101. An earlier version clamped to [1e-3, 0.999].

Float32 arithmetic is done with torch on the CPU, as the miner's code does it, so the
constants below are bit-identical to the spikes found in files.

Example:
    >>> import numpy as np
    >>> from splatlab.core.splat import Splat
    >>> s = Splat.from_arrays({"opacity": np.array([-3.0, 0.5, 2.0], np.float32)})
    >>> miner_double_logit(s).opacity.tolist() == [LOGIT_1E4, 0.0, LOGIT_1E4_HIGH]
    True
"""

from __future__ import annotations

import numpy as np
import torch

from ..core.fields import GROUPS
from ..core.floats import values_as_data
from ..core.splat import Splat

CLAMP_1E4: tuple[float, float] = (1e-4, 0.9999)
"""The miner's clamp at the time of the incident."""

CLAMP_1E3: tuple[float, float] = (1e-3, 0.999)
"""The miner's older clamp."""


@values_as_data
def float32_logit(p: float | np.ndarray) -> np.ndarray:
    """``log(p / (1 - p))`` computed in float32 with torch, as the miner's ``inverse_sigmoid``.

    Example:
        >>> float(float32_logit(1e-4))
        -9.210240364074707
    """
    x = torch.from_numpy(np.array(p, dtype=np.float32))
    return torch.log(x / (1 - x)).numpy()


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


@values_as_data
def double_logit(opacity: np.ndarray, clamp: tuple[float, float] = CLAMP_1E4) -> np.ndarray:
    """The miner's opacity arithmetic: read as a probability, clamp, logit again (float32).

    Example:
        >>> double_logit(np.array([-3.0, 0.5], np.float32)).tolist()
        [-9.210240364074707, 0.0]
    """
    low, high = (np.float32(c) for c in clamp)
    return float32_logit(np.clip(np.asarray(opacity, np.float32), low, high))


@values_as_data
def miner_double_logit(splat: Splat, clamp: tuple[float, float] = CLAMP_1E4) -> Splat:
    """The file the miner re-saved after loading ``splat`` with its double-logit bug.

    Stored opacity is read as a probability, clamped to ``clamp`` and passed through
    ``log(x / (1 - x))`` in float32; scales stay as they are when their minimum is
    negative, else they are logged. The layout (properties, order, header lines) is
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


__all__ = ["CLAMP_1E3", "CLAMP_1E4", "LOGIT_1E3", "LOGIT_1E3_HIGH", "LOGIT_1E4",
           "LOGIT_1E4_HIGH", "SPIKES", "double_logit", "float32_logit", "miner_double_logit"]
