"""Synthetic splats to a generator's specification, deterministic from a seed.

:func:`trellis` writes what TRELLIS writes (FACTS.md section 1): 17 float32
properties, zero normals, 32 gaussians per active voxel of a 64^3 grid, stored
opacity logits, log scales at or above log(9e-4), w-first quaternions.
:func:`inria` gives the INRIA layout (SH degree 0-3). :func:`corrupt` injects
the corruptions a forensic tool must see (uniform fields, collapsed scales,
NaN/Inf, near-zero opacities) and returns a new Splat.

Example:
    >>> s = trellis(count=32 * 100, seed=0)
    >>> s.count, len(s.properties)
    (3200, 17)
    >>> np.unique(corrupt(s, uniform={"opacity": -9.2103}).opacity).size
    1
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..core.fields import (
    GROUPS,
    SH_C0,
    SH_REST_COUNTS,
    f_rest_names,
    inria_properties,
)
from ..core.splat import Splat
from .trellis import GRID, PER_VOXEL, SCALE_FLOOR, trellis_logits
from .trellis import PROPERTIES as TRELLIS_PROPERTIES

_Primitive = tuple[Callable[[np.ndarray], np.ndarray], tuple[float, float, float]]


# ---------------------------------------------------------------------------- shapes
def _ellipsoid(centre, radii) -> Callable[[np.ndarray], np.ndarray]:
    c, r = np.asarray(centre), np.asarray(radii)
    return lambda p: (np.linalg.norm((p - c) / r, axis=1) - 1.0) * r.min()


def _cylinder(centre, radius, half_height) -> Callable[[np.ndarray], np.ndarray]:
    c = np.asarray(centre)

    def sdf(p: np.ndarray) -> np.ndarray:
        d = p - c
        radial = np.hypot(d[:, 0], d[:, 1]) - radius
        return np.maximum(radial, np.abs(d[:, 2]) - half_height)
    return sdf


def _cut_below(sdf, z) -> Callable[[np.ndarray], np.ndarray]:
    return lambda p: np.maximum(sdf(p), z - p[:, 2])


SHAPES: dict[str, list[_Primitive]] = {
    "burger": [
        (_ellipsoid((0, 0, -0.2), (0.36, 0.36, 0.08)), (0.80, 0.55, 0.25)),          # bottom bun
        (_cylinder((0, 0, -0.1), 0.38, 0.045), (0.35, 0.18, 0.10)),                   # patty
        (_cylinder((0, 0, -0.045), 0.37, 0.012), (0.98, 0.80, 0.15)),                 # cheese
        (_cylinder((0, 0, -0.02), 0.41, 0.012), (0.30, 0.70, 0.20)),                  # lettuce
        (_cylinder((0, 0, 0.005), 0.33, 0.014), (0.85, 0.15, 0.12)),                  # tomato
        (_cut_below(_ellipsoid((0, 0, 0.02), (0.37, 0.37, 0.24)), 0.02), (0.85, 0.58, 0.25)),
    ],
    "snowman": [
        (_ellipsoid((0, 0, -0.26), (0.2, 0.2, 0.2)), (0.95, 0.95, 0.97)),
        (_ellipsoid((0, 0, 0.0), (0.14, 0.14, 0.14)), (0.95, 0.95, 0.97)),
        (_ellipsoid((0, 0, 0.19), (0.1, 0.1, 0.1)), (0.95, 0.95, 0.97)),
        (_ellipsoid((0, -0.12, 0.19), (0.02, 0.06, 0.02)), (1.0, 0.5, 0.1)),          # nose
        (_cylinder((0, 0, 0.33), 0.07, 0.05), (0.1, 0.1, 0.1)),                       # hat
        (_cylinder((0, 0, 0.285), 0.12, 0.008), (0.1, 0.1, 0.1)),                     # brim
    ],
}
"""Procedural objects: (signed distance function, colour) primitives in [-0.5, 0.5]^3."""


def active_voxels(voxels: int, shape: str = "burger", seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The ``voxels`` grid cells nearest the shape's surface and their colours.

    Returns integer cell coordinates (V, 3) and RGB (V, 3). The surface shell
    thickens as more voxels are asked for, so any count up to 64^3 is exact.

    Example:
        >>> cells, rgb = active_voxels(1000)
        >>> cells.shape, rgb.shape
        ((1000, 3), (1000, 3))
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; choose from {', '.join(SHAPES)}")
    if not 0 < voxels <= GRID ** 3:
        raise ValueError(f"need 1 to {GRID ** 3} active voxels, got {voxels}")
    cells, distance, colour = _grid(shape)
    jitter = np.random.default_rng(seed).random(len(cells)) * 1e-6
    chosen = np.argsort(distance + jitter, kind="stable")[:voxels]
    return cells[chosen], colour[chosen]


@functools.lru_cache(maxsize=len(SHAPES))
def _grid(shape: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every grid cell, its distance to the shape's surface and its primitive's colour."""
    axis = (np.arange(GRID) + 0.5) / GRID - 0.5
    cells = np.stack(np.meshgrid(*(np.arange(GRID),) * 3, indexing="ij"), -1).reshape(-1, 3)
    distances = np.stack([sdf(axis[cells]) for sdf, _ in SHAPES[shape]], axis=1)
    colours = np.array([colour for _, colour in SHAPES[shape]])[distances.argmin(axis=1)]
    out = (cells, np.abs(distances.min(axis=1)), colours)
    for array in out:
        array.flags.writeable = False
    return out


