"""judge: gate and render coverage side by side for candidate repairs."""

from __future__ import annotations

import numpy as np

from splatlab import Splat
from splatlab.data import trellis_like
from splatlab.loadchain import LOGIT_1E4
from splatlab.rendering.cameras import orbit_cameras
from splatlab.repair.judging import JUDGE_COLUMNS, judge


def test_invisible_file_is_rejected_and_renders_nothing():
    healthy = trellis_like(8_000, seed=1, opacity=4.0)
    invisible = healthy.replace(opacity=np.full(healthy.count, LOGIT_1E4))
    cams = orbit_cameras(2, 2.5, -15.0, 49.1, 48, 48)
    table = judge({"healthy": healthy, "invisible": invisible}, cameras=cams, device="cpu")
    assert list(table.columns) == list(JUDGE_COLUMNS)
    assert table.loc["healthy", "gate"] == "pass" and table.loc["invisible", "gate"] == "reject"
    assert table.loc["invisible", "alpha_below_1e-3"] == 1.0
    assert table.loc["invisible", "covered_mean"] == 0.0
    assert table.loc["invisible", "empty_views"] == 2
    assert table.loc["healthy", "covered_min"] > 0.05


def test_without_renders_coverage_is_missing():
    table = judge({"a": trellis_like(8_000)}, renders=False)
    assert np.isnan(table.loc["a", "covered_mean"]) and table.loc["a", "count"] == 8_000


def test_a_candidate_the_path_refuses_is_not_rendered():
    healthy = trellis_like(8_000, seed=1, opacity=4.0)
    commented = Splat.from_arrays({n: healthy.column(n) for n in healthy.properties},
                                  comments=("repaired by hand",))
    cams = orbit_cameras(1, 2.5, -15.0, 49.1, 32, 32)
    table = judge({"commented": commented}, cameras=cams, device="cpu")
    assert table.loc["commented", "gate"] == "cannot be submitted"
    assert table.loc["commented", "gate_as_is"] == "pass"
    assert np.isnan(table.loc["commented", "covered_mean"])
    as_is = judge({"commented": commented}, cameras=cams, device="cpu", path="as-is")
    assert as_is.loc["commented", "covered_mean"] > 0
