"""splatlab: forensic toolkit for 3D Gaussian Splatting PLY files.

Example:
    >>> import splatlab
    >>> splat = splatlab.load("scene.ply")        # doctest: +SKIP
    >>> splatlab.stats(splat)                      # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from .io import load, save  # noqa: E402
from .ply import SplatFormatError  # noqa: E402
from .splat import Encoding, Splat, SplatFieldError  # noqa: E402

__all__ = ["Encoding", "Splat", "SplatFieldError", "SplatFormatError", "load", "save",
           "__version__"]
