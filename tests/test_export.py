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
    fixed, records = auto(load(source))
    meta = export(source, fixed, records, tmp_path / "out.ply")
    assert json.loads(sidecar_path(tmp_path / "out.ply").read_text()) == meta
    check = verify(source, tmp_path / "out.ply", records)
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
