"""The JupyterLab explorer: a field's histogram, a range that selects gaussians, a preview.

:func:`explore` returns an :class:`Explorer`: pick a field, raw or activated values, bins and
log counts; the range slider selects the gaussians whose value lies in it (drawn as a shaded
span on the histogram, whose legend sits above the axes) and the point view beside it shows
them over the rest in grey, or coloured by the field with a colour bar. Several splats share
one overlaid histogram and one range; a picker says which one the preview and ``selection``
are about. A button renders the selection with the PyTorch rasteriser (or open3d); once the
selection, the picked splat or the view changes, the render is dimmed and marked stale.

Interactions stay cheap on large files. A field's values and its histogram in
``FINE_BINS`` bins are computed once (each bins choice sums neighbouring fine bins); the
histogram is one :class:`splatlab.viz.plots.HistogramView` updated in place and rasterised once
per setting (the last ``DRAWINGS_KEPT`` are kept); a range change only shades the span over
those pixels; each splat's point view (at most ``max_points`` gaussians) is projected once
per camera, then recoloured. ``bench/bench_explorer.py`` times every interaction on 500k
gaussians.

Example:
    >>> from splatlab import data
    >>> ex = explore([data.trellis_like(), data.chained()], ["healthy", "chained"])
    >>> ex.field.value = "opacity"
    >>> ex.range.value = (-20.0, -6.9)
    >>> bool(ex.selection.sum() > 0)
    True
"""

from __future__ import annotations

import math
import textwrap
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import PIL.Image
import PIL.ImageDraw
import PIL.ImageFont
import torch
from IPython.display import display
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.transforms import Transform

from ..core.fields import logit, sigmoid
from ..core.splat import Splat
from ..rendering.cameras import validator_rig
from ..rendering.rasterizer import rasterize, splat_tensors
from . import plots
from .preview import PointView, percentile_range, render_open3d, to_png

__all__ = ["Explorer", "explore", "readout_format"]

BINS = (32, 64, 128, 256, 512, 1024)
"""Choices of the bins picker."""
FINE_BINS = math.lcm(*BINS)
"""A field is binned once, in this many bins; every choice of ``BINS`` sums groups of them."""
SLIDER_STEPS = 1000
"""The range slider moves in steps of (max - min) / SLIDER_STEPS."""
SLIDER_UNITS = {"linear": ("range", lambda x: x, lambda x: x),
                "log": ("log10 range", math.log10, lambda x: 10.0**x),
                "logit": ("logit range", lambda p: float(logit(p)),
                          lambda x: float(sigmoid(np.float64(x))))}
"""A histogram's x scale -> the range slider's description, and the maps from field values
to slider units and back (the slider moves evenly along the histogram's x axis)."""
READOUT_CHARACTERS = 7
"""Characters a slider end may take: the readout (ipywidgets' 148 px) shows both and " – "."""
STALE_WHITE = 0.65
"""A stale render is blended this much toward white."""
STALE_NOTE = "stale: selection changed, render again"
SPAN_COLOR, SPAN_ALPHA = (255, 215, 0), 0.35
"""The selected range is shaded gold over the histogram."""
_SHADED = np.round(np.arange(256)[:, None] * (1.0 - SPAN_ALPHA)
                   + np.multiply(SPAN_COLOR, SPAN_ALPHA)).astype(np.uint8)
"""(256, 3): a pixel level, per channel, once shaded (a lookup beats blending in floats)."""
DRAWINGS_KEPT = 32
"""Rasterised histograms kept, so that going back to a setting costs no redraw."""


