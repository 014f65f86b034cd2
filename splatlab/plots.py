"""Matplotlib histograms of splat fields, raw or activated, with the incident's reference lines.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot, so nothing
is shown or kept in global state; a notebook displays the returned figure.

Reference lines (FACTS.md sections 1-3):

* raw ``opacity``: the double-logit clamp bounds ``+-logit(1e-4) = +-9.21024`` and the older
  ``+-logit(1e-3) = +-6.90675`` (``-6.90675`` is also the validator's gate threshold);
* activated opacity (``opacity`` with ``raw=False``, or ``alpha``): the gate threshold
  ``sigmoid(opacity) < 1e-3``, on a log x axis;
* scales: TRELLIS's floor, ``log(9e-4) = -7.0131`` raw or ``9e-4`` activated (log x axis).

Binning is cached per (splat, field, raw, bins): redrawing with other options is instant.

Example:
    >>> import numpy as np, splatlab
    >>> s = splatlab.Splat.from_arrays({"opacity": np.array([-9.2103, 0.0, 3.0], np.float32)})
    >>> fig = histogram(s, "opacity", bins=8)
    >>> int(fig.axes[0].patches[0].get_data().values.sum())
    3
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .loadchain import LOGIT_1E3, LOGIT_1E3_HIGH, LOGIT_1E4, LOGIT_1E4_HIGH
from .render import RenderResult
from .splat import Splat

__all__ = ["Binned", "binned", "field_grid", "field_values", "histogram", "reference_lines",
           "render_grid"]

GATE_ALPHA = 1e-3
"""The validator rejects a file when > 80 % of gaussians have sigmoid(opacity) below this."""
TRELLIS_SCALE_FLOOR = 9e-4
"""TRELLIS's 3D filter floor on activated scales (FACTS.md section 1)."""
LOG_AXIS_FLOOR = 1e-12
"""On a log x axis, values below this (zeros included) are counted in the first bin."""

DERIVED_FIELDS = ("alpha", "linear_scale_0", "linear_scale_1", "linear_scale_2", "scale_max",
                  "anisotropy", "volume", "quat_norm")
"""Names accepted besides the stored properties (the derived rows of :func:`splatlab.stats`)."""

_RAW_SCALES = ("scale_0", "scale_1", "scale_2", "scale_max")
_LINEAR_SCALES = ("linear_scale_0", "linear_scale_1", "linear_scale_2")


def field_values(splat: Splat, field: str, raw: bool = True) -> np.ndarray:
    """One value a gaussian for ``field``, as float64.

    ``field`` is a stored property or one of :data:`DERIVED_FIELDS`. ``raw`` matters for
    ``opacity`` (``False``: sigmoid, the Splat's ``alpha``), ``scale_0..2`` (``False``: exp)
    and ``scale_max`` (largest log scale, or its exp). The other derived fields have one
    view: ``alpha``, ``linear_scale_i`` = exp(scale_i), ``anisotropy`` = largest / smallest
    linear scale, ``volume`` = product of linear scales, ``quat_norm``.

    Example:
        >>> s = Splat.from_arrays({"scale_0": np.zeros(2, np.float32),
        ...                        "scale_1": np.ones(2, np.float32),
        ...                        "scale_2": np.zeros(2, np.float32)})
        >>> field_values(s, "scale_max").tolist()
        [1.0, 1.0]
        >>> round(float(field_values(s, "anisotropy")[0]), 4)
        2.7183
    """
    if field == "alpha" or (field == "opacity" and not raw):
        values = splat.alpha
    elif field in _LINEAR_SCALES or (field in _RAW_SCALES[:3] and not raw):
        values = splat.scales[:, int(field[-1])]
    elif field == "scale_max":
        values = (splat.log_scales if raw else splat.scales).max(axis=1)
    elif field == "anisotropy":
        values = splat.scales.max(axis=1) / splat.scales.min(axis=1)
    elif field == "volume":
        values = splat.scales.prod(axis=1)
    elif field == "quat_norm":
        values = np.linalg.norm(np.asarray(splat.quats, np.float64), axis=1)
    else:
        values = splat.column(field)
    return np.asarray(values, dtype=np.float64)


