"""The explorer, driven from Python: selections against numpy, figure and preview updates."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from _splats import make_trellis_like
from matplotlib.image import imread

import splatlab.viz.preview as preview
from splatlab.viz.preview import CONTEXT_COLOR
from splatlab.viz.widgets import SPAN_ALPHA, SPAN_COLOR, Explorer, explore


def _pixels(png: bytes) -> np.ndarray:
    """(K, 3) uint8 colours of the non-white pixels of a PNG."""
    image = np.round(imread(io.BytesIO(png))[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    return image[(image != 255).any(axis=1)]


@pytest.fixture
def pair() -> Explorer:
    a = make_trellis_like(4_000, seed=0)
    opacity = a.opacity.copy()
    opacity[:3] = [np.inf, -np.inf, np.nan]
    b = make_trellis_like(3_000, seed=1)
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


def test_activated_opacity_uses_a_log10_slider(pair):
    a = pair.splats[0]
    pair.raw.value = False
    assert pair.range.description == "log10 range"
    assert pair.figure.axes[0].get_xscale() == "log"
    pair.range.value = (-4.0, -3.0)
    assert pair.span == pytest.approx((1e-4, 1e-3))
    np.testing.assert_array_equal(pair.selection, (a.alpha >= 1e-4) & (a.alpha <= 1e-3))
    pair.range.value = (pair.range.min, -3.0)
    np.testing.assert_array_equal(pair.selection, a.alpha <= 1e-3)  # zeros (-inf logit) too
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
    pair.field.value = "alpha"  # a derived field, on a log x axis
    assert ax.get_xscale() == "log" and pair.range.description == "log10 range"
    assert ax.get_xlim()[1] <= 10.0


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
    assert pair.selection.shape == (3_000,)
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
    splat = make_trellis_like(500)
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
