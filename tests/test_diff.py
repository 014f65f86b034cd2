"""diff: per-field changes between two splats of the same rows."""

from __future__ import annotations

import numpy as np
import pytest

from splatlab import Splat, load, save
from splatlab.analysis.differences import diff
from splatlab.data import trellis_like


def test_identical_splats_have_no_change():
    s = trellis_like(512)
    table = diff(s, s)
    assert (table["status"] == "same").all() and table["changed"].sum() == 0
    assert list(table.index) == s.properties


def test_counts_and_magnitudes():
    s = trellis_like(512)
    o = np.array(s.opacity)
    o[:10] += 1.0
    o[10] -= 3.0
    table = diff(s, s.replace(opacity=o))
    row = table.loc["opacity"]
    assert row["changed"] == 11 and row["changed_share"] == pytest.approx(11 / 512)
    assert row["max_abs_change"] == pytest.approx(3.0, abs=1e-5)
    assert row["mean_abs_change"] == pytest.approx(13.0 / 512, abs=1e-5)
    assert row["b_mean"] - row["a_mean"] == pytest.approx(7.0 / 512, abs=1e-5)
    assert table.drop(index="opacity")["changed"].sum() == 0


def test_nan_equals_nan_and_inf_equals_inf():
    a = Splat.from_arrays({"v": np.float32([np.nan, np.inf, 1.0, np.nan])})
    b = a.replace(v=[np.nan, np.inf, 1.0, 2.0])
    row = diff(a, b).loc["v"]
    assert row["changed"] == 1 and row["nonfinite_changed"] == 1
    assert row["max_abs_change"] == 0.0  # over rows finite on both sides


def test_properties_in_one_side_only():
    a = Splat.from_arrays({"x": np.zeros(3, np.float32), "y": np.zeros(3, np.float32)})
    b = Splat.from_arrays({"x": np.zeros(3, np.float32), "z": np.ones(3, np.float32)})
    table = diff(a, b)
    assert table["status"].to_dict() == {"x": "same", "y": "only in a", "z": "only in b"}
    assert table.loc["z", "b_mean"] == 1.0 and np.isnan(table.loc["z", "changed"])


def test_row_count_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="rows must match"):
        diff(trellis_like(64), trellis_like(32))


def test_paths_and_a_saved_copy(tmp_path, hamburger_path):
    s = load(hamburger_path)
    out = save(s.replace(opacity=s.opacity + 1), tmp_path / "h.ply")
    table = diff(hamburger_path, out)
    assert table.index[table["changed"] > 0].tolist() == ["opacity"]
    assert table.loc["opacity", "max_abs_change"] == pytest.approx(1.0, abs=1e-5)
