"""Matplotlib histograms of splat fields, raw or activated, with the incident's reference lines.

Every function returns a :class:`SplatFigure`, a :class:`matplotlib.figure.Figure` built
without pyplot, so nothing is shown or kept in global state; a notebook displays the returned
figure as a PNG (no ``%matplotlib inline`` needed), a script saves it with ``savefig``.

Reference lines (FACTS.md sections 1-3):

* raw ``opacity``: the double-logit clamp bounds ``+-logit(1e-4) = +-9.21024`` and the older
  ``+-logit(1e-3) = +-6.90675`` (``-6.90675`` is also the validator's gate threshold);
* activated opacity (``opacity`` with ``raw=False``, or ``alpha``): the gate threshold
  ``sigmoid(opacity) < 1e-3``, on a logit x axis (labelled in alpha: ``10⁻³``, ``½``,
  ``1−10⁻³``), which shows both ends that matter, the gate near 0 and saturation near 1;
* scales: TRELLIS's floor, ``log(9e-4) = -7.0131`` raw or ``9e-4`` activated (log x axis).

Legends sit above the axes, where they cover no data. Binning is cached per (splat, field,
raw, bins): redrawing with other options is instant.
:class:`HistogramView` keeps one histogram in a persistent figure and updates it in place,
for interactive use (the explorer).

Example:
    >>> import numpy as np, splatlab
    >>> s = splatlab.Splat.from_arrays({"opacity": np.array([-9.2103, 0.0, 3.0], np.float32)})
    >>> fig = histogram(s, "opacity", bins=8)
    >>> int(fig.axes[0].patches[0].get_data().values.sum())
    3
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import reduce

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.ticker import (
    LogFormatterSciNotation,
    LogitFormatter,
    LogitLocator,
    NullFormatter,
    ScalarFormatter,
)
from matplotlib.transforms import blended_transform_factory

from ..core.fields import logit, sigmoid
from ..core.splat import Splat
from ..rendering.rasterizer import RenderResult
from ..world import sn17, trellis
from ..world.miner import LOGIT_1E3, LOGIT_1E3_HIGH, LOGIT_1E4, LOGIT_1E4_HIGH

__all__ = ["Binned", "HistogramView", "SplatFigure", "bin_values", "binned", "colour_bar",
           "field_grid",
           "field_label", "field_values", "histogram", "reference_lines", "render_grid",
           "x_scale"]

AXIS_FLOOR = 1e-12
"""On a log x axis, values below this (zeros included) are counted in the first bin; on a
logit x axis, also values above ``1 - AXIS_FLOOR`` (ones included) in the last."""

DERIVED_FIELDS = ("alpha", "linear_scale_0", "linear_scale_1", "linear_scale_2", "scale_max",
                  "anisotropy", "volume", "quat_norm")
"""Names accepted besides the stored properties (the derived rows of :func:`splatlab.stats`)."""

_RAW_SCALES = ("scale_0", "scale_1", "scale_2", "scale_max")
_LINEAR_SCALES = ("linear_scale_0", "linear_scale_1", "linear_scale_2")


class SplatFigure(Figure):
    """A :class:`~matplotlib.figure.Figure` that IPython shows as a PNG without pyplot.

    A plain Figure has an image representation in IPython only once pyplot's inline backend
    has registered one (``%matplotlib inline``, or pyplot used in the kernel); a figure made
    without pyplot otherwise shows as the text ``<Figure size 640x400 with 1 Axes>`` in
    JupyterLab, the classic notebook and VS Code alike. This one has ``_repr_png_``. Where
    the inline backend is active its registered formatter takes precedence over
    ``_repr_png_`` in IPython, and it only shows pyplot's own figures by itself, so a
    SplatFigure is shown once either way. Nothing else differs from a Figure.

    Example:
        >>> fig = SplatFigure(figsize=(2, 1))
        >>> fig._repr_png_()[:4]
        b'\\x89PNG'
    """

    def _repr_png_(self) -> bytes:
        """PNG bytes of the figure, as ``%matplotlib inline`` draws it (tight bounding box)."""
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


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
        values = reduce(np.maximum, _columns(splat.log_scales if raw else splat.scales))
    elif field == "anisotropy":
        scales = _columns(splat.scales)
        values = reduce(np.maximum, scales) / reduce(np.minimum, scales)
    elif field == "volume":
        values = reduce(np.multiply, _columns(splat.scales))
    elif field == "quat_norm":
        values = np.sqrt(sum(np.square(q, dtype=np.float64) for q in _columns(splat.quats)))
    else:
        values = splat.column(field)
    return np.asarray(values, dtype=np.float64)


def _columns(table: np.ndarray) -> list[np.ndarray]:
    """The columns of an (N, K) array: elementwise maths over K columns is several times
    faster than a reduction along ``axis=1`` of a strided (N, K) view."""
    return [table[:, k] for k in range(table.shape[1])]


def x_scale(field: str, raw: bool = True) -> str:
    """The x axis of ``field``'s histogram: ``"logit"`` for activated opacity (real files
    spread over both ends of (0, 1): the gate's 1e-3, and alphas within 1e-3 of 1, which a log
    axis squeezes into one spike), ``"log"`` for activated scales, anisotropy and volume,
    else ``"linear"``.

    Example:
        >>> x_scale("opacity"), x_scale("opacity", raw=False), x_scale("volume")
        ('linear', 'logit', 'log')
    """
    if field == "alpha" or (field == "opacity" and not raw):
        return "logit"
    if field in ("anisotropy", "volume") or field in _LINEAR_SCALES:
        return "log"
    return "log" if not raw and field in _RAW_SCALES else "linear"


def field_label(field: str, raw: bool = True) -> str:
    """``field`` and its units where raw and activated differ: ``"opacity (raw)"``,
    ``"opacity (activated)"``; other fields by name alone.

    Example:
        >>> field_label("opacity"), field_label("scale_0", raw=False), field_label("x")
        ('opacity (raw)', 'scale_0 (activated)', 'x')
    """
    if field == "opacity" or field in _RAW_SCALES:
        return f"{field} ({'raw' if raw else 'activated'})"
    return field


def reference_lines(field: str, raw: bool = True) -> list[tuple[float, str, str]]:
    """The vertical lines drawn for ``field``: (x, legend label, line style), possibly none.

    The mirrored clamp bounds share one legend entry (the second has an empty label).

    Example:
        >>> [round(x, 5) for x, _, _ in reference_lines("opacity")]
        [-9.21024, 9.21007, -6.90675, 6.90677]
    """
    if field == "opacity" and raw:
        return [(LOGIT_1E4, "±logit(1e-4) = ±9.2102: double-logit clamp", "--"),
                (LOGIT_1E4_HIGH, "", "--"),
                (LOGIT_1E3, "±logit(1e-3) = ±6.9068: older clamp; gate at -6.9068", ":"),
                (LOGIT_1E3_HIGH, "", ":")]
    if field in ("opacity", "alpha"):
        return [(sn17.INVISIBLE_ALPHA, "gate: sigmoid(opacity) < 1e-3", ":")]
    if field in _RAW_SCALES and raw:
        return [(math.log(trellis.SCALE_FLOOR), "TRELLIS floor log(9e-4) = -7.013", "--")]
    if field in _RAW_SCALES or field in _LINEAR_SCALES:
        return [(trellis.SCALE_FLOOR, "TRELLIS floor 9e-4", "--")]
    return []


@dataclass(frozen=True)
class Binned:
    """Histogram of one field: ``counts`` (bins,), ``edges`` (bins + 1,), how many values
    were finite (binned) or not (NaN, +-inf: left out), and the smallest and largest binned
    value (``low``, ``high``; held within :data:`AXIS_FLOOR` on a log or logit axis; NaN if
    none)."""

    counts: np.ndarray
    edges: np.ndarray
    finite: int
    non_finite: int
    low: float
    high: float

    def coarsen(self, bins: int) -> Binned:
        """The same histogram in ``bins`` bins, each the sum of neighbouring ones; ``bins``
        must divide the number of bins. The counts equal ``np.histogram`` over the coarse
        edges, which are every k-th edge of these.

        Example:
            >>> bin_values(np.arange(8.0), 8).coarsen(2).counts.tolist()
            [4, 4]
        """
        step, rest = divmod(len(self.counts), bins)
        if rest or not step:
            raise ValueError(f"{bins} bins do not divide {len(self.counts)}")
        return replace(self, counts=self.counts.reshape(bins, step).sum(axis=1),
                       edges=self.edges[::step])


def bin_values(values: np.ndarray, bins: int, scale: str = "linear") -> Binned:
    """Histogram of the finite ``values`` in ``bins`` bins over their range, spaced evenly on
    the x axis ``scale`` (see :func:`x_scale`): linear, log (values below
    :data:`AXIS_FLOOR`, zeros included, count in the first bin) or logit (values clipped to
    ``[AXIS_FLOOR, 1 - AXIS_FLOOR]``). One distinct value gets a bin range around it.

    Example:
        >>> b = bin_values(np.array([1.0, 2.0, 4.0, np.nan]), 2, "log")
        >>> b.counts.tolist(), b.edges.tolist(), b.non_finite
        ([1, 2], [1.0, 2.0, 4.0], 1)
        >>> bin_values(np.array([0.1, 0.5, 0.9]), 2, "logit").edges.round(3).tolist()
        [0.1, 0.5, 0.9]
    """
    finite = values[np.isfinite(values)]
    if scale == "log":
        finite = np.maximum(finite, AXIS_FLOOR)
    elif scale == "logit":
        finite = np.clip(finite, AXIS_FLOOR, 1.0 - AXIS_FLOOR)
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (math.nan,) * 2
    lo, hi = (low, high) if finite.size else ((0.1, 0.9) if scale == "logit" else (0.0, 1.0))
    if scale == "log":
        edges = np.geomspace(lo, hi if hi > lo else lo * 10, bins + 1)
    elif scale == "logit":
        t0, t1 = float(logit(lo)), float(logit(hi))
        edges = sigmoid(np.linspace(t0, t1, bins + 1) if t1 > t0
                        else np.linspace(t0 - 0.5, t0 + 0.5, bins + 1))
        if t1 > t0:
            edges[[0, -1]] = lo, hi  # the ends exactly, as the other scales have them
    else:
        edges = np.linspace(lo, hi, bins + 1) if hi > lo else np.linspace(lo - 0.5, lo + 0.5,
                                                                          bins + 1)
    counts, _ = np.histogram(finite, edges)
    return Binned(counts, edges, int(finite.size), int(values.size - finite.size), low, high)


def binned(splat: Splat, field: str, raw: bool = True, bins: int = 256) -> Binned:
    """Histogram of :func:`field_values`, computed once per (splat, field, raw, bins).

    Bins spaced evenly on the plot's x axis (:func:`x_scale`) over the finite range. A Splat
    never changes, so the histogram is kept with it (:meth:`Splat.remember`) and goes with it.

    Example:
        >>> s = Splat.from_arrays({"x": np.array([0.0, 1.0, np.inf], np.float32)})
        >>> b = binned(s, "x", bins=2)
        >>> b.counts.tolist(), b.non_finite
        ([1, 1], 1)
    """
    return splat.remember(("plots.binned", field, raw, bins),
                          lambda: bin_values(field_values(splat, field, raw), bins,
                                             x_scale(field, raw)))


def _name(splat: Splat, index: int) -> str:
    return splat.source.name if splat.source is not None else f"splat {index}"


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6.4, 4.0)) -> Axes:
    return SplatFigure(figsize=figsize, layout="constrained").add_subplot() if ax is None else ax


def histogram(splats: Splat | Sequence[Splat], field: str, *, raw: bool = True,
              bins: int = 256, log_count: bool = False, labels: Sequence[str] | None = None,
              ax: Axes | None = None) -> Figure:
    """Step histogram of ``field`` for one or several splats, overlaid, with reference lines.

    ``field`` and ``raw`` as in :func:`field_values`; non-finite values are left out and
    counted in the legend label. ``log_count`` puts counts on a log axis. ``ax`` draws into
    existing axes (the figure they belong to is returned); otherwise a new :class:`SplatFigure`.
    The legend sits above the axes, so that it covers no bar and no line.

    Example:
        >>> s = Splat.from_arrays({"opacity": np.array([-9.2103, 0.0, np.inf], np.float32)})
        >>> ax = histogram(s, "opacity", raw=False).axes[0]
        >>> ax.get_xscale(), [round(line.get_xdata()[0], 4) for line in ax.lines]
        ('logit', [0.001])
    """
    group = [splats] if isinstance(splats, Splat) else list(splats)
    names = list(labels) if labels is not None else [_name(s, i) for i, s in enumerate(group)]
    ax = _axes(ax)
    non_finite = _draw(ax, group, names, field, raw, bins)
    if log_count:
        ax.set_yscale("log")
    _whole_counts(ax)
    if labels is not None or len(group) > 1 or non_finite or reference_lines(field, raw):
        legend_above(ax)
    return ax.figure


def legend_above(ax: Axes, most_columns: int = 4) -> Legend | None:
    """The legend of ``ax`` placed above its axes box, where it covers no data, in as many
    columns (up to ``most_columns``) as fit the axes' width; None without labelled artists.

    Example:
        >>> ax = SplatFigure().add_subplot()
        >>> _ = ax.plot([0, 1], [5, 9], label="line")
        >>> bool(legend_above(ax).get_window_extent().y0 >= ax.bbox.y1)
        True
    """
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    for columns in range(min(len(handles), most_columns), 0, -1):
        legend = ax.legend(handles, labels, loc="lower left", bbox_to_anchor=(0.0, 1.01),
                           ncols=columns, fontsize="small", frameon=False, borderaxespad=0.0,
                           borderpad=0.2, columnspacing=1.2, handlelength=1.6)
        if columns == 1 or legend.get_window_extent().width <= ax.bbox.width:
            return legend
    return None  # not reached: one column always returns


def _draw(ax: Axes, splats: Sequence[Splat], names: Sequence[str], field: str, raw: bool,
          bins: int) -> int:
    """Stairs, reference lines and axis labels; returns the number of non-finite values."""
    non_finite = 0
    for splat, name in zip(splats, names, strict=True):
        result = binned(splat, field, raw, bins)
        non_finite += result.non_finite
        ax.stairs(result.counts, result.edges, label=_stairs_label(name, result))
    _reference_lines(ax, field, raw)
    if x_scale(field, raw) != "linear":
        ax.set_xscale(x_scale(field, raw))
    ax.set_xlabel(_xlabel(field, raw))
    ax.set_ylabel("gaussians")
    return non_finite


def _whole_counts(ax: Axes) -> None:
    """Counts on a linear y axis as whole numbers, with no "1e6" offset above the axes (where
    the legend is)."""
    formatter = ax.yaxis.get_major_formatter()
    if isinstance(formatter, ScalarFormatter):
        formatter.set_scientific(False)
        formatter.set_useOffset(False)


def _stairs_label(name: str, result: Binned) -> str:
    return f"{name} ({result.non_finite:,} non-finite)" if result.non_finite else name


def _reference_lines(ax: Axes, field: str, raw: bool) -> list[Line2D]:
    return [ax.axvline(x, color="0.3", linestyle=style, linewidth=0.9,
                       label=text or "_nolegend_")
            for x, text, style in reference_lines(field, raw)]


def _xlabel(field: str, raw: bool) -> str:
    view = " (activated)" if not raw and (field == "opacity" or field in _RAW_SCALES) else ""
    return f"{field}{view}"


_MOST_TICKS = (16, 80)
"""Most major and minor ticks an axis of :class:`HistogramView` needs (a log axis over ~9
decades has 80 minor ticks; over more, none), made up front: ~1.3 ms a tick."""
_LEGEND_GAP = 8.0
"""Pixels between the figure's top and the legend above the axes of :class:`HistogramView`."""
_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