class Explorer:
    """Widgets over one or several splats; build it with :func:`explore`.

    Controls (ipywidgets; drive them from Python too): ``field`` (stored properties every
    splat has, plus :data:`splatlab.viz.plots.DERIVED_FIELDS` for 3DGS files), ``raw`` (True: raw,
    False: activated, as :func:`splatlab.viz.plots.field_values`), ``bins``, ``log_count``,
    ``range``, ``picker`` (the splat the preview shows), ``color_by`` (``"rgb"`` or
    ``"field"``), ``view`` (validator camera), ``engine`` (``"pytorch"`` or ``"open3d"``) and
    ``render_button``. ``range`` is a FloatRangeSlider over the finite values of the field in
    every splat, in the units of the histogram's x axis (:data:`SLIDER_UNITS`): log10 where it
    is logarithmic (activated scales), logit for activated opacity; its readout keeps to
    :data:`READOUT_CHARACTERS` a number. A slider end at its limit also takes the values
    beyond it (infinities, or zeros and ones on a log or logit axis), so the full range
    selects every value but NaN. Outputs: ``histogram`` (PNG ``ipywidgets.Image`` of
    ``figure``, the histogram's Figure), ``preview`` (with a colour bar under it when coloured
    by the field) and ``rendered`` (PNG images), ``status``. ``selection`` is the picked
    splat's boolean mask, ``selections`` one a splat, ``stale`` whether the render shown is
    of another selection, ``widget`` the top-level box.

    Example:
        >>> from splatlab import data
        >>> ex = Explorer([data.trellis_like()])
        >>> ex.raw.value = False; ex.bins.value = 64
        >>> ex.bins.value
        64
    """

    def __init__(self, splats: Sequence[Splat], labels: Sequence[str] | None = None, *,
                 max_points: int = 100_000, resolution: int = 320, render_resolution: int = 256):
        if not splats:
            raise ValueError("explore needs at least one splat")
        self.splats = list(splats)
        self.labels = list(labels) if labels is not None else [
            s.source.name if s.source else f"splat {i}" for i, s in enumerate(self.splats)]
        if len(self.labels) != len(self.splats):
            raise ValueError(f"{len(self.labels)} labels for {len(self.splats)} splats")
        fields = [name for name in self.splats[0].properties
                  if all(name in s.properties for s in self.splats[1:])]
        if all(s.is_gaussian for s in self.splats):
            fields += list(plots.DERIVED_FIELDS)
        if not fields:
            raise ValueError("the splats share no property")
        self.cameras = validator_rig(resolution)
        self.render_cameras = validator_rig(render_resolution)
        self._values: dict[tuple[int, str, bool], np.ndarray] = {}
        self._fine: dict[tuple[int, str, bool], plots.Binned] = {}
        self._views: dict[tuple[int, int], PointView] = {
            (i, 0): PointView(s, self.cameras[0], max_points=max_points)
            for i, s in enumerate(self.splats)}
        self._view = plots.HistogramView(self.labels)
        self._plotted: tuple | None = None
        self._drawings: OrderedDict[tuple, _Drawing] = OrderedDict()
        self._drawing: _Drawing | None = None
        self._quiet = False
        self._colour_bars: dict[tuple, np.ndarray] = {}
        self._render: _Render | None = None   # the render on screen and what it shows

        self.field = widgets.Dropdown(options=fields, description="field",
                                      value="opacity" if "opacity" in fields else fields[0])
        self.raw = widgets.ToggleButtons(options=[("raw", True), ("activated", False)],
                                         value=True, description="values")
        self.bins = widgets.Dropdown(options=BINS, value=256, description="bins")
        self.log_count = widgets.Checkbox(value=False, description="log counts")
        self.range = widgets.FloatRangeSlider(description="range", continuous_update=False,
                                              layout=widgets.Layout(width="95%"))
        self.picker = widgets.Dropdown(options=list(zip(self.labels, range(len(self.splats)))),
                                       value=0, description="preview")
        self.color_by = widgets.ToggleButtons(options=["rgb", "field"], value="rgb",
                                              description="colour")
        self.view = widgets.IntSlider(min=0, max=len(self.cameras) - 2, value=0,
                                      description="view", continuous_update=False)
        self.engine = widgets.ToggleButtons(options=["pytorch", "open3d"], value="pytorch",
                                            description="renderer")
        self.render_button = widgets.Button(description="Render selection", icon="image",
                                            layout=widgets.Layout(width="auto",
                                                                  min_width="max-content"))
        self.histogram = widgets.Image(format="png")
        self.resolution = resolution
        self.preview = widgets.Image(format="png", width=resolution, height=resolution)
        self.rendered = widgets.Image(format="png", width=render_resolution,
                                      height=render_resolution,
                                      layout=widgets.Layout(display="none"))  # until a render
        self.status = widgets.HTML()
        self._counts = ""                 # the selection counts, the first lines of status
        self._note = ""                   # the last line of status: the render's report

        for control in (self.field, self.raw):
            control.observe(self._on_field, "value")
        for control in (self.bins, self.log_count):
            control.observe(self._on_bins, "value")
        self.range.observe(self._on_range, "value")
        for control in (self.picker, self.color_by, self.view):
            control.observe(self._on_preview, "value")
        self.render_button.on_click(self._on_render)

        controls = widgets.VBox([self.field, self.raw, widgets.HBox([self.bins, self.log_count]),
                                 self.range, self.status])
        side = widgets.VBox([self.picker, self.color_by, self.view, self.preview,
                             widgets.HBox([self.engine, self.render_button]), self.rendered])
        self.widget = widgets.HBox([widgets.VBox([controls, self.histogram]), side])
        self._on_field()

    # ------------------------------------------------------------------ state
    def values(self, index: int) -> np.ndarray:
        """Splat ``index``'s current field, raw or activated (float64, cached)."""
        key = (index, self.field.value, self.raw.value)
        if key not in self._values:
            self._values[key] = plots.field_values(self.splats[index], *key[1:])
        return self._values[key]

    def binned(self, index: int) -> plots.Binned:
        """Splat ``index``'s histogram at the current field and bins: the field's histogram in
        ``FINE_BINS`` bins (computed once, cached) summed in groups.

        Example:
            >>> from splatlab import data
            >>> ex = Explorer([data.trellis_like()])
            >>> int(ex.binned(0).counts.sum()) == ex.binned(0).finite
            True
        """
        return self._fine_binned(index).coarsen(self.bins.value)

    def mask(self, index: int) -> np.ndarray:
        """Boolean mask of splat ``index``'s gaussians whose value lies in ``range``."""
        (lo, hi), (slider_lo, slider_hi) = self.span, self.range.value
        lo = -np.inf if slider_lo <= self.range.min else lo
        hi = np.inf if slider_hi >= self.range.max else hi
        values = self.values(index)
        return (values >= lo) & (values <= hi)

    @property
    def selection(self) -> np.ndarray:
        """Boolean mask over the picked splat's gaussians."""
        return self.mask(self.picker.value)

    @property
    def selections(self) -> list[np.ndarray]:
        """One boolean mask a splat."""
        return [self.mask(i) for i in range(len(self.splats))]

    @property
    def span(self) -> tuple[float, float]:
        """The selected interval in field units (the shaded span on the histogram)."""
        to_field = SLIDER_UNITS[self._scale][2]
        lo, hi = self.range.value
        return to_field(lo), to_field(hi)

    @property
    def stale(self) -> bool:
        """Whether the render on screen shows another selection, splat or view than the
        current ones (False when nothing was rendered)."""
        return self._render is not None and not self._render.shows(
            self.picker.value, self.view.value, self.selection)

    @property
    def figure(self) -> Figure:
        """The histogram as currently shown, without the span (a matplotlib Figure)."""
        if self._plotted != self._key():
            self._plot()
        return self._view.figure

    @property
    def _scale(self) -> str:
        return plots.x_scale(self.field.value, self.raw.value)

    def _fine_binned(self, index: int) -> plots.Binned:
        key = (index, self.field.value, self.raw.value)
        if key not in self._fine:
            self._fine[key] = plots.bin_values(self.values(index), FINE_BINS, self._scale)
        return self._fine[key]

    def _key(self) -> tuple:
        return (self.field.value, self.raw.value, self.bins.value, self.log_count.value)

    # ------------------------------------------------------------------ updates
    def _on_field(self, _change: object = None) -> None:
        """New field or raw/activated: redraw, reset the range to the whole field, reselect."""
        self._draw_histogram()
        lo, hi = self._value_range()
        self._quiet = True
        self.range.description = SLIDER_UNITS[self._scale][0]
        self.range.readout_format = readout_format(lo, hi)
        if lo > self.range.max:  # move the limits in an order the slider accepts
            self.range.max, self.range.min = hi, lo
        else:
            self.range.min, self.range.max = lo, hi
        self.range.step = (hi - lo) / SLIDER_STEPS
        self.range.value = (lo, hi)
        self._quiet = False
        self._on_range()

    def _value_range(self) -> tuple[float, float]:
        """The slider's limits: the finite values of every splat, in slider units; one
        value alone gets the histogram's range around it."""
        finite = [b for b in map(self._fine_binned, range(len(self.splats))) if b.finite]
        to_slider = SLIDER_UNITS[self._scale][1]
        if not finite:
            return 0.0, 1.0
        lo, hi = min(b.low for b in finite), max(b.high for b in finite)
        if hi > lo:
            return to_slider(lo), to_slider(hi)
        edges = finite[0].edges
        return to_slider(edges[0]), to_slider(edges[-1])

    def _on_bins(self, _change: object = None) -> None:
        self._draw_histogram()
        self._show_span()

    def _draw_histogram(self) -> None:
        """Pick the drawing for the current settings: cached, or plotted and rasterised."""
        key = self._key()
        drawing = self._drawings.pop(key, None)
        if drawing is None:
            self._plot()
            drawing = _Drawing.of(self._view.ax, self._view.draw())
        self._drawings[key] = drawing
        while len(self._drawings) > DRAWINGS_KEPT:
            self._drawings.popitem(last=False)
        self._drawing = drawing

    def _plot(self) -> None:
        results = [self.binned(i) for i in range(len(self.splats))]
        self._view.show(results, self.field.value, self.raw.value, self.log_count.value)
        self._plotted = self._key()

    def _show_span(self) -> None:
        self.histogram.value = to_png(self._drawing.with_span(*self.span))

    def _on_range(self, _change: object = None) -> None:
        if self._quiet:
            return
        self._show_span()
        masks = self.selections
        counts = [(label, int(m.sum()), m.size) for label, m in zip(self.labels, masks)]
        self._counts = "<br>".join(f"{label}: {k:,} of {n:,} selected ({k / max(n, 1):.1%})"
                                   for label, k, n in counts)
        if self._scale != "linear":  # the slider is in log10 or logit units: say it in values
            lo, hi = self.span
            self._counts += (f"<br>{plots.field_label(self.field.value, self.raw.value)}"
                             f" from {_readable(lo)} to {_readable(hi)}")
        self._show_preview(masks[self.picker.value])
        self._mark_render()

    def _on_preview(self, _change: object = None) -> None:
        self._show_preview(self.selection)
        self._mark_render()

    def _show_preview(self, selection: np.ndarray) -> None:
        index = self.picker.value
        key = (index, self.view.value)
        if key not in self._views:
            self._views[key] = self._views[(index, 0)].with_camera(self.cameras[key[1]])
        view = self._views[key]
        if self.color_by.value == "rgb":
            image = view.image("rgb", highlight=selection)
        else:  # coloured evenly along the histogram's x axis, with a colour bar under it
            image, limits = self._field_colours(view, selection)
            image = np.vstack([image, self._colour_bar(limits)])
        self.preview.height = image.shape[0]
        self.preview.value = to_png(image)

    def _field_colours(self, view: PointView, selection: np.ndarray
                       ) -> tuple[np.ndarray, tuple[float, float]]:
        """The point view coloured by the field in slider units (log10, logit or as is)
        over the 1st-99th percentile of the drawn points, and those limits in field units."""
        to_field = SLIDER_UNITS[self._scale][2]
        values = self.values(self.picker.value)
        with np.errstate(divide="ignore", invalid="ignore"):
            units = (values if self._scale == "linear" else np.log10(values)
                     if self._scale == "log" else logit(values))
        lo, hi = percentile_range(units[view.rows])
        hi = hi if hi > lo else lo + 1.0
        image = view.image(units, highlight=selection, clim=(lo, hi))
        return image, (to_field(lo), to_field(hi))

    def _colour_bar(self, limits: tuple[float, float]) -> np.ndarray:
        key = (self.field.value, self.raw.value, limits)
        if key not in self._colour_bars:
            self._colour_bars[key] = plots.colour_bar(
                plots.field_label(self.field.value, self.raw.value), limits, self._scale,
                width=self.resolution)
        return self._colour_bars[key]

    def _mark_render(self) -> None:
        """Show the render dimmed and say so when it is stale, as it was when not (again)."""
        if self._render is not None:
            stale = self.stale
            self.rendered.value = self._render.stale_png if stale else self._render.png
            self._note = STALE_NOTE if stale else self._render.report
        self.status.value = f"{self._counts}<br>{self._note}" if self._note else self._counts

    def _on_render(self, _button: object = None) -> None:
        """Render the picked splat's selection (validator normalisation of the whole splat)."""
        index, selection = self.picker.value, self.selection
        splat, camera = self.splats[index], self.render_cameras[self.view.value]
        start = time.perf_counter()
        try:
            if self.engine.value == "open3d":
                image = render_open3d(splat, [camera], rows=selection)[0]
            else:
                tensors = splat_tensors(splat)
                keep = torch.from_numpy(selection).to(tensors["means"].device)
                fields = {name: values[keep] for name, values in tensors.items()}
                image = rasterize(fields["means"], fields["quats"], fields["scales"],
                                  fields["opacities"], fields["colors"], camera).to_uint8()
        except (RuntimeError, ValueError, LookupError) as error:
            self._note = f"render failed: {error}"
            self.status.value = f"{self._counts}<br>{self._note}"
            return
        report = (f"rendered {int(selection.sum()):,} gaussians with {self.engine.value}"
                  f" in {time.perf_counter() - start:.1f} s")
        self._render = _Render.of(np.asarray(image), index, self.view.value, selection, report)
        self.rendered.layout.display = None
        self._mark_render()

    def _ipython_display_(self) -> None:
        display(self.widget)


def _readable(value: float) -> str:
    """A field value for the status line; values near 1 (alphas) as 1 minus a small one.

    Example:
        >>> _readable(0.0001234567), _readable(0.99999976)
        ('0.0001235', '1−2.4e-07')
    """
    return f"1−{1.0 - value:.2g}" if 0.999 < value < 1.0 else f"{value:.4g}"


@dataclass(frozen=True)
class _Render:
    """A render on screen: its PNG, dimmed PNG, report, and the splat, view and selection
    it shows."""

    png: bytes
    stale_png: bytes
    report: str
    index: int
    view: int
    selection: np.ndarray

    @classmethod
    def of(cls, image: np.ndarray, index: int, view: int, selection: np.ndarray,
           report: str) -> _Render:
        return cls(to_png(image), to_png(_dimmed(image)), report, index, view, selection.copy())

    def shows(self, index: int, view: int, selection: np.ndarray) -> bool:
        return (index, view) == (self.index, self.view) and np.array_equal(
            selection, self.selection)


def _dimmed(image: np.ndarray) -> np.ndarray:
    """``image`` blended toward white, with :data:`STALE_NOTE` written across its top when it
    is wide enough to read."""
    pale = np.round(image[..., :3] * (1.0 - STALE_WHITE) + 255 * STALE_WHITE).astype(np.uint8)
    if pale.shape[1] < 128:
        return pale
    picture = PIL.Image.fromarray(pale)
    draw = PIL.ImageDraw.Draw(picture)
    font = PIL.ImageFont.load_default(size=max(10, pale.shape[1] // 22))
    text = "\n".join(textwrap.wrap(STALE_NOTE, 24))
    draw.multiline_text((6, 6), text, fill=(150, 20, 20), font=font)
    return np.asarray(picture)


@dataclass(frozen=True)
class _Drawing:
    """A rasterised histogram without its span, and where its axes box lies in the pixels."""

    pixels: np.ndarray       # (H, W, 4) uint8
    to_pixels: Transform     # data -> display coordinates (frozen), origin bottom left
    rows: tuple[int, int]    # the axes box, as image rows (top, bottom)
    cols: tuple[int, int]

    @classmethod
    def of(cls, ax: Axes, pixels: np.ndarray) -> _Drawing:
        box, height = ax.bbox, pixels.shape[0]
        return cls(pixels, ax.transData.frozen(),
                   (height - math.ceil(box.y1), height - math.floor(box.y0)),
                   (math.floor(box.x0), math.ceil(box.x1)))

    def with_span(self, lo: float, hi: float) -> np.ndarray:
        """(H, W, 3) uint8 pixels with [lo, hi] shaded over the axes box (at least 1 px)."""
        image = self.pixels[..., :3].copy()
        x = self.to_pixels.transform([[lo, 1.0], [hi, 1.0]])[:, 0]
        c0, c1 = (int(np.clip(v, *self.cols)) for v in (np.floor(x[0]), np.ceil(x[1])))
        region = image[self.rows[0]:self.rows[1], c0:max(c1, c0 + 1)]
        region[:] = _SHADED[region, np.arange(3)]
        return image


def readout_format(lo: float, hi: float, characters: int = READOUT_CHARACTERS) -> str:
    """A d3 format (ipywidgets' ``readout_format``) that shows slider ends from ``lo`` to
    ``hi`` in at most ``characters`` each (sign included): fixed point with 4 significant
    digits of the larger end, fewer decimals where those do not fit, and scientific notation
    where fixed point would keep fewer than 3 significant digits.

    Example:
        >>> [readout_format(*ends) for ends in ((-2.301, -0.0002121), (-11.9, 15.2),
        ...                                     (0.0, 250_000.0), (1e-7, 3e-6))]
        ['.3f', '.2f', '.0f', '.2e']
    """
    largest = max(abs(lo), abs(hi))
    exponent = math.floor(math.log10(largest)) if largest > 0 else 0
    sign = int(min(lo, hi) < 0)
    integer = max(1, exponent + 1)
    decimals = max(0, min(3 - exponent, characters - sign - integer - 1))
    if sign + integer <= characters and exponent + 1 + decimals >= 3:
        return f".{decimals}f"
    exponent_digits = 1 if abs(exponent) < 10 else 2  # d3 writes e-5, e+12
    return f".{max(0, characters - sign - 4 - exponent_digits)}e"


def explore(splats: Splat | Sequence[Splat], labels: Sequence[str] | None = None, *,
            max_points: int = 100_000, resolution: int = 320,
            render_resolution: int = 256) -> Explorer:
    """Explore one splat or compare several in JupyterLab; see :class:`Explorer`.

    ``max_points`` caps the gaussians drawn in the point view (a seeded random subset),
    ``resolution`` is its side in pixels, ``render_resolution`` the side of a render.

    Example:
        >>> from splatlab import data
        >>> type(explore(data.trellis_like())).__name__
        'Explorer'
    """
    group = [splats] if isinstance(splats, Splat) else list(splats)
    return Explorer(group, labels, max_points=max_points, resolution=resolution,
                    render_resolution=render_resolution)
