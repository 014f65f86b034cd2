"""Columns of a splat to edit by hand (the splats themselves come from ``splatlab.data`` and
``splatlab.world.synth``, the library's generators)."""

from __future__ import annotations

import numpy as np

from splatlab import Splat


def columns_of(splat: Splat) -> dict[str, np.ndarray]:
    """Writable copies of every column of ``splat``, in file order.

    Example:
        >>> from splatlab import data
        >>> list(columns_of(data.trellis_like(32)))[:4]
        ['x', 'y', 'z', 'nx']
    """
    return {name: np.array(splat.column(name)) for name in splat.properties}
