"""splatlab: forensic toolkit for 3D Gaussian Splatting PLY files.

The verbs take a Splat (or a path) and return a value; nothing mutates its input.

Example:
    >>> import splatlab
    >>> splat = splatlab.load("scene.ply")        # doctest: +SKIP
    >>> splatlab.stats(splat)                      # doctest: +SKIP
    >>> splatlab.gate(splat).passed                # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import incident, loadchain, repair, synth  # noqa: E402
from .cameras import Camera, orbit_cameras, validator_rig  # noqa: E402
from .diagnose import Report, Thresholds, diagnose  # noqa: E402
from .diff import diff  # noqa: E402
from .gate import GateResult, gate  # noqa: E402
from .io import load, save  # noqa: E402
from .judge import judge  # noqa: E402
from .plots import field_grid, histogram  # noqa: E402
from .ply import SplatFormatError  # noqa: E402
from .render import coverage, render  # noqa: E402
from .scan import scan  # noqa: E402
from .splat import Encoding, Splat, SplatFieldError  # noqa: E402
from .stats import stats  # noqa: E402


def __getattr__(name: str):
    """``splatlab.explore`` imports the ipywidgets UI only when first asked for."""
    if name == "explore":
        from .widgets import explore

        return explore
    raise AttributeError(f"module 'splatlab' has no attribute {name!r}")

__all__ = ["Camera", "Encoding", "GateResult", "Report", "Splat", "SplatFieldError",
           "SplatFormatError", "Thresholds", "__version__", "coverage", "diagnose", "diff",
           "explore", "field_grid", "gate", "histogram", "incident", "judge", "load", "loadchain",
           "orbit_cameras", "render", "repair", "save", "scan", "stats", "synth", "validator_rig"]
