"""Names of the 3DGS properties, the groups the Splat accessors read, and the activations
(stored -> activated: :func:`sigmoid` for opacity; its inverse :func:`logit`).

Example:
    >>> GROUPS["log_scales"]
    ('scale_0', 'scale_1', 'scale_2')
"""

from __future__ import annotations

from collections.abc import Container, Iterable

import numpy as np

from .floats import values_as_data

SH_C0 = 0.28209479177387814
"""Degree-0 spherical-harmonics constant: colour = 0.5 + SH_C0 * f_dc."""

GROUPS: dict[str, tuple[str, ...]] = {
    "positions": ("x", "y", "z"),
    "normals": ("nx", "ny", "nz"),
    "sh_dc": ("f_dc_0", "f_dc_1", "f_dc_2"),
    "opacity": ("opacity",),
    "log_scales": ("scale_0", "scale_1", "scale_2"),
    "quats": ("rot_0", "rot_1", "rot_2", "rot_3"),
}
"""Accessor name -> the stored properties behind it, in order."""

GAUSSIAN_PROPERTIES: tuple[str, ...] = (
    *GROUPS["positions"], *GROUPS["sh_dc"], "opacity", *GROUPS["log_scales"], *GROUPS["quats"]
)
"""Properties every 3DGS file needs; normals and ``f_rest_*`` are optional."""



def missing_properties(properties: Container[str],
                       needed: Iterable[str] = GAUSSIAN_PROPERTIES) -> list[str]:
    """The names of ``needed`` (every 3DGS property by default) that ``properties`` lacks,
    in ``needed``'s order: the one check behind every "not a 3DGS file" message.

    Example:
        >>> missing_properties(["x", "y", "z"], ("x", "opacity", "rot_0"))
        ['opacity', 'rot_0']
        >>> len(missing_properties(["x", "y", "z"]))
        11
    """
    return [name for name in needed if name not in properties]


SH_REST_COUNTS: dict[int, int] = {0: 0, 1: 9, 2: 24, 3: 45}
"""Number of ``f_rest_*`` properties for each spherical-harmonics degree."""


def f_rest_names(count: int) -> tuple[str, ...]:
    """The names ``f_rest_0 .. f_rest_{count-1}``.

    Example:
        >>> f_rest_names(2)
        ('f_rest_0', 'f_rest_1')
    """
    return tuple(f"f_rest_{i}" for i in range(count))


def inria_properties(sh_degree: int = 3) -> tuple[str, ...]:
    """Property order of an INRIA 3DGS file of the given SH degree (62 at degree 3).

    Example:
        >>> len(inria_properties(3))
        62
    """
    return (*GROUPS["positions"], *GROUPS["normals"], *GROUPS["sh_dc"],
            *f_rest_names(SH_REST_COUNTS[sh_degree]), "opacity", *GROUPS["log_scales"],
            *GROUPS["quats"])


@values_as_data
def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function in the input's float precision (float32 stays float32).

    Example:
        >>> float(sigmoid(np.float32(0.0)))
        0.5
    """
    x = np.asarray(x)
    dtype = x.dtype.newbyteorder("=") if x.dtype.kind == "f" else np.dtype(np.float64)
    with np.errstate(over="ignore"):
        return (1.0 / (1.0 + np.exp(-x.astype(dtype, copy=False)))).astype(dtype, copy=False)


def logit(p: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`sigmoid`: log(p / (1 - p)).

    Example:
        >>> round(float(logit(1e-4)), 4)
        -9.2102
    """
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-p)
