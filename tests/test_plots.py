"""Tests of the field histograms: real counts, reference lines, binning cache."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from IPython.core.formatters import DisplayFormatter
from matplotlib.figure import Figure
from matplotlib.patches import StepPatch

from splatlab.data import trellis_like
from splatlab.loadchain import LOGIT_1E3, LOGIT_1E3_HIGH, LOGIT_1E4, LOGIT_1E4_HIGH
from splatlab.rendering.rasterizer import RenderResult
from splatlab.viz import plots

N = 512


def step_patches(fig) -> list[StepPatch]:
    return [p for p in fig.axes[0].patches if isinstance(p, StepPatch)]


def vertical_lines(fig) -> list[float]:
    return sorted(float(line.get_xdata()[0]) for line in fig.axes[0].lines)


def test_counts_sum_to_finite_values() -> None:
    opacity = np.random.default_rng(1).normal(0, 4, N).astype(np.float32)
    opacity[:7] = np.inf
    opacity[7:10] = np.nan
    splat = trellis_like(N, opacity=opacity)
    fig = plots.histogram(splat, "opacity", bins=50)
    [patch] = step_patches(fig)
    data = patch.get_data()
    assert int(data.values.sum()) == N - 10
    assert len(data.edges) == 51
    assert data.edges[0] == pytest.approx(np.nanmin(opacity[10:]))
    assert data.edges[-1] == pytest.approx(np.nanmax(opacity[10:]))
    assert "10 non-finite" in fig.axes[0].get_legend().get_texts()[0].get_text()


def test_counts_match_numpy_histogram() -> None:
    splat = trellis_like(N)
    [patch] = step_patches(plots.histogram(splat, "x", bins=20))
    expected, _ = np.histogram(splat.column("x").astype(np.float64), bins=patch.get_data().edges)
    assert np.array_equal(patch.get_data().values, expected)


def test_raw_opacity_has_clamp_bounds() -> None:
    fig = plots.histogram(trellis_like(N), "opacity")
    # the lines sit on the exact float32 values the miner's chain leaves in a file
    expected = [LOGIT_1E4, LOGIT_1E3, LOGIT_1E3_HIGH, LOGIT_1E4_HIGH]
    assert vertical_lines(fig) == expected
    assert expected[1] == pytest.approx(math.log(1e-3) - math.log1p(-1e-3), abs=1e-5)
    assert vertical_lines(fig)[0] == pytest.approx(-9.2102, abs=1e-4)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert len(legend) == 3 and "double-logit clamp" in legend[1]  # splat, one entry per pair
    assert fig.axes[0].get_xscale() == "linear"


def test_activated_opacity_is_logit_x_with_gate_line() -> None:
    opacity = np.full(N, -30.0, np.float32)
    opacity[: N // 2] = 2.0
    opacity[-1] = -np.inf  # sigmoid -> 0: finite, lands in the first bin
    fig = plots.histogram(trellis_like(N, opacity=opacity), "opacity", raw=False)
    ax = fig.axes[0]
    assert ax.get_xscale() == "logit"
    assert vertical_lines(fig) == pytest.approx([1e-3])
    values = step_patches(fig)[0].get_data().values
    assert int(values.sum()) == N
    assert values[0] == N // 2 and values[-1] == N // 2  # sigmoid(-30), sigmoid(-inf) | 0.88
    assert plots.histogram(trellis_like(N), "alpha").axes[0].get_xscale() == "logit"


def test_logit_bins_are_even_in_logit_with_saturated_alphas_at_the_ends() -> None:
    alpha = np.array([0.0, 1e-4, 0.6, 0.999, 1.0, np.nan])
    binned = plots.bin_values(alpha, 4, "logit")
    steps = np.diff(np.log(binned.edges) - np.log1p(-binned.edges))
    assert steps == pytest.approx(np.full(4, steps[0]))
    assert binned.edges[[0, -1]].tolist() == [plots.AXIS_FLOOR, 1 - plots.AXIS_FLOOR]
    assert binned.counts.tolist() == [1, 1, 2, 1] and binned.non_finite == 1
    single = plots.bin_values(np.full(3, 1e-4), 8, "logit")  # one value: a bin range about it
    assert single.edges[0] < 1e-4 < single.edges[-1] and single.counts.sum() == 3


def test_legend_sits_above_the_axes_over_no_data() -> None:
    for field, raw in (("opacity", True), ("opacity", False), ("scale_0", True), ("x", True)):
        fig = plots.histogram([trellis_like(N, 0), trellis_like(N, 1)], field, raw=raw)
        fig._repr_png_()  # lays the figure out
        ax = fig.axes[0]
        legend = ax.get_legend().get_window_extent()
        assert legend.y0 >= ax.bbox.y1 and legend.y1 <= fig.bbox.y1
        assert ax.bbox.x0 <= legend.x0 and legend.x1 <= fig.bbox.x1


def test_scale_floor_lines() -> None:
    splat = trellis_like(N)
    assert vertical_lines(plots.histogram(splat, "scale_0")) == pytest.approx([math.log(9e-4)])
    activated = plots.histogram(splat, "scale_max", raw=False)
    assert vertical_lines(activated) == pytest.approx([9e-4])
    assert activated.axes[0].get_xscale() == "log"
    assert vertical_lines(plots.histogram(splat, "linear_scale_1")) == pytest.approx([9e-4])
    assert vertical_lines(plots.histogram(splat, "x")) == []


def test_derived_fields() -> None:
    splat = trellis_like(N)
    assert np.array_equal(plots.field_values(splat, "scale_max"),
                          splat.log_scales.max(axis=1).astype(np.float64))
    assert np.allclose(plots.field_values(splat, "scale_max", raw=False),
                       splat.scales.max(axis=1))
    assert np.allclose(plots.field_values(splat, "linear_scale_2"), splat.scales[:, 2])
    assert np.allclose(plots.field_values(splat, "anisotropy"),
                       splat.scales.max(axis=1) / splat.scales.min(axis=1))
    assert np.allclose(plots.field_values(splat, "volume"), splat.scales.prod(axis=1))
    assert np.allclose(plots.field_values(splat, "quat_norm"), np.linalg.norm(splat.quats, axis=1))
    assert np.allclose(plots.field_values(splat, "opacity", raw=False), splat.alpha)


def test_several_splats_overlaid_with_labels() -> None:
    a, b = trellis_like(N, 0), trellis_like(N, 1)
    fig = plots.histogram([a, b], "y", labels=["before", "after"], log_count=True)
    patches = step_patches(fig)
    assert [p.get_label() for p in patches] == ["before", "after"]
    assert all(int(p.get_data().values.sum()) == N for p in patches)
    assert fig.axes[0].get_yscale() == "log"
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts == ["before", "after"]


def test_binning_is_computed_once_per_splat_field(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = plots.bin_values

    def counting(*args, **kwargs):
        calls.append(args[1:])
        return original(*args, **kwargs)

    monkeypatch.setattr(plots, "bin_values", counting)
    splat = trellis_like(N, 3)
    first = plots.histogram(splat, "z", bins=32)
    second = plots.histogram(splat, "z", bins=32, log_count=True, labels=["again"])
    assert len(calls) == 1
    assert np.array_equal(step_patches(first)[0].get_data().values,
                          step_patches(second)[0].get_data().values)
    plots.histogram(splat, "z", bins=32, raw=False)  # other (field, raw): binned anew
    plots.histogram(trellis_like(N, 3), "z", bins=32)     # another splat, same values: binned anew
    assert len(calls) == 3


def test_draw_into_given_axes() -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    assert plots.histogram(trellis_like(N), "x", ax=ax) is fig
    assert len(step_patches(fig)) == 1


def test_field_grid_has_one_histogram_per_property() -> None:
    splat = trellis_like(N)
    fig = plots.field_grid(splat, raw=False)
    assert [ax.get_title() for ax in fig.axes] == splat.properties
    for ax in fig.axes:
        [patch] = [p for p in ax.patches if isinstance(p, StepPatch)]
        assert int(patch.get_data().values.sum()) == N
    opacity_ax = fig.axes[splat.properties.index("opacity")]
    assert opacity_ax.get_xscale() == "logit"


def test_render_grid_lays_out_candidates_by_views():
    import torch

    from splatlab.rendering.rasterizer import RenderResult
    from splatlab.viz.plots import render_grid

    red = RenderResult(torch.tensor([1.0, 0.0, 0.0]).expand(4, 5, 3), torch.ones(4, 5))
    fig = render_grid({"before": [red, red], "after": [red]}, title="t")
    assert [a.get_title() for a in fig.axes] == ["before, view 0", "before, view 1",
                                                 "after, view 0"]
    shown = fig.axes[0].images[0].get_array()
    assert shown.shape == (4, 5, 3) and shown[0, 0].tolist() == [255, 0, 0]


def test_bin_values_reports_range_and_coarsens_like_numpy() -> None:
    values = np.random.default_rng(4).normal(0, 2, 5000)
    values[:4] = [np.nan, np.inf, -np.inf, np.nan]
    fine = plots.bin_values(values, 1024)
    finite = values[4:]
    assert (fine.low, fine.high) == (finite.min(), finite.max())
    assert fine.finite == 4996 and fine.non_finite == 4
    for bins in (32, 256):
        coarse = fine.coarsen(bins)
        assert len(coarse.edges) == bins + 1 and coarse.edges[[0, -1]].tolist() == [
            finite.min(), finite.max()]
        assert np.array_equal(coarse.counts, np.histogram(finite, coarse.edges)[0])
    with pytest.raises(ValueError, match="divide"):
        fine.coarsen(100)
    nothing = plots.bin_values(np.full(3, np.nan), 8)
    assert nothing.finite == 0 and math.isnan(nothing.low) and nothing.counts.sum() == 0


SETTINGS = [("opacity", True, 256, False), ("opacity", False, 64, True),
            ("scale_0", True, 32, False), ("scale_max", False, 1024, True),
            ("volume", True, 128, False), ("x", True, 256, True)]


def test_histogram_view_shows_what_histogram_draws() -> None:
    a, b = trellis_like(N, 0), trellis_like(N, 1, opacity=np.r_[np.inf, np.nan, np.zeros(N - 2)])
    view = plots.HistogramView(["a", "b"])
    for field, raw, bins, log_count in SETTINGS:  # one view, redrawn in place each time
        view.show([plots.binned(s, field, raw, bins) for s in (a, b)], field, raw, log_count)
        ax = Figure(figsize=(6.4, 3.4)).add_subplot()
        plots.histogram([a, b], field, raw=raw, bins=bins, log_count=log_count,
                        labels=["a", "b"], ax=ax)
        shown = view.ax
        assert (shown.get_xscale(), shown.get_yscale()) == (ax.get_xscale(), ax.get_yscale())
        assert shown.get_xlim() == pytest.approx(ax.get_xlim(), rel=1e-12)
        assert shown.get_ylim() == pytest.approx(ax.get_ylim(), rel=1e-12)
        assert shown.get_xlabel() == ax.get_xlabel()
        assert vertical_lines(view.figure) == vertical_lines(ax.figure)
        assert ([t.get_text() for t in shown.get_legend().get_texts()]
                == [t.get_text() for t in ax.get_legend().get_texts()])
        for drawn, expected in zip(step_patches(view.figure), step_patches(ax.figure),
                                   strict=True):
            assert np.array_equal(drawn.get_data().values, expected.get_data().values)
            assert np.array_equal(drawn.get_data().edges, expected.get_data().edges)
        assert view.draw().shape == (306, 576, 4)


def test_histogram_view_labels_log_ticks_without_mathtext() -> None:
    view = plots.HistogramView(["a"])
    view.show([plots.binned(trellis_like(N), "scale_0", raw=False)], "scale_0", raw=False,
              log_count=True)
    view.draw()
    labels = [t.get_text() for axis in (view.ax.xaxis, view.ax.yaxis)
              for t in axis.get_ticklabels() if t.get_text()]
    assert "10⁻³" in labels and "10⁰" in labels and not any("$" in t for t in labels)
    view.show([plots.binned(trellis_like(N), "opacity", raw=False)], "opacity", raw=False)
    view.draw()
    labels = [t.get_text() for t in view.ax.xaxis.get_ticklabels() if t.get_text()]
    assert "½" in labels and "1−10⁻¹" in labels and not any("$" in t for t in labels)
    formatter = plots._PlainLogFormatter()
    assert [formatter(x) for x in (1e-3, 1.0, 1e12)] == ["10⁻³", "10⁰", "10¹²"]
    ax = Figure().add_subplot(xscale="log", xlim=(0.15, 0.5))
    formatter.set_axis(ax.xaxis)
    formatter.set_locs([0.2, 0.3, 0.4])  # less than a decade: minor ticks get labels too
    assert formatter(0.2) == "2×10⁻¹"


# --------------------------------------------------------------------------- display
def _png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_figures_have_a_png_repr_without_pyplot() -> None:
    splat = trellis_like(N)
    pixels = RenderResult(torch.rand(8, 8, 3), torch.ones(8, 8))
    figures = {"histogram": plots.histogram(splat, "opacity", raw=False),
               "field_grid": plots.field_grid(splat, bins=8),
               "render_grid": plots.render_grid({"a": [pixels, pixels]}),
               "HistogramView": plots.HistogramView(["a"]).figure}
    for name, fig in figures.items():
        assert isinstance(fig, plots.SplatFigure) and isinstance(fig, Figure), name
        width, height = _png_size(fig._repr_png_())
        # bbox_inches="tight", as %matplotlib inline: about the figure's size in pixels
        assert width == pytest.approx(fig.bbox.width, rel=0.2), name
        assert height == pytest.approx(fig.bbox.height, rel=0.2), name
    # IPython's own formatter uses it (no inline backend registered in this process)
    formats, _ = DisplayFormatter().format(figures["histogram"])
    assert formats["image/png"].startswith(b"\x89PNG")
    assert formats["text/plain"].startswith("<SplatFigure size")


def test_given_axes_keep_their_figure() -> None:
    fig = Figure()
    assert plots.histogram(trellis_like(N), "x", ax=fig.add_subplot()) is fig


def test_figures_still_save_to_files(tmp_path) -> None:
    fig = plots.histogram(trellis_like(N), "opacity")
    fig._repr_png_()  # displaying first does not change what is saved
    for suffix in ("png", "pdf", "svg"):
        fig.savefig(tmp_path / f"h.{suffix}")
        assert (tmp_path / f"h.{suffix}").stat().st_size > 1000
    assert (tmp_path / "h.png").read_bytes().startswith(b"\x89PNG")
    assert type(fig.canvas).__name__ == "FigureCanvasBase"  # no backend attached for good


def test_library_never_imports_pyplot() -> None:
    code = ("import sys, torch; import splatlab, splatlab.viz.plots, splatlab.viz.preview, "
            "splatlab.viz.widgets\n"
            "from splatlab import synth\nfrom splatlab.viz import plots\n"
            "plots.histogram(synth.trellis(count=3200), 'opacity')._repr_png_()\n"
            "assert 'matplotlib.pyplot' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
