"""splatlab: forensic toolkit for 3D Gaussian Splatting files, Jupyter-first.

The verbs take a Splat (or a path) and return a value; nothing mutates its input.
Everything here is imported on first use, so ``import splatlab`` is cheap.

Example:
    >>> import splatlab
    >>> splat = splatlab.load(splatlab.data.path("trellis.ply"))
    >>> splatlab.gate(splat).passed, splatlab.diagnose(splat).has_errors
    (True, False)
"""

from __future__ import annotations

import importlib

from ._version import __version__ as __version__

_PUBLIC: dict[str, str] = {
    # core
    "load": "core.io", "save": "core.io", "Splat": "core.splat", "Encoding": "core.splat",
    "SplatFieldError": "core.splat", "SplatFormatError": "core.ply",
    # analysis
    "stats": "analysis.statistics", "diagnose": "analysis.diagnosis",
    "Report": "analysis.diagnosis", "Thresholds": "analysis.diagnosis",
    "diff": "analysis.differences", "gate": "analysis.gates", "GateResult": "analysis.gates",
    "scan": "analysis.scanning", "conversion_loss": "analysis.conversion",
    "LossReport": "analysis.conversion",
    # rendering
    "render": "rendering.rasterizer", "coverage": "rendering.rasterizer",
    "Camera": "rendering.cameras", "orbit_cameras": "rendering.cameras",
    "validator_rig": "rendering.cameras",
    # repair and viz
    "judge": "repair.judging", "histogram": "viz.plots", "field_grid": "viz.plots",
    "explore": "viz.widgets",
}
"""Public name -> the module (under splatlab) that defines it."""

_MODULES = {"data": "data", "incident": "incident", "loadchain": "loadchain",
            "repair": "repair", "synth": "world.synth"}
"""Public modules, by the name they have here."""


def __getattr__(name: str):
    """Import a public name's module on first use (PEP 562)."""
    if name in _PUBLIC:
        value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    elif name in _MODULES:
        value = importlib.import_module(f".{_MODULES[name]}", __name__)
    else:
        raise AttributeError(f"module 'splatlab' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC, *_MODULES])


__all__ = sorted(["__version__", *_PUBLIC, *_MODULES])