# ---------------------------------------------------------------------------- fields
def log_scales(count: int, rng: np.random.Generator, spread: float,
               size: float = 0.35 / GRID) -> np.ndarray:
    """(count, 3) stored log scales: ``log(sqrt(s**2 + 9e-4**2))`` for lognormal ``s``.

    Example:
        >>> bool((log_scales(10, np.random.default_rng(0), 0.7) >= np.log(9e-4)).all())
        True
    """
    z = rng.standard_normal((count, 3)).astype(np.float32)
    return _floored_log_scales(z, spread, size)


def _floored_log_scales(z: np.ndarray, spread: float, size: float) -> np.ndarray:
    s = size * np.exp(np.float32(spread) * z)
    return (0.5 * np.log(s * s + np.float32(SCALE_FLOOR) ** 2)).astype(np.float32)


def _std(values: np.ndarray) -> float:
    return float(values.std(dtype=np.float64))


def _solve_increasing(f: Callable[[float], float], target: float, lo: float, hi: float,
                      tol: float = 1e-7) -> float:
    """Root of the increasing ``f(x) = target`` in [lo, hi] (Illinois false position)."""
    f_lo, f_hi = f(lo) - target, f(hi) - target
    side = 0
    for _ in range(100):
        x = hi - f_hi * (hi - lo) / (f_hi - f_lo)
        f_x = f(x) - target
        if abs(f_x) <= tol or hi - lo <= 1e-12 * max(abs(hi), 1.0):
            return x
        if f_x < 0:
            lo, f_lo = x, f_x
            f_hi, side = (f_hi / 2, side) if side == -1 else (f_hi, -1)
        else:
            hi, f_hi = x, f_x
            f_lo, side = (f_lo / 2, side) if side == 1 else (f_lo, 1)
    return x


def scales_with_std(count: int, std: float, seed: int = 0, size: float = 0.35 / GRID
                    ) -> np.ndarray:
    """(count, 3) TRELLIS log scales whose std over all 3*count values is ``std``.

    A small ``std`` gives near-identical scales (every gaussian the same size).

    Example:
        >>> round(float(scales_with_std(3200, 0.746).std()), 3)
        0.746
    """
    z = np.random.default_rng(seed).standard_normal((count, 3)).astype(np.float32)
    spread = _solve_increasing(lambda w: _std(_floored_log_scales(z, w, size)), std, 0.0, 5.0)
    return _floored_log_scales(z, spread, size)