class _PlainLogFormatter(LogFormatterSciNotation):
    """matplotlib's log tick labels in plain text: ``10⁻³`` and ``2×10⁻¹`` in Unicode
    superscripts look like its mathtext ones, without mathtext's ~10 ms parse a new label.

    Example:
        >>> _PlainLogFormatter()(1e-3)
        '10⁻³'
    """

    def __call__(self, x: float, pos: int | None = None) -> str:
        return _plain(super().__call__(x, pos))


class _PlainLogitFormatter(LogitFormatter):
    """matplotlib's logit tick labels in plain text: ``10⁻³``, ``½``, ``1−10⁻³``, ``2·10⁻⁴``.

    Example:
        >>> [_PlainLogitFormatter()(x) for x in (1e-3, 0.5, 0.999)]
        ['10⁻³', '½', '1−10⁻³']
    """

    def __call__(self, x: float, pos: int | None = None) -> str:
        return _plain(super().__call__(x, pos))


def _plain(label: str) -> str:
    """A mathtext tick label of matplotlib's log and logit formatters in plain Unicode."""
    body = label.removeprefix(r"$\mathdefault{").removesuffix("}$")
    for tex, text in ((r"\times", "×"), (r"\cdot", "·"), (r"\frac{1}{2}", "½"), ("1-", "1−")):
        body = body.replace(tex, text)
    return re.sub(r"\^\{(-?\d+)\}", lambda m: m[1].translate(_SUPERSCRIPTS), body)


