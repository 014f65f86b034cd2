"""Junk a converter leaves (SL961-SL963): each case built in tmp_path, then the field's
reference decodes in ``../shared/fixtures/formats/decoded``."""

from __future__ import annotations

import numpy as np
import pytest
from _splats import columns_of

from conftest import FIXTURES
from splatlab import Splat, diagnose, load, save
from splatlab.core.fields import f_rest_names
from splatlab.data import trellis_like
from splatlab.world.clamps import LOGIT_CLAMP

DECODED = FIXTURES / "formats" / "decoded"


def decoded(name: str):
    path = DECODED / name
    if not path.exists():
        pytest.skip(f"fixture {path} absent")
    return load(path)


def test_zero_filled_rows(tmp_path):
    columns = columns_of(trellis_like(8_000, seed=1))
    rows = [7, 100, 7_999]
    for values in columns.values():
        values[rows] = 0
    splat = load(save(Splat.from_arrays(columns), tmp_path / "padded.ply"))
    [finding] = diagnose(splat).filter(code="SL961")
    assert finding.severity == "warning" and finding.affected == len(rows)
    assert finding.evidence["first_rows"] == rows and "7, 100, 7,999" in finding.message
    columns["opacity"][7] = 0.5                 # one non-zero property: not a zero row
    assert diagnose(Splat.from_arrays(columns)).filter(code="SL961")[0].affected == 2


def test_sh_degree_in_name_only(tmp_path):
    columns = columns_of(trellis_like(8_000, seed=1))
    columns.update({n: np.zeros(8_000, np.float32) for n in f_rest_names(24)})
    splat = load(save(Splat.from_arrays(columns), tmp_path / "sh2.ply"))
    [finding] = diagnose(splat).filter(code="SL962")
    assert finding.severity == "info" and "SH degree 2" in finding.message
    columns["f_rest_23"][3] = 1e-3
    assert not diagnose(Splat.from_arrays(columns)).filter(code="SL962")


def test_scales_saturated_by_spz_are_named(tmp_path):
    columns = columns_of(trellis_like(8_000, seed=1))
    columns["scale_0"][:400] = -13.0        # 5 % below SPZ's -10
    spz = save(Splat.from_arrays(columns), tmp_path / "a.spz")
    [finding] = diagnose(load(spz)).filter(code="SL963", field="scale_0")
    assert finding.affected >= 400 and "SPZ" in finding.message
    assert finding.severity == "warning" and finding.evidence["value"] == -10.0
    assert not diagnose(Splat.from_arrays(columns)).filter(code="SL963")  # the source is fine


def test_opacity_saturated_at_splat_transforms_logit_clamp(tmp_path):
    # logits well inside the clamp (TRELLIS's own saturated ones run past it), then 50 at it
    inside = np.random.default_rng(1).normal(-1.0, 3.0, 8_000).astype(np.float32)
    assert np.abs(inside).max() < LOGIT_CLAMP
    columns = columns_of(trellis_like(8_000, seed=1, opacity=inside))
    columns["opacity"][:50] = np.float32(LOGIT_CLAMP)
    [finding] = diagnose(Splat.from_arrays(columns)).filter(code="SL963")
    assert finding.field == "opacity" and finding.severity == "info"
    assert "splat-transform" in finding.message and finding.affected == 50


def test_real_decodes():
    spz = decoded("hamburger.spz.ply")
    [scale] = diagnose(spz).filter(code="SL963", field="scale_2")
    assert scale.affected == int((spz.column("scale_2") == -10).sum()) > 0
    compressed = decoded("hamburger.compressed.ply.ply")
    report = diagnose(compressed)
    [top] = report.filter(code="SL963", field="opacity")
    assert top.evidence["value"] == np.inf
    assert top.affected == report.filter(code="SL102")[0].affected
    sog = decoded("sample_sh3.sog.ply")
    [low] = diagnose(sog).filter(code="SL963", field="opacity")
    assert low.evidence["value"] == pytest.approx(-LOGIT_CLAMP)
    for name in ("hamburger.splat.ply", "hamburger.ksplat.ply", "sample_sh3.spz.ply"):
        codes = diagnose(decoded(name)).codes
        assert "SL961" not in codes and "SL962" not in codes  # no padding, real or no SH
    # .splat's alpha ends at byte 254 and 1: a pile there alone does not prove a clamp
    assert not diagnose(decoded("hamburger.splat.ply")).filter(code="SL963")


def test_a_field_without_numbers_is_no_saturation(recwarn):
    columns = columns_of(trellis_like(8_000, seed=1))
    columns["scale_0"][:] = np.nan
    assert not diagnose(Splat.from_arrays(columns)).filter(code="SL963")
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
