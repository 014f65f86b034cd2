"""Tests of the rasteriser, cameras and the validator's normalisation."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch

import splatlab
from splatlab.rendering.cameras import Camera, orbit_cameras, validator_rig
from splatlab.rendering.rasterizer import (
    ALPHA_MAX,
    EPS_2D,
    SH_C0,
    SH_C1,
    RenderResult,
    coverage,
    coverage_summary,
    coverage_table,
    rasterize,
    rasterize_reference,
    render,
    sh_to_color,
)
from splatlab.world.sn17 import validator_normalize

IDENTITY = torch.tensor([1.0, 0.0, 0.0, 0.0])


def random_scene(n: int, seed: int, opaque: bool = False) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    means = torch.randn(n, 3, generator=g) * 0.6
    quats = torch.randn(n, 4, generator=g)
    scales = torch.rand(n, 3, generator=g) * 0.15 + 0.01
    opacities = torch.ones(n) if opaque else torch.rand(n, generator=g)
    colors = torch.rand(n, 3, generator=g)
    return means, quats, scales, opacities, colors


def front_camera(width: int = 64, height: int = 48, fov: float = 50.0) -> Camera:
    return Camera.look_at((0.4, -0.3, -3.0), (0.0, 0.0, 0.0), (0.0, 1.0, 0.0), fov, width, height)


def max_error(a: RenderResult, b: RenderResult) -> float:
    return max(float((a.image.double() - b.image.double()).abs().max()),
               float((a.alpha.double() - b.alpha.double()).abs().max()))


# ----------------------------------------------------------------------------- vs reference
@functools.cache
def reference_render(seed: int, n: int, opaque: bool) -> RenderResult:
    return rasterize_reference(*random_scene(n, seed, opaque), front_camera(),
                               background=(0.2, 0.5, 1.0))


@pytest.mark.parametrize("seed, n, opaque", [(0, 50, False), (1, 200, False), (2, 200, True)])
@pytest.mark.parametrize("tile_size, batch, max_elements",
                         [(8, 32, None), (16, 1, 256), (4, 2, 64), (8, 3, 4096)])
def test_tiled_matches_reference(seed: int, n: int, opaque: bool, tile_size: int, batch: int,
                                 max_elements: int | None) -> None:
    scene = random_scene(n, seed, opaque)
    camera = front_camera()
    ref = reference_render(seed, n, opaque)
    out = rasterize(*scene, camera, background=(0.2, 0.5, 1.0), tile_size=tile_size,
                    batch=batch, max_elements=max_elements)
    assert out.image.shape == (48, 64, 3) and out.alpha.shape == (48, 64)
    assert float(ref.alpha.max()) > 0.9  # the scene really covers pixels
    assert max_error(out, ref) <= 1e-3


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_reference() -> None:
    scene = random_scene(200, 2, opaque=True)
    out = rasterize(*(t.cuda() for t in scene), front_camera(), background=(0.2, 0.5, 1.0))
    assert out.image.is_cuda
    ref = reference_render(2, 200, True)
    assert max_error(RenderResult(out.image.cpu(), out.alpha.cpu()), ref) <= 1e-3


def opaque_stack(depths: list[float], opacity: float) -> tuple[torch.Tensor, ...]:
    n = len(depths)
    means = torch.tensor([[0.0, 0.0, d] for d in depths])
    colors = torch.eye(3).repeat(n // 3 + 1, 1)[:n]
    return means, IDENTITY.repeat(n, 1), torch.full((n, 3), 0.05), torch.full((n,), opacity), colors


@pytest.mark.parametrize("batch", [1, 2, 32])
def test_early_termination_is_exact_across_chunks(batch: int) -> None:
    # Six gaussians on the axis of a camera whose centre pixel sees each at alpha = 0.95. The
    # 3DGS rule adds three (T: 0.05, 2.5e-3, 1.25e-4) and stops before the fourth, whose
    # T * (1 - alpha) = 6.25e-6 < 1e-4. batch=1 puts the fourth at the start of a round.
    scene = opaque_stack([0.0, 0.2, 0.4, 0.6, 0.8, 1.0], 0.95)
    camera = Camera.look_at((0, 0, -3), (0, 0, 0), (0, 1, 0), 40.0, 33, 33)
    out = rasterize(*scene, camera, background=(0, 0, 0), batch=batch)
    centre = out.image[16, 16].double()
    a = 0.95
    expected = torch.tensor([a, a * (1 - a), a * (1 - a) ** 2], dtype=torch.float64)
    assert float(out.alpha[16, 16]) == pytest.approx(1 - 0.05**3, abs=1e-6)
    assert torch.allclose(centre, expected, atol=1e-6)
    assert max_error(out, rasterize_reference(*scene, camera, background=(0, 0, 0))) <= 1e-5


def test_alpha_is_clamped_below_one() -> None:
    scene = opaque_stack([0.0], 1.0)
    camera = Camera.look_at((0, 0, -3), (0, 0, 0), (0, 1, 0), 40.0, 33, 33)
    out = rasterize(*scene, camera)
    assert float(out.alpha.max()) == pytest.approx(ALPHA_MAX, abs=1e-6)


# ----------------------------------------------------------------------------- footprints
def fitted_variances(alpha: torch.Tensor, u: float, v: float) -> tuple[float, float]:
    """Variances of the row and column through the footprint centre (u, v), fitted as a
    parabola to log(alpha) by least squares."""

    def fit(profile: torch.Tensor, centre: float) -> float:
        idx = torch.nonzero(profile > 1 / 255).squeeze(1)
        d = idx.double() + 0.5 - centre
        design = torch.stack([torch.ones_like(d), d, d * d], 1)
        sol = torch.linalg.lstsq(design, profile[idx].double().log().unsqueeze(1)).solution
        return float(-0.5 / sol[2])

    return fit(alpha[int(v), :], u), fit(alpha[:, int(u)], v)


def test_isotropic_footprint_matches_analytic_projection() -> None:
    sigma, depth = 0.1, 3.0
    camera = Camera.look_at((0, 0, -depth), (0, 0, 0), (0, 1, 0), 40.0, 65, 65)
    scene = (torch.zeros(1, 3), IDENTITY[None], torch.full((1, 3), sigma), torch.tensor([0.5]),
             torch.ones(1, 3))
    out = rasterize(*scene, camera)
    variance = (camera.fx * sigma / depth) ** 2 + EPS_2D
    px = torch.arange(65, dtype=torch.float64) + 0.5 - 32.5
    d2 = px[:, None] ** 2 + px[None, :] ** 2
    analytic = 0.5 * torch.exp(-0.5 * d2 / variance)
    analytic = torch.where(analytic >= 1 / 255, analytic, 0.0)
    assert float(out.alpha[32, 32]) == pytest.approx(0.5, abs=1e-6)  # centre pixel
    assert float((out.alpha.double() - analytic).abs().max()) < 1e-5
    vx, vy = fitted_variances(out.alpha, 32.5, 32.5)
    assert vx == pytest.approx(variance, rel=1e-4) and vy == pytest.approx(variance, rel=1e-4)


def test_off_axis_footprint_is_stretched_by_the_jacobian() -> None:
    sigma, x, depth = 0.05, 0.6, 3.0
    camera = Camera.look_at((0, 0, 0), (0, 0, 1), (0, -1, 0), 40.0, 129, 65)  # image x = world x
    scene = (torch.tensor([[x, 0.0, depth]]), IDENTITY[None], torch.full((1, 3), sigma),
             torch.tensor([0.8]), torch.ones(1, 3))
    out = rasterize(*scene, camera)
    u, v = camera.fx * x / depth + camera.cx, camera.cy
    f2 = camera.fx**2 * sigma**2 / depth**2
    # J Sigma J^T for an isotropic gaussian at (x, 0, z): the x variance grows by 1 + x^2 / z^2
    vx, vy = fitted_variances(out.alpha, u, v)
    assert vx == pytest.approx(f2 * (1 + (x / depth) ** 2) + EPS_2D, rel=1e-4)
    assert vy == pytest.approx(f2 + EPS_2D, rel=1e-4)


def test_quaternion_rotates_the_footprint() -> None:
    camera = Camera.look_at((0, 0, -3), (0, 0, 0), (0, 1, 0), 40.0, 65, 65)
    scales = torch.tensor([[0.2, 0.05, 0.05]])
    quarter_turn = torch.tensor([[math.cos(math.pi / 4), 0, 0, math.sin(math.pi / 4)]])
    wide = rasterize(torch.zeros(1, 3), IDENTITY[None], scales, torch.tensor([0.5]),
                     torch.ones(1, 3), camera)
    tall = rasterize(torch.zeros(1, 3), quarter_turn * 3.0, scales, torch.tensor([0.5]),
                     torch.ones(1, 3), camera)  # length 3: normalised internally
    wx, wy = fitted_variances(wide.alpha, 32.5, 32.5)
    tx, ty = fitted_variances(tall.alpha, 32.5, 32.5)
    assert wx > 10 * wy
    assert tx == pytest.approx(wy, rel=1e-3) and ty == pytest.approx(wx, rel=1e-3)


def test_culling_behind_outside_and_non_finite() -> None:
    camera = front_camera()
    position = camera.position.float()
    behind = position + (position - torch.zeros(3)) * 0.5   # behind the camera
    beside = torch.tensor([50.0, 0.0, 0.0])                   # far outside the view
    means = torch.stack([behind, beside, torch.tensor([0.0, float("nan"), 0.0])])
    scene = (means, IDENTITY.repeat(3, 1), torch.full((3, 3), 0.3), torch.ones(3),
             torch.zeros(3, 3))
    out = rasterize(*scene, camera)
    assert float(out.alpha.abs().max()) == 0.0
    assert torch.equal(out.image, torch.ones(48, 64, 3))


# ----------------------------------------------------------------------------- colour
def test_sh_colour_degree_0_and_1() -> None:
    coeffs = torch.tensor([[[1.0, -3.0, 0.0], [0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.0, 0.0, 0.0]]])
    dirs = torch.tensor([[0.0, 0.0, 1.0]])
    dc = 0.5 + SH_C0 * coeffs[0, 0]
    assert torch.allclose(sh_to_color(coeffs, dirs, 0), dc.clamp_min(0)[None])
    degree1 = (dc + SH_C1 * 1.0 * coeffs[0, 2]).clamp_min(0)
    assert torch.allclose(sh_to_color(coeffs, dirs), degree1[None])
    assert float(sh_to_color(coeffs, dirs)[0, 1]) == 0.0  # clamped at 0


def test_sh_coefficients_use_direction_from_camera() -> None:
    scene = random_scene(20, 3)
    camera = front_camera()
    coeffs = torch.randn(20, 9, 3, generator=torch.Generator().manual_seed(4)) * 0.5
    dirs = torch.nn.functional.normalize(scene[0] - camera.position.float(), dim=-1)
    rgb = sh_to_color(coeffs, dirs)
    with_sh = rasterize(*scene[:4], coeffs, camera)
    with_rgb = rasterize(*scene[:4], rgb, camera)
    assert max_error(with_sh, with_rgb) < 1e-5
    assert max_error(rasterize_reference(*scene[:4], coeffs, camera), with_sh) < 1e-3


# ----------------------------------------------------------------------------- cameras
def test_validator_rig() -> None:
    rig = validator_rig()
    assert len(rig) == 16
    assert all((c.width, c.height) == (518, 518) for c in rig)
    for cam in rig:
        p = cam.position
        assert float(p.norm()) == pytest.approx(2.5, abs=1e-9)
        # elevation -15 deg in the validator's convention: y = -r sin(-15 deg) > 0, above
        assert float(p[1]) == pytest.approx(2.5 * math.sin(math.radians(15)), abs=1e-9)
        assert torch.allclose(cam.forward, -p / p.norm(), atol=1e-12)  # looks at the origin
        origin = cam.viewmat @ torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64)
        assert cam.fx * origin[0] / origin[2] + cam.cx == pytest.approx(259.0)
        assert cam.fy * origin[1] / origin[2] + cam.cy == pytest.approx(259.0)
        assert 2 * math.degrees(math.atan(259 / cam.fy)) == pytest.approx(49.1)
    azimuths = [math.degrees(math.atan2(float(c.position[0]), float(c.position[2]))) % 360
                for c in rig]
    assert azimuths[:15] == pytest.approx([24.0 * k for k in range(15)])
    assert torch.allclose(rig[0].viewmat, rig[15].viewmat, atol=1e-12)  # linspace(0, 360, 16)


def test_look_at_keeps_world_up_at_the_top_of_the_image() -> None:
    cam = Camera.look_at((3, 1, 2), (0, 0, 0), (0, 1, 0), 45.0, 100, 80)
    above = cam.viewmat @ torch.tensor([0.0, 0.5, 0.0, 1.0], dtype=torch.float64)
    assert cam.fy * above[1] / above[2] + cam.cy < cam.cy
    assert torch.allclose(cam.viewmat[:3, :3] @ cam.viewmat[:3, :3].T,
                          torch.eye(3, dtype=torch.float64), atol=1e-12)


def test_orbit_cameras_spacing() -> None:
    cams = orbit_cameras(8, 2.0, 30.0, 50.0, 32, 32, target=(1.0, 0.0, 0.0))
    positions = torch.stack([c.position for c in cams])
    offsets = positions - torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    assert torch.allclose(offsets.norm(dim=1), torch.full((8,), 2.0, dtype=torch.float64))
    assert torch.allclose(offsets[:, 1], torch.full_like(offsets[:, 1], -1.0))  # -2 sin(30 deg)
    neighbours = (offsets - offsets.roll(1, 0)).norm(dim=1)
    assert torch.allclose(neighbours, neighbours[0].expand(8))  # evenly spaced, no repeat


# ----------------------------------------------------------------------------- normalisation
def test_validator_normalize_hand_computed() -> None:
    means = torch.tensor([[0.0, 0.0, 0.0], [2.0, 1.0, 0.0], [4.0, 2.0, 2.0]])
    scales = torch.tensor([[1.0, 2.0, 4.0]] * 3)
    opacities = torch.tensor([0.3, 0.5, 0.0])
    new_means, new_scales, new_opacities = validator_normalize(means, scales, opacities)
    # one scalar mean 11/9 over all nine coordinates; largest bbox side 4 (x) -> factor 0.375
    expected = (means - 11 / 9) * 0.375
    assert torch.allclose(new_means, expected, atol=1e-6)
    assert torch.allclose(new_scales, scales * 0.375)
    assert torch.allclose(new_opacities, torch.tensor([0.8, 1.0, 0.0]))
    side = (new_means.amax(0) - new_means.amin(0)).max()
    assert float(side) == pytest.approx(1.5)


@pytest.mark.parametrize("bad", ["nan", "inf", "point"])
def test_validator_normalize_degenerate_input_renders_nothing(bad: str) -> None:
    means = torch.ones(3, 3) if bad == "point" else torch.randn(3, 3)
    if bad != "point":
        means[1, 2] = float(bad)
    new_means, _, _ = validator_normalize(means, torch.ones(3, 3), torch.ones(3))
    assert torch.isnan(new_means).all()
    out = rasterize(new_means, IDENTITY.repeat(3, 1), torch.ones(3, 3), torch.ones(3),
                    torch.zeros(3, 3), front_camera())
    assert float(out.alpha.max()) == 0.0


# ----------------------------------------------------------------------------- splats
def small_splat(n: int = 40) -> splatlab.Splat:
    rng = np.random.default_rng(5)
    cols = {name: rng.normal(0, 0.5, n).astype(np.float32) for name in ("x", "y", "z")}
    cols |= {f"f_dc_{i}": rng.normal(0, 1, n).astype(np.float32) for i in range(3)}
    cols["opacity"] = rng.normal(0, 2, n).astype(np.float32)
    cols |= {f"scale_{i}": np.log(rng.uniform(0.02, 0.1, n)).astype(np.float32) for i in range(3)}
    cols |= {f"rot_{i}": rng.normal(0, 1, n).astype(np.float32) for i in range(4)}
    return splatlab.Splat.from_arrays(cols)


def test_render_uses_activated_fields_and_validator_colour() -> None:
    splat = small_splat()
    camera = front_camera()
    [out] = render(splat, [camera], device="cpu", normalize=False)
    fields = [np.array(a, np.float32) for a in (splat.positions, splat.quats, splat.scales,
                                                 splat.alpha, 0.5 + SH_C0 * splat.sh_dc)]
    expected = rasterize(*map(torch.from_numpy, fields), camera)
    assert torch.allclose(out.image, expected.image.clamp(0, 1), atol=1e-6)
    assert torch.allclose(out.alpha, expected.alpha, atol=1e-6)
    assert float(out.image.min()) >= 0.0 and float(out.image.max()) <= 1.0


def test_render_with_sh_bands() -> None:
    base = small_splat()
    cols = {name: np.array(base.column(name)) for name in base.properties}
    rest = {f"f_rest_{i}": np.zeros(base.count, np.float32) for i in range(9)}
    cols = {k: np.abs(v) if k.startswith("f_dc") else v for k, v in cols.items()}  # colour >= 0
    flat = splatlab.Splat.from_arrays({**cols, **rest})
    camera = front_camera()
    [dc_only] = render(flat, [camera], device="cpu", normalize=False)
    [with_sh] = render(flat, [camera], device="cpu", normalize=False, sh_degree=None)
    assert max_error(dc_only, with_sh) < 1e-5  # zero bands: same colour
    rest["f_rest_2"] = np.full(base.count, 1.5, np.float32)  # band 1, red channel
    [tinted] = render(splatlab.Splat.from_arrays({**cols, **rest}), [camera], device="cpu",
                      normalize=False, sh_degree=1)
    assert float((tinted.image - with_sh.image).abs().max()) > 0.05
    assert torch.allclose(tinted.alpha, with_sh.alpha)
    with pytest.raises(ValueError, match="sh_degree 2"):
        render(flat, [camera], device="cpu", sh_degree=2)


def test_coverage_table_and_summary() -> None:
    full = RenderResult(torch.ones(2, 2, 3), torch.ones(2, 2))
    empty = RenderResult(torch.ones(2, 2, 3), torch.zeros(2, 2))
    table = coverage_table([full, empty])
    assert table["covered"].tolist() == [1.0, 0.0]
    summary = coverage_summary(table)
    assert summary["views"] == 2 and summary["empty_views"] == 1
    assert summary["covered_mean"] == pytest.approx(0.5)


def test_coverage_renders_each_camera() -> None:
    cameras = orbit_cameras(3, 4.0, 0.0, 50.0, 24, 24)
    table = coverage(small_splat(), cameras, device="cpu")
    assert table["view"].tolist() == [0, 1, 2]
    assert ((table["covered"] > 0) & (table["covered"] < 1)).all()
    assert (table["mean_alpha"] > 0).all()


def test_hamburger_is_visible_from_the_validator_rig(hamburger_path) -> None:
    splat = splatlab.load(hamburger_path)
    views = render(splat, [validator_rig(resolution=64)[i] for i in (0, 4)], device="cpu")
    table = coverage_table(views)
    assert ((table["covered"] > 0.05) & (table["covered"] < 0.95)).all()
    image = views[0].image
    assert image.shape == (64, 64, 3)
    assert float((image < 0.9).any(dim=-1).double().mean()) > 0.05  # not a blank white frame
    assert bool(torch.equal(image[0, 0], torch.ones(3)))            # corner is background


def test_render_keeps_device_fields_of_recent_splats(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc
    import importlib
    import weakref

    from splatlab import synth

    render_module = importlib.import_module("splatlab.rendering.rasterizer")

    made = []
    original = render_module.splat_tensors
    monkeypatch.setattr(render_module, "splat_tensors",
                        lambda *a, **k: made.append(1) or original(*a, **k))
    monkeypatch.setattr(render_module, "_holding_fields", type(render_module._holding_fields)())
    camera = [front_camera(16, 12)]
    first, second, third = (synth.trellis(192, seed=i) for i in range(3))
    again = render_module.render(first, camera, "cpu")[0]
    assert torch.equal(render_module.render(first, camera, "cpu")[0].image, again.image)
    assert len(made) == 1                                   # drawn twice, copied once
    render_module.render(first, camera, "cpu", sh_degree=None)
    assert len(made) == 2                                   # other settings, other tensors
    render_module.render(second, camera, "cpu")
    key = ("rasterizer.fields", "cpu", True, 0)
    kept = weakref.ref(second.remember(key, dict)["means"])  # the Splat owns its tensors
    render_module.render(third, camera, "cpu")
    holding = [s.remembers(key) for s in (first, second, third)]
    assert holding == [False, True, True] and render_module.FIELDS_KEPT == 2
    assert not first.remembers(("rasterizer.fields", "cpu", True, None))  # oldest forgotten
    del second, third
    gc.collect()
    assert kept() is None                                   # gone with their splats