class HistogramView:
    """One histogram in a persistent Agg figure, updated in place: the explorer's plot.

    It shows what :func:`histogram` draws into the same axes, but a new setting rebuilds
    nothing: each splat keeps one ``StepPatch`` whose data is replaced, the axis limits come
    from the counts (``ax.stairs`` walks every step of its path for them), tick objects are
    made up front, axis labels sit in fixed places and log and logit axes label their ticks
    in plain text (see :class:`_PlainLogFormatter`); what is left is one ``canvas.draw``,
    ~50 ms. The legend sits above the axes; the axes' top moves down to make room for it.

    Example:
        >>> s = Splat.from_arrays({"opacity": np.array([-9.2103, 0.0, 3.0], np.float32)})
        >>> view = HistogramView(["a"])
        >>> view.show([bin_values(field_values(s, "opacity"), 8)], "opacity")
        >>> view.draw().shape, view.ax.get_xlabel()
        ((306, 576, 4), 'opacity')
    """

    def __init__(self, names: Sequence[str], figsize: tuple[float, float] = (6.4, 3.4),
                 dpi: float = 90):
        self.names = list(names)
        self.figure = SplatFigure(figsize=figsize, dpi=dpi)
        self.figure.subplots_adjust(left=0.14, right=0.98, bottom=0.15, top=0.97)
        self._canvas = FigureCanvasAgg(self.figure)
        self.ax = self.figure.add_subplot()
        self.ax.set_ylabel("gaussians")
        _whole_counts(self.ax)
        self._place_axis_labels()
        self._stairs = [self.ax.stairs([0], [0, 1], label=name) for name in self.names]
        self._lines: list[Line2D] = []
        for axis in (self.ax.xaxis, self.ax.yaxis):  # made once here, reused by every draw
            axis.get_major_ticks(_MOST_TICKS[0])
            axis.get_minor_ticks(_MOST_TICKS[1])

    def show(self, results: Sequence[Binned], field: str, raw: bool = True,
             log_count: bool = False) -> None:
        """Show ``results`` (one :class:`Binned` a name, of ``field``) as :func:`histogram`
        would; :meth:`draw` renders it.

        Example:
            >>> s = Splat.from_arrays({"opacity": np.array([-9.2103, 0.0, 3.0], np.float32)})
            >>> view = HistogramView(["a"])
            >>> view.show([binned(s, "alpha")], "alpha", log_count=True)
            >>> view.ax.get_yscale()
            'log'
        """
        for stairs, name, result in zip(self._stairs, self.names, results, strict=True):
            stairs.set_data(result.counts, result.edges)
            stairs.set_label(_stairs_label(name, result))
        for line in self._lines:
            line.remove()
        self._set_limits(results)
        self._set_scale("x", x_scale(field, raw))
        self._set_scale("y", "log" if log_count else "linear")
        self.ax.autoscale_view()
        # as in histogram(): a line widens a linear x view only if outside it (axvline), and
        # set_xscale("log"), called after the lines there, fits a log x view to them all
        self._lines = _reference_lines(self.ax, field, raw)
        if x_scale(field, raw) != "linear":
            self.ax.autoscale_view(scaley=False)
        self.ax.set_xlabel(_xlabel(field, raw))
        self._make_room(legend_above(self.ax))

    def _make_room(self, legend: Legend | None) -> None:
        """Move the axes' top down so that ``legend`` (above the axes) fits in the figure."""
        height = legend.get_window_extent().height if legend is not None else 0.0
        self.figure.subplots_adjust(top=1.0 - (height + _LEGEND_GAP) / self.figure.bbox.height)

    def draw(self) -> np.ndarray:
        """(H, W, 4) uint8 RGBA pixels of the figure as shown.

        Example:
            >>> HistogramView(["a"]).draw().dtype
            dtype('uint8')
        """
        self._canvas.draw()
        return np.array(self._canvas.buffer_rgba())

    def _place_axis_labels(self) -> None:
        """Fixed places for the axis labels: the x label under the tick labels, the y label
        against the figure's left edge. Placing them after the tick labels (matplotlib's
        default) lays every tick out twice a draw, ~30 ms on a log axis."""
        self.ax.xaxis.set_label_coords(0.5, -0.105)
        left_edge = blended_transform_factory(self.figure.transFigure, self.ax.transAxes)
        self.ax.yaxis.set_label_coords(0.005, 0.5, transform=left_edge)
        self.ax.yaxis.label.set_verticalalignment("top")

    def _set_limits(self, results: Sequence[Binned]) -> None:
        """Data limits (and smallest positive values, for log axes) of the stairs alone."""
        points = []
        for result in results:
            positive = result.counts[result.counts > 0]
            points += [(result.edges[0], 0.0), (result.edges[-1], result.counts.max())]
            points += [(result.edges[0], positive.min())] if positive.size else []
        self.ax.ignore_existing_data_limits = True
        self.ax.update_datalim(points)

    def _set_scale(self, name: str, scale: str) -> None:
        axis = getattr(self.ax, f"{name}axis")
        if axis.get_scale() == scale:
            return
        self.ax.set(**{f"{name}scale": scale})
        plain = {"log": _PlainLogFormatter, "logit": _PlainLogitFormatter}.get(scale)
        if plain is not None:
            axis.set_major_formatter(plain())
            axis.set_minor_formatter(plain(minor=True) if scale == "logit" else plain())
        elif name == "y":
            _whole_counts(self.ax)


