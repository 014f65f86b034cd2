"""The sn17 input gate, check by check, as written and as intended."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _splats import columns_of

from splatlab import Splat, load
from splatlab.analysis.gates import CANNOT_FIRE, CANNOT_SUBMIT, RULES, gate
from splatlab.data import trellis_like
from splatlab.loadchain import LOGIT_1E3, LOGIT_1E4

N = 10_240


def verdicts(result) -> dict[str, str]:
    return {c.name: c.verdict for c in result.checks}


def test_hamburger_passes_as_written_and_as_intended(hamburger_path):
    s = load(hamburger_path)
    written = gate(s)
    assert written.passed
    assert verdicts(written) == {"count": "pass", "centroid": CANNOT_FIRE, "opacity": "pass",
                                 "rotation": "pass", "scales": CANNOT_FIRE}
    assert gate(s, intended=True).passed


def test_count():
    assert gate(trellis_like(7008).take(np.arange(6999))).failed == ["count"]
    assert gate(trellis_like(7008).take(np.arange(7000))).passed


def test_opacity_share_is_strictly_above_80_percent():
    opacity = np.full(N, 5.0, np.float32)
    opacity[: int(0.8 * N)] = LOGIT_1E4
    at_80 = gate(trellis_like(N, opacity=opacity))
    assert at_80.passed and at_80.checks[2].measured == pytest.approx(80.0)
    opacity[int(0.8 * N)] = LOGIT_1E4
    assert gate(trellis_like(N, opacity=opacity)).failed == ["opacity"]


def test_uniform_write_up_field_is_rejected():
    result = gate(trellis_like(N, opacity=LOGIT_1E4))
    assert result.failed == ["opacity"] and result.checks[2].measured == 100.0
    # The older clamp's value sits 1 ulp below 1e-3 after float32 sigmoid: rejected too.
    assert gate(trellis_like(N, opacity=LOGIT_1E3)).failed == ["opacity"]


def test_rotation_identity_after_normalisation():
    healthy = trellis_like(N)
    identity = healthy.replace(quats=np.broadcast_to(np.float32([3, 0, 0, 0]), (N, 4)))
    assert gate(identity, path="as-is").failed == ["rotation"]
    almost = np.tile(np.float32([1, 0, 0, 0]), (N, 1))
    almost[0, 1] = 0.01
    assert gate(healthy.replace(quats=almost), path="as-is").passed
    # Through SPZ an identity comes back as (0.99998, 0.0039, 0.0039, 0.0039): the check
    # cannot fire on what the validator receives.
    through = gate(identity)
    assert through.passed and through.as_is.failed == ["rotation"] and through.differs


def test_centroid_as_written_compares_rows_and_as_intended_columns():
    ones_column = trellis_like(N).replace(x=np.ones(N))
    assert verdicts(gate(ones_column))["centroid"] == CANNOT_FIRE
    assert gate(ones_column, intended=True).failed == ["centroid"]
    # As written, it fires only when one of the first three points is (1, 1, 1).
    p = trellis_like(N).positions.copy()
    p[1] = 1.0
    assert gate(trellis_like(N).replace(positions=p)).failed == ["centroid"]


def test_scale_test_as_written_cannot_fire_and_as_intended_does():
    tiny = trellis_like(N).replace(log_scales=np.full((N, 3), -12.0))
    written = gate(tiny)
    assert written.passed and verdicts(written)["scales"] == CANNOT_FIRE
    assert gate(tiny, intended=True).failed == ["scales"]
    # The written epsilon 0.05 per gaussian would reject ordinary files; 1e-4 does not.
    assert gate(trellis_like(N), intended=True).passed


def test_non_3dgs_file_fails_to_load():
    points = Splat.from_arrays({"x": np.zeros(8000, np.float32)})
    result = gate(points, path="as-is")
    assert result.failed == ["load"] and "opacity" in result.checks[0].note
    through = gate(points)
    assert through.verdict == CANNOT_SUBMIT and "missing properties" in through.refused[0]
    assert through.as_is.failed == ["load"]


def test_result_api_and_registry():
    result = gate(trellis_like(N, opacity=LOGIT_1E4))
    frame = result.to_frame()
    assert list(frame.index) == ["count", "centroid", "opacity", "rotation", "scales"]
    assert set(frame.columns) >= {"measured", "threshold", "verdict", "measured_as_is",
                                  "verdict_as_is"}
    assert list(gate(trellis_like(N), path="as-is").to_frame().columns) == [
        "description", "measured", "threshold", "rejects", "verdict", "note"]
    assert json.loads(result.to_json())["passed"] is False
    assert "REJECT" in result._repr_html_() and "REJECT" in repr(result)
    assert "sn17" in RULES
    with pytest.raises(ValueError, match="unknown gate"):
        gate(trellis_like(64), rules="sn99")


def test_submission_path_judges_what_the_validator_decodes():
    # logit(1e-4) with the write-up's noise: sigmoid below 1/510 becomes alpha byte 0,
    # so more is invisible through SPZ than in the file (FACTS.md section 5).
    rng = np.random.default_rng(0)
    noisy = trellis_like(N, opacity=LOGIT_1E4 + rng.normal(0, 2, N).astype(np.float32))
    through, as_is = gate(noisy), gate(noisy, path="as-is")
    assert through.checks[2].measured > as_is.checks[2].measured + 4
    assert through.as_is == as_is and through.differs
    payload = json.loads(through.to_json())
    assert payload["path"] == "submission" and payload["as_is"]["path"] == "as-is"
    assert "as-is" in repr(through) and "verdict as-is" in through._repr_html_()


def test_a_file_the_path_refuses_cannot_be_submitted():
    commented = Splat.from_arrays(columns_of(trellis_like(N)), comments=("note",))
    result = gate(commented)
    assert result.verdict == CANNOT_SUBMIT and not result.passed
    assert result.failed == ["submission"] and "line 3" in result.refused[0]
    assert result.as_is.passed  # the file itself would pass
    assert "CANNOT BE SUBMITTED" in repr(result)
    with pytest.raises(ValueError, match="unknown gate path"):
        gate(commented, path="elsewhere")
