"""Point views, open3d geometry and renders (checked against the PyTorch renderer), k3d view."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from splatlab import Splat, load, save
from splatlab.core.fields import inria_properties, sigmoid
from splatlab.data import trellis_like
from splatlab.rendering.cameras import Camera, orbit_cameras
from splatlab.rendering.rasterizer import render
from splatlab.viz.preview import (
    CONTEXT_COLOR,
    PointView,
    image_agreement,
    interactive,
    montage,
    point_view,
    render_open3d,
    rendering_available,
    to_open3d,
    to_png,
)

# open3d's splat shader against splatlab.render on the scenes below: measured mean absolute
# difference 0.53-0.57 of 255, PSNR 48.8-49.1 dB (docs/previews.md). Bounds leave headroom.
MAX_MAE = 1.5
MIN_PSNR = 36.0


def _scene(n: int = 300, seed: int = 0, sh_degree: int = 0) -> Splat:
    """Gaussians a few pixels wide in the unit cube, colours inside [0, 1] (open3d clamps a
    gaussian's colour, the validator-style degree-0 colour does not), non-unit quaternions."""
    rng = np.random.default_rng(seed)
    columns = {name: np.zeros(n, np.float32) for name in inria_properties(sh_degree)}
    values = {
        "x": rng.uniform(-0.5, 0.5, n), "y": rng.uniform(-0.5, 0.5, n),
        "z": rng.uniform(-0.5, 0.5, n), "opacity": rng.normal(0.0, 2.0, n),
        **{f"f_dc_{i}": rng.uniform(-1.7, 1.7, n) for i in range(3)},
        **{f"scale_{i}": rng.normal(-3.5, 0.4, n) for i in range(3)},
        **{f"rot_{i}": rng.normal(0.0, 1.0, n) * 1.7 for i in range(4)},
        **{name: rng.normal(0.0, 0.2, n) for name in columns if name.startswith("f_rest_")},
    }
    return Splat.from_arrays({k: np.asarray(values.get(k, v), np.float32)
                              for k, v in columns.items()})


@pytest.fixture(scope="module")
def renderable() -> None:
    ok, reason = rendering_available()
    if not ok:
        pytest.skip(reason)


# --------------------------------------------------------------------------- to_open3d
def test_to_open3d_matches_read_point_cloud(hamburger_path):
    o3d = pytest.importorskip("open3d")
    read = o3d.t.io.read_point_cloud(str(hamburger_path))
    built = to_open3d(load(hamburger_path))
    assert sorted(built.point) == sorted(read.point)
    for name in read.point:
        a, b = read.point[name].numpy(), built.point[name].numpy()
        assert a.dtype == b.dtype == np.float32 and a.shape == b.shape, name
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6, err_msg=name)


def test_to_open3d_sh_rest_layout_and_degree(tmp_path):
    o3d = pytest.importorskip("open3d")
    splat = _scene(20, sh_degree=2)
    path = save(splat, tmp_path / "deg2.ply")
    read = o3d.t.io.read_point_cloud(str(path)).point["f_rest"].numpy()
    assert read.shape == (20, 8, 3)
    np.testing.assert_array_equal(to_open3d(splat).point["f_rest"].numpy(), read)
    np.testing.assert_array_equal(to_open3d(splat, sh_degree=1).point["f_rest"].numpy(),
                                  read[:, :3])
    assert "f_rest" not in to_open3d(splat, sh_degree=0).point


def test_to_open3d_normalises_quats_and_encodes_opacity_as_logit():
    splat = _scene(50)
    cloud = to_open3d(splat, rows=np.arange(10))
    rot = cloud.point["rot"].numpy()
    assert rot.shape == (10, 4)
    np.testing.assert_allclose(np.linalg.norm(rot, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(rot, splat.quats_normalized[:10], rtol=1e-6)
    probability = splat.replace(opacity=splat.alpha).with_encoding(opacity_encoding="probability")
    logits = to_open3d(probability).point["opacity"].numpy()[:, 0]
    np.testing.assert_allclose(sigmoid(logits), splat.alpha, rtol=1e-5)


def test_to_open3d_normalize_matches_validator_normalisation():
    splat = _scene(50)
    cloud = to_open3d(splat, normalize=True)
    positions = cloud.point["positions"].numpy()
    assert np.ptp(positions, axis=0).max() == pytest.approx(1.5, rel=1e-6)
    assert positions.mean() == pytest.approx(0.0, abs=1e-6)


# --------------------------------------------------------------------------- point views
def _front_camera(size: int = 32) -> Camera:
    return Camera.look_at((0, 0, -2), (0, 0, 0), (0, 1, 0), 60.0, size, size)


def test_point_view_nearest_point_wins_and_highlight_is_drawn_on_top():
    # Two gaussians on the optical axis: red nearer the camera (z=-1), green behind (z=+1).
    splat = Splat.from_arrays({
        "x": np.zeros(2, np.float32), "y": np.zeros(2, np.float32),
        "z": np.array([-1.0, 1.0], np.float32),
        "f_dc_0": np.array([10.0, -10.0], np.float32),
        "f_dc_1": np.array([-10.0, 10.0], np.float32), "f_dc_2": np.full(2, -10.0, np.float32),
        "opacity": np.zeros(2, np.float32)})
    view = PointView(splat, _front_camera(), normalize=False, point_size=1)
    image = view.image()
    assert image.shape == (32, 32, 3)
    assert image[16, 16].tolist() == [255, 0, 0]
    assert (image.reshape(-1, 3) != 255).any(axis=1).sum() == 1
    on_top = view.image(highlight=np.array([1]))
    assert on_top[16, 16].tolist() == [0, 255, 0]
    grey = view.image(highlight=np.array([False, False]))
    assert grey[16, 16].tolist() == [round(c * 255) for c in CONTEXT_COLOR]


def test_point_size_grows_points_and_nearer_wins_overlaps():
    # red nearer the camera at the image centre, green farther one pixel to the right (the
    # camera looks along +z with y up, so world -x is image right)
    camera = _front_camera(32)
    x_one_pixel = -1.2 / camera.fx * 3.0  # 1.2 px at depth 3 (z = +1)
    splat = Splat.from_arrays({
        "x": np.array([0.0, x_one_pixel], np.float32), "y": np.zeros(2, np.float32),
        "z": np.array([-1.0, 1.0], np.float32),
        "f_dc_0": np.array([10.0, -10.0], np.float32),
        "f_dc_1": np.array([-10.0, 10.0], np.float32), "f_dc_2": np.full(2, -10.0, np.float32)})
    image = PointView(splat, camera, normalize=False, point_size=3).image()
    red, green = [255, 0, 0], [0, 255, 0]
    assert image[15:18, 15:18].reshape(-1, 3).tolist() == [red] * 9
    assert image[16, 18].tolist() == green and image[16, 19].tolist() == [255, 255, 255]


def test_point_view_colormap_filter_and_subsample():
    splat = trellis_like(2_016)
    camera = _front_camera(64)
    full = PointView(splat, camera, point_size=1)
    assert len(full.rows) == 2_016
    opaque = PointView(splat, camera, min_alpha=0.5, point_size=1)
    np.testing.assert_array_equal(opaque.rows, np.flatnonzero(splat.alpha >= 0.5))
    few = PointView(splat, camera, max_points=100)
    assert len(few.rows) == 100 and np.all(np.diff(few.rows) > 0)
    low = full.image("opacity", clim=(1e6, 2e6), background=(0, 0, 0))
    drawn = low.reshape(-1, 3)[(low.reshape(-1, 3) != 0).any(axis=1)]
    viridis_low = (np.array([0.267004, 0.004874, 0.329415]) * 255).round()
    assert len(drawn) > 100 and (drawn == viridis_low).all()
    values = np.full(splat.count, np.nan)
    nan_image = full.image(values, background=(1, 1, 1))
    assert ((nan_image == 0).all(axis=2) | (nan_image == 255).all(axis=2)).all()
    with pytest.raises(ValueError, match="color_by needs"):
        full.image(np.zeros(3))


def test_point_view_survives_non_finite_positions():
    splat = trellis_like(512)
    x = splat.column("x").copy()
    x[:5] = [np.nan, np.inf, -np.inf, np.nan, 1e30]
    image = point_view(splat.replace(x=x))
    assert image.shape == (384, 384, 3) and (image != 255).any()


def test_display_helpers():
    image = np.zeros((5, 7, 3), np.uint8)
    assert to_png(image).startswith(b"\x89PNG")
    fig = montage([image] * 5, [str(i) for i in range(5)], ncols=2)
    assert len(fig.axes) == 5 and fig.axes[4].get_title() == "4"
    same = image_agreement(image, image)
    assert same["mae"] == 0.0 and same["psnr"] == float("inf")
    off = image_agreement(image, image + 10)
    assert off["mae"] == off["max"] == 10.0
    assert off["psnr"] == pytest.approx(10 * np.log10(255**2 / 100))


# --------------------------------------------------------------------------- open3d renders
def test_open3d_render_agrees_with_pytorch_renderer(renderable):
    splat = _scene(300)
    cameras = orbit_cameras(3, 2.5, -15.0, 49.1, 96, 96)
    ours = [r.to_uint8() for r in render(splat, cameras, device="cpu")]
    theirs = render_open3d(splat, cameras)
    for a, b in zip(theirs, ours):
        agreement = image_agreement(a, b)
        assert agreement["mae"] < MAX_MAE and agreement["psnr"] > MIN_PSNR, agreement
        assert (b != 255).any(axis=2).mean() > 0.05  # the scene covers the view


def test_open3d_render_sh_degree_and_rows(renderable):
    splat = _scene(200, seed=1, sh_degree=1)
    camera = orbit_cameras(1, 2.5, -15.0, 49.1, 64, 64)
    ours = render(splat, camera, device="cpu", sh_degree=None)[0].to_uint8()
    theirs = render_open3d(splat, camera, sh_degree=None)[0]
    assert image_agreement(theirs, ours)["psnr"] > MIN_PSNR
    nothing = render_open3d(splat, camera, rows=np.zeros(splat.count, bool),
                            background=(0.0, 0.0, 0.0))[0]
    assert not nothing.any()


def test_rendering_probe_failure_is_reported_not_fatal(monkeypatch):
    import splatlab.viz.preview as preview

    monkeypatch.setattr(preview, "_probe_result", {})
    monkeypatch.setenv("VK_ICD_FILENAMES", "/nonexistent/splatlab-missing-icd.json")
    ok, reason = rendering_available()
    assert not ok and "failed" in reason and "Vulkan" in reason
    assert rendering_available() == (ok, reason)  # cached
    with pytest.raises(RuntimeError, match="open3d cannot render here"):
        render_open3d(_scene(10), orbit_cameras(1, 2.5, 0.0, 50.0, 16, 16))


# --------------------------------------------------------------------------- k3d
def test_interactive_k3d_plot():
    k3d = pytest.importorskip("k3d")
    splat = trellis_like(1_024)
    plot = interactive(splat, max_points=300, highlight=splat.alpha > 0.5)
    (points,) = plot.objects
    assert isinstance(points, k3d.objects.Points)
    assert np.asarray(points.positions).shape == (300, 3)
    colors = np.asarray(points.colors)
    grey = sum(round(c * 255) << s for c, s in zip(CONTEXT_COLOR, (16, 8, 0)))
    assert 0 < (colors == grey).sum() < 300


def test_interactive_without_k3d(monkeypatch):
    monkeypatch.setitem(sys.modules, "k3d", None)
    with pytest.raises(ImportError, match="pip install k3d"):
        interactive(trellis_like(64))