def _log_axis(field: str, raw: bool) -> bool:
    if field in ("alpha", "anisotropy", "volume") or field in _LINEAR_SCALES:
        return True
    return not raw and (field == "opacity" or field in _RAW_SCALES)


def reference_lines(field: str, raw: bool = True) -> list[tuple[float, str, str]]:
    """The vertical lines drawn for ``field``: (x, legend label, line style), possibly none.

    The mirrored clamp bounds share one legend entry (the second has an empty label).

    Example:
        >>> [round(x, 5) for x, _, _ in reference_lines("opacity")]
        [-9.21024, 9.21024, -6.90675, 6.90675]
    """
    if field == "opacity" and raw:
        return [(LOGIT_1E4, "±logit(1e-4) = ±9.2102: double-logit clamp", "--"),
                (LOGIT_1E4_HIGH, "", "--"),
                (LOGIT_1E3, "±logit(1e-3) = ±6.9068: older clamp; gate at -6.9068", ":"),
                (LOGIT_1E3_HIGH, "", ":")]
    if field in ("opacity", "alpha"):
        return [(GATE_ALPHA, "gate: sigmoid(opacity) < 1e-3", ":")]
    if field in _RAW_SCALES and raw:
        return [(math.log(TRELLIS_SCALE_FLOOR), "TRELLIS floor log(9e-4) = -7.013", "--")]
    if field in _RAW_SCALES or field in _LINEAR_SCALES:
        return [(TRELLIS_SCALE_FLOOR, "TRELLIS floor 9e-4", "--")]
    return []


@dataclass(frozen=True)
class Binned:
    """Histogram of one field: ``counts`` (bins,), ``edges`` (bins + 1,), and how many
    values were finite (binned) or not (NaN, +-inf: left out)."""

    counts: np.ndarray
    edges: np.ndarray
    finite: int
    non_finite: int


def _bin_values(values: np.ndarray, bins: int, log_axis: bool) -> Binned:
    finite = values[np.isfinite(values)]
    if log_axis:
        finite = np.maximum(finite, LOG_AXIS_FLOOR)
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if log_axis:
        edges = np.geomspace(lo, hi if hi > lo else lo * 10, bins + 1)
    else:
        edges = np.linspace(lo, hi, bins + 1) if hi > lo else np.linspace(lo - 0.5, lo + 0.5,
                                                                          bins + 1)
    counts, _ = np.histogram(finite, edges)
    return Binned(counts, edges, int(finite.size), int(values.size - finite.size))


_CACHE: dict[tuple, tuple[weakref.ref, Binned]] = {}


def binned(splat: Splat, field: str, raw: bool = True, bins: int = 256) -> Binned:
    """Histogram of :func:`field_values`, computed once per (splat, field, raw, bins).

    Linear bins over the finite range, or log-spaced ones where the plot uses a log x axis
    (activated opacity and scales). A Splat never changes, so the cache is keyed by the
    object and dropped when it is garbage-collected.

    Example:
        >>> s = Splat.from_arrays({"x": np.array([0.0, 1.0, np.inf], np.float32)})
        >>> b = binned(s, "x", bins=2)
        >>> b.counts.tolist(), b.non_finite
        ([1, 1], 1)
    """
    key = (id(splat), field, raw, bins)
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is splat:
        return hit[1]
    result = _bin_values(field_values(splat, field, raw), bins, _log_axis(field, raw))
    _CACHE[key] = (weakref.ref(splat, lambda _, k=key: _CACHE.pop(k, None)), result)
    return result


def _name(splat: Splat, index: int) -> str:
    return splat.source.name if splat.source is not None else f"splat {index}"


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6.4, 4.0)) -> Axes:
    return Figure(figsize=figsize, layout="constrained").add_subplot() if ax is None else ax


