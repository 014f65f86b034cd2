"""Synthetic generator: TRELLIS spec, determinism, exact counts, corruptions, speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

import splatlab
from splatlab import synth
from splatlab.analysis.gates import gate
from splatlab.core.fields import inria_properties
from splatlab.world import trellis
from splatlab.world.trellis import LOG_SCALE_FLOOR
from splatlab.world.trellis import PROPERTIES as TRELLIS_PROPERTIES

FLOOR = LOG_SCALE_FLOOR


@pytest.fixture(scope="module")
def splat() -> splatlab.Splat:
    return synth.trellis(count=32 * 2_000, seed=3)


def test_trellis_layout(splat):
    assert splat.properties == list(TRELLIS_PROPERTIES)
    assert all(dt == np.float32 for dt in splat.dtypes.values())
    assert splat.table.dtype.itemsize == 68
    assert not splat.normals.any()
    assert splat.log_scales.min() >= FLOOR - 1e-6
    norms = np.linalg.norm(splat.quats, axis=1)
    assert norms.std() > 0.05  # w-first, not unit length
    assert np.mean(splat.quats[:, 0] > 0.5) > 0.9


def test_trellis_opacity_is_realistic_logits(splat):
    o = splat.opacity[np.isfinite(splat.opacity)]
    assert o.std() > 3 and o.min() < -5 and o.max() > 8
    assert np.mean((o < 0) | (o > 1)) > 0.8  # logits, not probabilities
    assert not np.isnan(splat.opacity).any()


def test_counts_are_exact_multiples_of_32():
    for count in (32, 489_088, 32 * 1234):
        assert synth.trellis(count=count).count == count
    with pytest.raises(ValueError, match="multiples of 32.*nearest: 992"):
        synth.trellis(count=1_000)


def test_deterministic_from_seed():
    a, b = synth.trellis(3200, seed=7), synth.trellis(3200, seed=7)
    c = synth.trellis(3200, seed=8)
    assert np.array_equal(a.as_matrix(), b.as_matrix(), equal_nan=True)
    assert not np.array_equal(a.positions, c.positions)


def test_object_is_recognisable():
    cells, rgb = synth.active_voxels(15_284, "burger")
    assert len(np.unique(cells, axis=0)) == 15_284
    assert len(np.unique(rgb, axis=0)) == 6  # six coloured parts
    z = (cells[:, 2] + 0.5) / trellis.GRID - 0.5
    assert z.min() < -0.2 and z.max() > 0.2  # buns below and above the filling
    with pytest.raises(ValueError, match="unknown shape"):
        synth.active_voxels(10, "teapot")


def test_scale_targets():
    assert synth.scales_with_std(32_000, 0.746).std(dtype=np.float64) == pytest.approx(0.746,
                                                                                         abs=1e-6)
    collapsed = synth.collapsed_scales(32_000, 0.0008)
    assert collapsed.std(dtype=np.float64) == pytest.approx(0.0008, abs=1e-6)
    assert collapsed.min() >= FLOOR - 1e-6 and collapsed.max() < FLOOR + 0.05


def test_corrupt_returns_new_splat(splat):
    before = splat.opacity.copy()
    bad = synth.corrupt(splat, uniform={"opacity": -9.2103, "log_scales": -7.0},
                        nonfinite=[("x", np.nan, 0.01), ("scale_0", np.inf, 0.002)])
    assert np.array_equal(splat.opacity, before) and not splat.modified
    assert np.all(bad.opacity == np.float32(-9.2103))
    assert np.isnan(bad["x"]).sum() == round(0.01 * splat.count)
    assert np.isposinf(bad["scale_0"]).sum() == round(0.002 * splat.count)
    assert np.all(bad["scale_1"] == -7.0)


def test_corrupt_collapse_and_near_zero(splat):
    bad = synth.corrupt(splat, collapse_scales=0.006, near_zero_opacity_share=0.85, seed=1)
    assert bad.log_scales.std(dtype=np.float64) == pytest.approx(0.006, abs=1e-6)
    assert np.mean(bad.alpha < 1e-3) >= 0.85
    assert not gate(bad).passed
    with pytest.raises(ValueError, match="share"):
        synth.corrupt(splat, near_zero_opacity_share=1.5)


def test_inria_layout():
    for degree, width in ((0, 17), (3, 62)):
        s = synth.inria(count=1000, sh_degree=degree)
        assert s.properties == list(inria_properties(degree)) and len(s.properties) == width
        assert s.sh_degree == degree and s.count == 1000


def test_round_trip_through_a_file(tmp_path, splat):
    path = splatlab.save(splat, tmp_path / "s.ply")
    back = splatlab.load(path)
    assert np.array_equal(back.as_matrix(), splat.as_matrix(), equal_nan=True)


def test_full_size_is_fast_and_saturates_a_few():
    start = time.perf_counter()
    big = synth.trellis(count=762_112, seed=0)
    assert time.perf_counter() - start < 6.0
    assert 0 < np.isposinf(big.opacity).sum() < 1000  # a few saturated gaussians
    assert np.max(big.opacity[np.isfinite(big.opacity)]) < 16.6
