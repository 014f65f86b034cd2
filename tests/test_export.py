"""export writes the PLY and its record together; verify proves what changed."""

from __future__ import annotations

import json

import numpy as np

from splatlab import load, save
from splatlab.data import trellis_like
from splatlab.loadchain import miner_double_logit
from splatlab.repair.export import export, sidecar_path, verify
from splatlab.repair.strategies import auto, uniform_noise


def test_export_and_verify_a_chain(tmp_path):
    raw = trellis_like(8_192, seed=3)
    opacity = np.where(np.arange(raw.count) % 20 == 0, 0.5, -2.0).astype(np.float32)
    source = save(miner_double_logit(raw.replace(opacity=opacity)), tmp_path / "in.ply")
    fixed, record = auto(load(source))
    meta = export(source, fixed, record, tmp_path / "out.ply")
    assert json.loads(sidecar_path(tmp_path / "out.ply").read_text()) == meta
    check = verify(source, tmp_path / "out.ply", record)
    assert check == {"changed": ["opacity"], "intended": ["opacity"], "ok": True,
                     "sha256_matches": True}


def test_verify_catches_an_unclaimed_change(tmp_path):
    splat = trellis_like(8_192, seed=4, opacity=-9.21)
    source = save(splat, tmp_path / "in.ply")
    fixed, record = uniform_noise(splat, seed=1)
    sneaky = fixed.replace(x=fixed.positions[:, 0] + 1)
    export(source, sneaky, record, tmp_path / "out.ply")
    check = verify(source, tmp_path / "out.ply", record)
    assert check["changed"] == ["x", "opacity"] and not check["ok"]


def test_the_sidecar_of_auto_carries_every_step(tmp_path):
    splat = trellis_like(8_192, seed=5).replace(log_scales=np.full((8_192, 3), -7.0131))
    x = splat.positions[:, 0].copy()
    x[:7] = np.nan
    source = save(splat.replace(x=x), tmp_path / "in.ply")
    fixed, record = auto(load(source), seed=2)
    export(source, fixed, record, tmp_path / "out.ply")
    meta = json.loads(sidecar_path(tmp_path / "out.ply").read_text())
    assert [step["strategy"] for step in meta["steps"]] == ["nonfinite", "scales"]
    assert meta["steps"] == [json.loads(step.to_json()) for step in record.steps]
    assert meta["strategy"] == "auto" and meta["seed"] == 2 and meta["triggered"] is True
    assert meta["touched"]["count"] == record.touched == 8_192
    assert meta["gate_before"] == meta["steps"][0]["gate_before"]
    assert meta["gate_after"] == meta["steps"][-1]["gate_after"]
    assert {"x", "scale_0", "alpha"} <= meta["stats_before"].keys() == meta["stats_after"].keys()
    check = verify(source, tmp_path / "out.ply", record)
    assert check["ok"] and set(check["changed"]) == {"x", "scale_0", "scale_1", "scale_2"}