def collapsed_scales(count: int, std: float, seed: int = 0) -> np.ndarray:
    """(count, 3) log scales piled at the floor log(9e-4) with the given small std.

    Gaussians shrunk to the filter kernel: ``sqrt(s**2 + 9e-4**2)`` with ``s`` tiny.

    Example:
        >>> round(float(collapsed_scales(3200, 0.006).std()), 4)
        0.006
    """
    z = np.random.default_rng(seed).standard_normal((count, 3)).astype(np.float32)
    size = _solve_increasing(lambda m: _std(_floored_log_scales(z, 0.5, np.exp(m))),
                             std, np.log(1e-7), np.log(SCALE_FLOOR))
    return _floored_log_scales(z, 0.5, float(np.exp(size)))


def default_opacity(count: int, rng: np.random.Generator) -> np.ndarray:
    """Pre-activation opacities of an ordinary generation: a faint and an opaque mode.

    Example:
        >>> default_opacity(4, np.random.default_rng(0)).dtype
        dtype('float32')
    """
    opaque = rng.random(count, np.float32) < 0.45
    return np.where(opaque, _normal(rng, (count,), 3.5, 6.0), _normal(rng, (count,), 2.5, -1.0))


def _layout(count: int, shape: str, seed: int) -> tuple[np.random.Generator, dict]:
    rng = np.random.default_rng(seed)
    cells, rgb = active_voxels(-(-count // PER_VOXEL), shape, seed)
    per = np.repeat(np.arange(len(cells)), PER_VOXEL)[:count]
    corner = (cells.astype(np.float32) / GRID - 0.5)[per]
    positions = corner + rng.random((count, 3), np.float32) / GRID
    colour = rgb.astype(np.float32)[per] + _normal(rng, (count, 3), 0.04)
    quats = _normal(rng, (count, 4), 0.35)
    quats[:, 0] += 1.0
    quats *= np.exp(_normal(rng, (count, 1), 0.2))
    return rng, {"positions": positions, "sh_dc": (colour - 0.5) / np.float32(SH_C0),
                 "quats": quats}


def _normal(rng: np.random.Generator, shape: tuple[int, ...], std: float,
            mean: float = 0.0) -> np.ndarray:
    return rng.standard_normal(shape, np.float32) * np.float32(std) + np.float32(mean)


def _columns(names: Sequence[str], groups: Mapping[str, np.ndarray], count: int
             ) -> dict[str, np.ndarray]:
    columns = {name: np.zeros(count, np.float32) for name in names}
    for key, values in groups.items():
        for i, name in enumerate(GROUPS.get(key, (key,))):
            columns[name] = np.ascontiguousarray(values[:, i] if values.ndim == 2 else values)
    return columns


def trellis(count: int = 762_112, seed: int = 0, shape: str = "burger",
            opacity: np.ndarray | None = None, scales: np.ndarray | None = None,
            scale_std: float | None = None) -> Splat:
    """A splat as TRELLIS writes it: 32 gaussians per active voxel, 17 float32 properties.

    ``opacity``: stored logits to use as they are (default: an ordinary spread
    encoded as TRELLIS does, a few saturated to ``+inf``). ``scales``: stored
    (count, 3) log scales; else ``scale_std`` (std over all scale values) or the
    natural spread. ``count`` must be a multiple of 32.

    Example:
        >>> s = trellis(count=3200, seed=1, shape="snowman")
        >>> float(s.normals.max()), bool(s.log_scales.min() >= np.log(9e-4) - 1e-6)
        (0.0, True)
    """
    if count <= 0 or count % PER_VOXEL:
        raise ValueError(f"TRELLIS counts are positive multiples of {PER_VOXEL}, got {count:,}"
                         f" (nearest: {max(PER_VOXEL, round(count / PER_VOXEL) * PER_VOXEL):,})")
    rng, groups = _layout(count, shape, seed)
    if opacity is None:
        opacity = trellis_logits(default_opacity(count, rng))
    if scales is None:
        scales = (log_scales(count, rng, 0.75) if scale_std is None
                  else scales_with_std(count, scale_std, seed))
    groups.update(opacity=_checked(opacity, (count,), "opacity"),
                  log_scales=_checked(scales, (count, 3), "scales"))
    return Splat.from_arrays(_columns(TRELLIS_PROPERTIES, groups, count))


def inria(count: int = 100_000, seed: int = 0, shape: str = "burger",
          sh_degree: int = 3) -> Splat:
    """A splat in the INRIA 3DGS layout (62 properties at SH degree 3).

    Example:
        >>> s = inria(count=1000, sh_degree=3)
        >>> len(s.properties), s.sh_degree
        (62, 3)
    """
    if sh_degree not in SH_REST_COUNTS:
        raise ValueError(f"SH degree must be 0-3, got {sh_degree}")
    if count <= 0:
        raise ValueError(f"count must be positive, got {count}")
    rng, groups = _layout(count, shape, seed)
    groups.update(opacity=default_opacity(count, rng), log_scales=log_scales(count, rng, 0.75))
    rest = f_rest_names(SH_REST_COUNTS[sh_degree])
    groups.update({name: _normal(rng, (count,), 0.05) for name in rest})
    return Splat.from_arrays(_columns(inria_properties(sh_degree), groups, count))


def _checked(values: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    values = np.asarray(values, np.float32)
    if values.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {values.shape}")
    return values


# ---------------------------------------------------------------------------- corruptions
def corrupt(splat: Splat, *, uniform: Mapping[str, float] | None = None,
            collapse_scales: float | None = None,
            nonfinite: Sequence[tuple[str, float, float]] = (),
            near_zero_opacity_share: float | None = None, seed: int = 0) -> Splat:
    """A copy of ``splat`` with corruptions injected; the input is untouched.

    ``uniform``: field (property or group such as ``log_scales``) -> one value for
    every gaussian. ``collapse_scales``: std of log scales piled at log(9e-4).
    ``nonfinite``: (property, value, share) triples, e.g. ``("opacity", np.nan, 0.01)``.
    ``near_zero_opacity_share``: that share of gaussians gets activated opacity
    below 1e-3 (stored logits in [-12, -7]).

    Example:
        >>> s = corrupt(trellis(count=3200), near_zero_opacity_share=0.9)
        >>> bool((s.alpha < 1e-3).mean() >= 0.9)
        True
    """
    rng = np.random.default_rng(seed)
    n = splat.count
    updates: dict[str, np.ndarray] = {}
    for key, value in (uniform or {}).items():
        width = len(GROUPS[key]) if key in GROUPS and key not in splat.properties else 0
        updates[key] = np.full((n, width) if width else n, value, np.float32)
    if collapse_scales is not None:
        updates["log_scales"] = collapsed_scales(n, collapse_scales, seed)
    if near_zero_opacity_share is not None:
        _check_share(near_zero_opacity_share, "near_zero_opacity_share")
        opacity = np.array(updates.get("opacity", splat.opacity), np.float32)
        hit = rng.permutation(n)[: int(round(near_zero_opacity_share * n))]
        opacity[hit] = rng.uniform(-12.0, -7.0, len(hit))
        updates["opacity"] = opacity
    if updates:
        splat = splat.replace(**updates)
    for name, value, share in nonfinite:
        _check_share(share, f"share of {name}")
        column = np.array(splat.column(name), np.float32)
        column[rng.permutation(n)[: int(round(share * n))]] = value
        splat = splat.replace(**{name: column})
    return splat


def _check_share(share: float, what: str) -> None:
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"{what} must lie in [0, 1], got {share}")


__all__ = ["SHAPES", "active_voxels", "collapsed_scales", "corrupt", "default_opacity", "inria",
           "log_scales", "scales_with_std", "trellis", "trellis_logits"]