def colour_bar(label: str, limits: tuple[float, float], scale: str = "linear",
               cmap: str = "viridis", width: int = 320, dpi: float = 90) -> np.ndarray:
    """(H, ``width``, 3) uint8 pixels of a horizontal colour bar: ``cmap`` over ``limits``
    (in field units) on an axis of ``scale`` (``"linear"``, ``"log"``, ``"logit"``), ticks
    and ``label`` below it, arrows at both ends for values beyond the limits. Colours match a
    colouring linear in the scale's units (log10 or logit of the values) over its limits.

    Example:
        >>> colour_bar("opacity (activated)", (1e-4, 0.99), "logit", width=200).shape[1:]
        (200, 3)
    """
    fig = SplatFigure(figsize=(width / dpi, 52 / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    mappable = ScalarMappable(norm=scale, cmap=cmap)
    mappable.set_clim(*limits)
    cax = fig.add_axes((0.06, 0.66, 0.88, 0.26))
    fig.colorbar(mappable, cax=cax, orientation="horizontal", extend="both")
    if scale == "logit":  # its default locator labels every decade on both sides: crowded
        cax.xaxis.set_major_locator(LogitLocator(nbins=max(3, width // 64)))
        cax.xaxis.set_major_formatter(_PlainLogitFormatter())
        cax.xaxis.set_minor_formatter(NullFormatter())
    cax.tick_params(labelsize="x-small", pad=1.5)
    cax.set_xlabel(label, fontsize="small", labelpad=1.0)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[:, :width, :3]
    pad = width - pixels.shape[1]  # Agg may round the width a pixel down
    return np.pad(pixels, ((0, 0), (0, pad), (0, 0)), constant_values=255) if pad else pixels


def field_grid(splat: Splat, *, raw: bool = True, bins: int = 64, columns: int = 5
               ) -> SplatFigure:
    """One small histogram per stored property, in file order.

    Example:
        >>> s = Splat.from_arrays({"x": np.zeros(3, np.float32), "y": np.ones(3, np.float32)})
        >>> [a.get_title() for a in field_grid(s).axes]
        ['x', 'y']
    """
    names = splat.properties
    columns = max(1, min(columns, len(names)))
    rows = -(-len(names) // columns)
    fig = SplatFigure(figsize=(2.6 * columns, 2.0 * rows), layout="constrained")
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, columns, i + 1)
        _draw(ax, [splat], [name], name, raw, bins)
        ax.set_title(name, fontsize="small")
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(labelsize="x-small")
    return fig


def render_grid(rows: dict[str, Sequence[RenderResult]], title: str | None = None,
                size: float = 2.4) -> SplatFigure:
    """Renders in a grid: one row a candidate (named by its key), one column a view.

    Example:
        >>> import torch
        >>> white = RenderResult(torch.ones(4, 4, 3), torch.zeros(4, 4))
        >>> [a.get_title() for a in render_grid({"a": [white, white]}).axes]
        ['a, view 0', 'a, view 1']
    """
    columns = max((len(views) for views in rows.values()), default=1)
    fig = SplatFigure(figsize=(size * columns, size * max(len(rows), 1)), layout="constrained")
    for r, (name, views) in enumerate(rows.items()):
        for c, result in enumerate(views):
            ax = fig.add_subplot(len(rows), columns, r * columns + c + 1)
            ax.imshow(result.to_uint8())
            ax.set_title(f"{name}, view {c}", fontsize="small")
            ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig
