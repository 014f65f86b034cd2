"""The explorer, driven from Python: selections against numpy, figure and preview updates."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from matplotlib.image import imread

import splatlab
import splatlab.viz.preview as preview
from conftest import FIXTURES
from splatlab import data
from splatlab.core.fields import logit
from splatlab.data import trellis_like
from splatlab.viz import plots
from splatlab.viz.preview import CONTEXT_COLOR
from splatlab.viz.widgets import (
    READOUT_CHARACTERS,
    SPAN_ALPHA,
    SPAN_COLOR,
    STALE_NOTE,
    Explorer,
    explore,
    readout_format,
)


def _pixels(png: bytes) -> np.ndarray:
    """(K, 3) uint8 colours of the non-white pixels of a PNG."""
    image = np.round(imread(io.BytesIO(png))[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    return image[(image != 255).any(axis=1)]


@pytest.fixture
def pair() -> Explorer:
    a = trellis_like(4_000, seed=0)
    opacity = a.opacity.copy()
    opacity[:3] = [np.inf, -np.inf, np.nan]
    b = trellis_like(3_008, seed=1)
    return explore([a.replace(opacity=opacity), b], labels=["a", "b"], resolution=96,
                   render_resolution=24)


def test_range_selects_like_numpy(pair):
    a, b = pair.splats
    assert pair.field.value == "opacity" and pair.raw.value is True
    finite = np.concatenate([a.opacity[3:], b.opacity])
    assert pair.range.value == pytest.approx((finite.min(), finite.max()))
    # full range: everything but NaN, infinities included (open slider ends)
    assert pair.selections[0].sum() == a.count - 1 and pair.selections[1].all()
    pair.range.value = (-2.0, 1.5)
    for splat, mask in zip(pair.splats, pair.selections):
        np.testing.assert_array_equal(mask, (splat.opacity >= -2.0) & (splat.opacity <= 1.5))
    np.testing.assert_array_equal(pair.selection, pair.selections[0])
    assert f"a: {int(pair.selections[0].sum()):,} of 4,000 selected" in pair.status.value
    pair.range.value = (pair.range.min, 0.0)  # open low end: -inf comes in
    np.testing.assert_array_equal(pair.selection, a.opacity <= 0.0)
    assert pair.selection[1] and not pair.selection[0]


def test_activated_opacity_uses_a_logit_slider(pair):
    a = pair.splats[0]
    pair.raw.value = False
    assert pair.range.description == "logit range"
    assert pair.figure.axes[0].get_xscale() == "logit"
    pair.range.value = (float(logit(1e-4)), float(logit(1e-3)))
    assert pair.span == pytest.approx((1e-4, 1e-3))
    lo, hi = pair.span
    np.testing.assert_array_equal(pair.selection, (a.alpha >= lo) & (a.alpha <= hi))
    assert "opacity (activated) from 0.0001 to 0.001" in pair.status.value
    pair.range.value = (pair.range.min, -3.0)
    np.testing.assert_array_equal(pair.selection, a.alpha <= pair.span[1])  # zeros (-inf) too
    pair.range.value = (0.0, pair.range.max)
    np.testing.assert_array_equal(pair.selection, a.alpha >= 0.5)  # ones (+inf) too
    pair.raw.value = True
    assert pair.range.description == "range" and pair.figure.axes[0].get_xscale() == "linear"


def test_field_bins_and_log_count_redraw_the_histogram(pair):
    ax = pair.figure.axes[0]
    before = bytes(pair.histogram.value)
    pair.field.value = "scale_0"
    lo, hi = pair.range.value
    values = np.concatenate([s.column("scale_0") for s in pair.splats])
    assert (lo, hi) == pytest.approx((values.min(), values.max()))
    assert ax.get_xlabel() == "scale_0" and pair.histogram.value != before
    pair.bins.value = 32
    stairs = [p for p in ax.patches if hasattr(p, "get_data")]
    assert len(stairs) == 2 and all(len(p.get_data().values) == 32 for p in stairs)
    assert sum(p.get_data().values.sum() for p in stairs) == sum(s.count for s in pair.splats)
    pair.log_count.value = True
    assert ax.get_yscale() == "log"
    pair.field.value = "alpha"  # a derived field, on a logit x axis
    assert ax.get_xscale() == "logit" and pair.range.description == "logit range"
    assert 0.0 < ax.get_xlim()[0] < ax.get_xlim()[1] < 1.0
    pair.field.value = "volume"  # on a log x axis
    assert ax.get_xscale() == "log" and pair.range.description == "log10 range"


def test_preview_highlights_the_selection_and_follows_picker_and_view(pair):
    everything = _pixels(pair.preview.value)
    grey = np.round(np.asarray(CONTEXT_COLOR) * 255).astype(np.uint8)
    assert len(everything) > 100 and not (everything == grey).all(axis=1).any()
    pair.range.value = (0.1234567, 0.1234567)  # inside the slider, no gaussian there
    assert not pair.selection.any()
    nothing = _pixels(pair.preview.value)
    assert len(nothing) > 100 and (nothing == grey).all(axis=1).all()
    front = bytes(pair.preview.value)
    pair.view.value = 4
    assert pair.preview.value != front
    pair.picker.value = 1
    assert pair.selection.shape == (3_008,)
    pair.color_by.value = "field"
    assert pair.preview.value != front


def test_render_button_pytorch_and_open3d_fallback(pair, monkeypatch):
    pair.range.value = (0.0, pair.range.max)
    assert pair.rendered.layout.display == "none"            # no empty image before a render
    pair.render_button.click()
    assert pair.rendered.layout.display is None
    counts, report = pair.status.value.rsplit("<br>", 1)
    assert "selected" in counts                                # the counts stay above the report
    assert report.startswith(f"rendered {int(pair.selection.sum()):,} gaussians")
    assert bytes(pair.rendered.value).startswith(b"\x89PNG")
    assert imread(io.BytesIO(pair.rendered.value)).shape[:2] == (24, 24)
    monkeypatch.setattr(preview, "_probe_result", {"result": (False, "no Vulkan here")})
    pair.engine.value = "open3d"
    pair.render_button.click()
    assert pair.status.value.endswith("<br>render failed: open3d cannot render here:"
                                      " no Vulkan here")


def test_explore_arguments():
    splat = trellis_like(512)
    single = explore(splat)
    assert single.labels == ["splat 0"] and single.widget.children
    assert "alpha" in single.field.options and "opacity" in single.field.options
    with pytest.raises(ValueError, match="labels"):
        explore([splat, splat], labels=["one"])
    with pytest.raises(ValueError, match="at least one"):
        explore([])


GOLD_ON_WHITE = np.round(255 * (1 - SPAN_ALPHA) + np.multiply(SPAN_COLOR, SPAN_ALPHA))
"""A white pixel once shaded by the span."""


def _shaded_columns(png: bytes) -> np.ndarray:
    image = np.round(imread(io.BytesIO(png))[..., :3] * 255).astype(np.uint8)
    return np.flatnonzero((image == GOLD_ON_WHITE).all(axis=2).any(axis=0))


def test_histogram_image_follows_bins_with_numpy_counts(pair):
    a, b = pair.splats
    first = bytes(pair.histogram.value)
    pair.bins.value = 64
    assert pair.histogram.value != first
    for splat, stairs in zip(pair.splats, pair.figure.axes[0].patches):
        counts, edges = stairs.get_data().values, stairs.get_data().edges
        finite = splat.opacity[np.isfinite(splat.opacity)].astype(np.float64)
        assert len(counts) == 64 and edges[[0, -1]].tolist() == [finite.min(), finite.max()]
        assert np.array_equal(counts, np.histogram(finite, edges)[0])
    pair.bins.value = 256
    assert pair.histogram.value == first


def test_span_shading_matches_the_range(pair):
    for raw, chosen in ((True, (-2.0, 1.5)), (True, None), (False, (-4.0, -3.0))):
        pair.raw.value = raw
        pair.range.value = chosen or (pair.range.min, pair.range.max)
        x0, x1 = pair.figure.axes[0].transData.transform([(x, 1.0) for x in pair.span])[:, 0]
        columns = _shaded_columns(pair.histogram.value)
        assert np.array_equal(columns, np.arange(math.floor(x0), math.ceil(x1)))


def _png_array(png: bytes) -> np.ndarray:
    return np.round(imread(io.BytesIO(png))[..., :3] * 255).astype(np.uint8)


@pytest.mark.parametrize("splat", [data.trellis_like(), data.corrupted()],
                         ids=["trellis-like", "corrupted"])
def test_the_legend_covers_no_bar_and_the_span_never_paints_it(splat):
    ex = explore(splat, ["file"])
    settings = [(f, True) for f in ex.field.options] + [
        (f, False) for f in ("opacity", "scale_0", "scale_1", "scale_2", "scale_max")]
    for field, raw in settings:
        ex.field.value, ex.raw.value = field, raw
        ax = ex.figure.axes[0]
        legend = ax.get_legend().get_window_extent()
        [stairs] = [p for p in ax.patches if hasattr(p, "get_data")]
        counts, edges = stairs.get_data().values, stairs.get_data().edges
        tallest = int(np.argmax(counts))
        bar = ax.transData.transform([(edges[tallest], 0), (edges[tallest + 1],
                                                            counts[tallest])])
        assert legend.y0 > bar[:, 1].max(), (field, raw)  # above the tallest bar
        assert legend.y0 >= ax.bbox.y1 and legend.y1 <= ex.figure.bbox.y1, (field, raw)
    # the span shades the axes box only: the legend's pixels stay as drawn
    ex.field.value, ex.raw.value = "opacity", True
    ex.range.value = (ex.range.min, ex.range.max)
    legend = ex.figure.axes[0].get_legend().get_window_extent()
    height = ex._drawing.pixels.shape[0]
    rows = slice(height - math.ceil(legend.y1), height - math.floor(legend.y0))
    cols = slice(math.floor(legend.x0), math.ceil(legend.x1))
    shown = _png_array(ex.histogram.value)
    assert np.array_equal(shown[rows, cols], ex._drawing.pixels[rows, cols, :3])
    assert not np.array_equal(shown, ex._drawing.pixels[..., :3])  # the span is there


def test_activated_opacity_of_real_files_spreads_over_the_logit_axis():
    """Activated opacity of a real scan: a log axis put most gaussians into the last few
    bins (alphas within 1e-3 of 1); the logit axis spreads them."""
    path = FIXTURES / "hamburger.ply"
    if not path.exists():
        pytest.skip(f"{path} absent")
    ex = explore(splatlab.load(path), ["hamburger"])
    ex.raw.value = False
    counts = ex.binned(0).counts
    assert ex.figure.axes[0].get_xscale() == "logit"
    on_log = plots.bin_values(ex.values(0), len(counts), "log").counts
    last = len(counts) // 16  # the last sixteenth of the axis: alphas close to 1
    assert on_log[-last:].sum() > 0.4 * counts.sum()   # as it was: squeezed against 1
    assert counts[-last:].sum() < 0.1 * counts.sum()   # spread out


def test_slider_readout_fits_with_four_significant_digits():
    cases = {(-2.300937270699766, -0.00021210964128748377): ("-2.301", "-0.000"),
             (-11.889855, 15.249238): ("-11.89", "15.25"),
             (0.000123, 0.000456): ("1.23e-04", "4.56e-04"),
             (-0.0456, 0.03): ("-0.0456", "0.0300"),
             (-123456.7, 98765.4): ("-123457", "98765"),
             (-1.5e7, 2e7): ("-1.5e+07", "2.0e+07"),
             (0.0, 1.0): ("0.000", "1.000")}
    for (lo, hi), expected in cases.items():
        spec = readout_format(lo, hi)
        shown = tuple(format(v, spec) for v in (lo, hi))
        assert shown == expected
        # d3 writes exponents without padding (e-4): Python's e-04 is one character longer
        assert all(len(t.replace("e-0", "e-").replace("e+0", "e+")) <= READOUT_CHARACTERS
                   for t in shown)


def test_hamburger_slider_reads_in_full(pair):
    pair.raw.value = False
    lo, hi = pair.range.value
    assert pair.range.readout_format == readout_format(lo, hi)
    assert all(len(format(v, pair.range.readout_format)) <= READOUT_CHARACTERS
               for v in (lo, hi))


def test_field_colouring_has_a_colour_bar_with_name_and_units(pair):
    pair.color_by.value = "field"
    pair.raw.value = False
    png = bytes(pair.preview.value)
    image = _png_array(png)
    assert image.shape[0] > pair.resolution and int(pair.preview.height) == image.shape[0]
    [(key, bar)] = [(k, b) for k, b in pair._colour_bars.items() if k[:2] == ("opacity", False)]
    assert np.array_equal(image[pair.resolution:], bar)
    lo, hi = key[2]
    assert 0.0 < lo < hi < 1.0  # in alpha, the field's units
    expected = plots.colour_bar("opacity (activated)", (lo, hi), "logit", width=pair.resolution)
    assert np.array_equal(bar, expected)
    assert not np.array_equal(bar, plots.colour_bar("opacity (raw)", (lo, hi), "logit",
                                                    width=pair.resolution))  # the label shows
    pair.raw.value = True
    assert pair.preview.value != png
    pair.color_by.value = "rgb"
    assert _png_array(pair.preview.value).shape[0] == pair.resolution  # no bar for colours


def test_a_render_turns_stale_when_the_selection_changes(pair):
    pair.range.value = (0.0, pair.range.max)
    pair.render_button.click()
    fresh = bytes(pair.rendered.value)
    assert not pair.stale and "rendered" in pair.status.value
    pair.range.value = (1.0, pair.range.max)
    assert pair.stale and pair.status.value.endswith(f"<br>{STALE_NOTE}")
    assert "selected" in pair.status.value  # the counts stay
    dimmed = _png_array(pair.rendered.value)
    assert dimmed.shape == _png_array(fresh).shape and dimmed.mean() > _png_array(fresh).mean()
    pair.range.value = (0.0, pair.range.max)  # the rendered selection again: fresh again
    assert not pair.stale and bytes(pair.rendered.value) == fresh
    assert "rendered" in pair.status.value.rsplit("<br>", 1)[1]
    pair.view.value = 3
    assert pair.stale and pair.status.value.endswith(STALE_NOTE)
    pair.view.value = 0
    pair.picker.value = 1
    assert pair.stale
