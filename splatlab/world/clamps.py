"""The values the field's formats and their reference tools clamp a field to.

A conversion through a lossy format pins values beyond its range at one bound, and a
decoder may write an unbounded value (an alpha byte 0 or 255 as a logit) as +-inf or as
a clamp of its own. Each :class:`Clamp` is one such bound, with the format or tool that
produces it and how far a value must have moved onto it to count as clamped (half the
format's quantisation step there, so that ordinary rounding does not count). Measured on
the reference decodes in ``../shared/fixtures/formats/decoded`` (splat-transform 3.10.2,
gaussforge 0.6.0) and on 404-Repo/spz's outputs; where a bound is the writer's rule, the
rule is named.

Example:
    >>> [c.value for c in clamps_for("scale_2") if "SPZ" in c.formats]
    [-10.0, 5.9375]
    >>> round(LOGIT_CLAMP, 4)
    13.8155
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..core import spz
from ..core.fields import GROUPS, SH_C0

LOGIT_CLAMP = float(np.float32(np.log(1e6)))
"""logit(1 - 1e-6): splat-transform's SPZ and SOG readers clamp alpha to [1e-6, 1 - 1e-6]
before the logit, so alpha bytes 0 and 255 come back as -+13.8155 instead of -+inf."""
ALPHA_254 = float(np.float32(np.log(254.0)))
"""logit(254/255) = ln 254 = 5.5373: the top of an 8-bit alpha that stops at byte 254. The
decodes of hamburger's ``.splat``, ``.ksplat`` (gaussforge) and SOG (splat-transform) hold
exactly its 691 source opacities above 5.5373 there, and nothing above."""
COMPRESSED_PLY_SCALE = 20.0
"""splat-transform's compressed PLY clamps each 256-row chunk's log-scale range to
[-20, 20] (its writer's rule, "because sometimes values are at infinity"), so log scales
beyond pin there. The fixtures do not reach it: hamburger's log scales, down to -11.48,
come back from its compressed PLY unclamped (errors under 0.003, the 11-10-11-bit chunk
steps), unlike SPZ's -10."""
SPZ_COLOR = float(np.float32(0.5) / spz.COLOR_SCALE)
"""f_dc of SPZ colour bytes 0 and 255: (0 - 0.5) / 0.15 and (1 - 0.5) / 0.15 = -+3.3333."""
BYTE_COLOR = float(0.5 / SH_C0)
"""f_dc of an 8-bit colour at 0 or 255 (.splat, .ksplat: colour = 0.5 + SH_C0 f_dc): -+1.7725."""

Side = Literal["low", "high"]


@dataclass(frozen=True)
class Clamp:
    """One bound a format pins a field to.

    ``value`` is the stored value a clamped field holds (``-inf``/``inf`` for a byte decoded
    without a clamp); ``side`` says which end; ``fields`` the properties it applies to
    (``"f_rest_*"`` for every higher SH coefficient); ``formats`` who clamps there, in
    words; ``moved``: a converted value at the bound counts as clamped when its source lay
    more than this away (half the format's step at the bound: rounding is not clamping);
    ``telling``: whether a pile of values at the bound shows a clamp by itself (not so for
    an 8-bit alpha's bytes 1 and 254, where an ordinary field's ends fall too).

    Example:
        >>> Clamp(-10.0, "low", ("scale_0",), "SPZ", 1 / 32).applies("scale_0")
        True
    """

    value: float
    side: Side
    fields: tuple[str, ...]
    formats: str
    moved: float
    telling: bool = True

    def applies(self, name: str) -> bool:
        """True when this bound concerns the property ``name``."""
        return name in self.fields or ("f_rest_*" in self.fields and name.startswith("f_rest_"))


_SCALES = GROUPS["log_scales"]
_DC = GROUPS["sh_dc"]
_SPZ_SH_HALF_STEP = 8 / 128
"""SPZ rounds SH to buckets of 16 (degree 1: 8) of 1/128: half the coarser bucket."""

CLAMPS: tuple[Clamp, ...] = (
    Clamp(-np.inf, "low", ("opacity",), "an alpha byte 0 decoded without a clamp (SPZ as"
          " pyspz and Niantic's spz decode it; compressed PLY as splat-transform reads it)", 0.0),
    Clamp(np.inf, "high", ("opacity",), "an alpha byte 255 decoded without a clamp (SPZ as"
          " pyspz and Niantic's spz decode it; compressed PLY as splat-transform reads it)", 0.0),
    Clamp(-LOGIT_CLAMP, "low", ("opacity",), "alpha byte 0 as splat-transform's SPZ and SOG"
          " readers decode it (alpha clamped to 1e-6)", 1e-3),
    Clamp(LOGIT_CLAMP, "high", ("opacity",), "alpha byte 255 as splat-transform's SPZ and SOG"
          " readers decode it (alpha clamped to 1 - 1e-6)", 1e-3),
    Clamp(-ALPHA_254, "low", ("opacity",), "an 8-bit alpha stopped at byte 1 (.splat and"
          " .ksplat as gaussforge writes them, SOG as splat-transform writes it)", 0.7, False),
    Clamp(ALPHA_254, "high", ("opacity",), "an 8-bit alpha stopped at byte 254 (.splat and"
          " .ksplat as gaussforge writes them, SOG as splat-transform writes it)", 0.7, False),
    Clamp(spz.LOG_SCALE_RANGE[0], "low", _SCALES, "SPZ's log-scale byte 0 (-10)", 1 / 32),
    Clamp(spz.LOG_SCALE_RANGE[1], "high", _SCALES, "SPZ's log-scale byte 255 (5.9375)", 1 / 32),
    Clamp(-COMPRESSED_PLY_SCALE, "low", _SCALES, "compressed PLY's log-scale clamp"
          " (splat-transform: -20)", 1e-6),
    Clamp(COMPRESSED_PLY_SCALE, "high", _SCALES, "compressed PLY's log-scale clamp"
          " (splat-transform: 20)", 1e-6),
    Clamp(-SPZ_COLOR, "low", _DC, "SPZ's colour byte 0 (f_dc -3.333)", 0.5 / 255 / 0.15),
    Clamp(SPZ_COLOR, "high", _DC, "SPZ's colour byte 255 (f_dc 3.333)", 0.5 / 255 / 0.15),
    Clamp(-BYTE_COLOR, "low", _DC, "an 8-bit colour at 0 (.splat, .ksplat: f_dc -1.7725)",
          0.5 / 255 / SH_C0),
    Clamp(BYTE_COLOR, "high", _DC, "an 8-bit colour at 255 (.splat, .ksplat: f_dc 1.7725)",
          0.5 / 255 / SH_C0),
    Clamp(float(spz.SH_TABLE[0]), "low", ("f_rest_*",), "SPZ's SH byte 0 (-1)",
          _SPZ_SH_HALF_STEP),
    Clamp(float(spz.SH_TABLE[255]), "high", ("f_rest_*",), "SPZ's SH byte 255 (0.9921875)",
          _SPZ_SH_HALF_STEP),
)
"""Every bound known, by field; ``clamps_for`` selects a property's."""


def clamps_for(name: str) -> list[Clamp]:
    """The bounds that concern the property ``name`` (none for most properties).

    Example:
        >>> len(clamps_for("opacity")), clamps_for("nx")
        (6, [])
    """
    return [c for c in CLAMPS if c.applies(name)]


def at_bound(values: np.ndarray, clamp: Clamp, ulps: int = 4) -> np.ndarray:
    """Mask of ``values`` at ``clamp``'s value: equal for +-inf, else within ``ulps`` float32
    steps (decoders compute the bound in float32 or float64, a unit apart in the last place).

    Example:
        >>> at_bound(np.float32([13.815509, 13.8155, np.inf]), CLAMPS[3]).tolist()
        [True, False, False]
    """
    v = np.asarray(values, np.float64)
    if np.isinf(clamp.value):
        return v == clamp.value
    step = float(np.spacing(np.float32(abs(clamp.value))))
    with np.errstate(invalid="ignore"):
        return np.abs(v - clamp.value) <= ulps * step


__all__ = ["CLAMPS", "Clamp", "LOGIT_CLAMP", "at_bound", "clamps_for"]