def histogram(splats: Splat | Sequence[Splat], field: str, raw: bool = True, bins: int = 256,
              log_count: bool = False, labels: Sequence[str] | None = None,
              ax: Axes | None = None) -> Figure:
    """Step histogram of ``field`` for one or several splats, overlaid, with reference lines.

    ``field`` and ``raw`` as in :func:`field_values`; non-finite values are left out and
    counted in the legend label. ``log_count`` puts counts on a log axis. ``ax`` draws into
    existing axes (the figure they belong to is returned); otherwise a new Figure is made.

    Example:
        >>> s = Splat.from_arrays({"opacity": np.array([-9.2103, 0.0, np.inf], np.float32)})
        >>> ax = histogram(s, "opacity", raw=False).axes[0]
        >>> ax.get_xscale(), [round(line.get_xdata()[0], 4) for line in ax.lines]
        ('log', [0.001])
    """
    group = [splats] if isinstance(splats, Splat) else list(splats)
    names = list(labels) if labels is not None else [_name(s, i) for i, s in enumerate(group)]
    ax = _axes(ax)
    non_finite = _draw(ax, group, names, field, raw, bins)
    if log_count:
        ax.set_yscale("log")
    if labels is not None or len(group) > 1 or non_finite or reference_lines(field, raw):
        ax.legend(fontsize="small")
    return ax.figure


def _draw(ax: Axes, splats: Sequence[Splat], names: Sequence[str], field: str, raw: bool,
          bins: int) -> int:
    """Stairs, reference lines and axis labels; returns the number of non-finite values."""
    non_finite = 0
    for splat, name in zip(splats, names, strict=True):
        result = binned(splat, field, raw, bins)
        non_finite += result.non_finite
        extra = f" ({result.non_finite:,} non-finite)" if result.non_finite else ""
        ax.stairs(result.counts, result.edges, label=f"{name}{extra}")
    for x, text, style in reference_lines(field, raw):
        ax.axvline(x, color="0.3", linestyle=style, linewidth=0.9, label=text or "_nolegend_")
    if _log_axis(field, raw):
        ax.set_xscale("log")
    view = " (activated)" if not raw and (field == "opacity" or field in _RAW_SCALES) else ""
    ax.set_xlabel(f"{field}{view}")
    ax.set_ylabel("gaussians")
    return non_finite


def field_grid(splat: Splat, raw: bool = True, bins: int = 64, columns: int = 5) -> Figure:
    """One small histogram per stored property, in file order.

    Example:
        >>> s = Splat.from_arrays({"x": np.zeros(3, np.float32), "y": np.ones(3, np.float32)})
        >>> [a.get_title() for a in field_grid(s).axes]
        ['x', 'y']
    """
    names = splat.properties
    columns = max(1, min(columns, len(names)))
    rows = -(-len(names) // columns)
    fig = Figure(figsize=(2.6 * columns, 2.0 * rows), layout="constrained")
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, columns, i + 1)
        _draw(ax, [splat], [name], name, raw, bins)
        ax.set_title(name, fontsize="small")
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(labelsize="x-small")
    return fig


def render_grid(rows: dict[str, Sequence[RenderResult]], title: str | None = None,
                size: float = 2.4) -> Figure:
    """Renders in a grid: one row a candidate (named by its key), one column a view.

    Example:
        >>> import torch
        >>> white = RenderResult(torch.ones(4, 4, 3), torch.zeros(4, 4))
        >>> [a.get_title() for a in render_grid({"a": [white, white]}).axes]
        ['a, view 0', 'a, view 1']
    """
    columns = max((len(views) for views in rows.values()), default=1)
    fig = Figure(figsize=(size * columns, size * max(len(rows), 1)), layout="constrained")
    for r, (name, views) in enumerate(rows.items()):
        for c, result in enumerate(views):
            ax = fig.add_subplot(len(rows), columns, r * columns + c + 1)
            ax.imshow(result.to_uint8())
            ax.set_title(f"{name}, view {c}", fontsize="small")
            ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig
