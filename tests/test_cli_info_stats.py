"""splatlab info / stats: output formats, exit codes, one-line errors, batches go on."""

from __future__ import annotations

import io
import json
import sys

import numpy as np
import pandas as pd

from splatlab import Splat, save
from splatlab.cli.main import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, main
from splatlab.data import trellis_like


def test_info_text_and_json(tmp_path, capsys):
    path = save(trellis_like(256), tmp_path / "a.ply")
    assert main(["info", str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "binary_little_endian, 256 gaussians, 17 properties (68 bytes each)" in out
    assert "opacity declared logit, looks logit" in out
    assert main(["info", "--json", str(path)]) == EXIT_OK
    facts = json.loads(capsys.readouterr().out)
    assert facts["gaussians"] == 256 and facts["sh_degree"] == 0 and facts["is_gaussian"]


def test_info_on_a_point_cloud_and_a_bad_file(tmp_path, capsys):
    cloud = save(Splat.from_arrays({"x": np.zeros(3, np.float32)}), tmp_path / "cloud.ply")
    bad = tmp_path / "bad.ply"
    bad.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 5\nproperty float x\nend_header\n1\n")
    assert main(["info", str(bad), str(cloud)]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert "not a 3DGS file" in captured.out  # the batch went on past the bad file
    assert captured.err.strip() == (f"splatlab: {bad}: truncated body: header declares 5"
                                    " vertex rows, 1 present")


def test_stats_csv_json_and_text(tmp_path, capsys):
    a = save(trellis_like(512, seed=1), tmp_path / "a.ply")
    b = save(trellis_like(512, seed=2), tmp_path / "b.ply")
    assert main(["stats", "--csv", str(a), str(b)]) == EXIT_OK
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert set(table["file"]) == {str(a), str(b)} and len(table) == 2 * 25
    assert (table.loc[table["field"] == "opacity", "count"] == 512).all()
    assert main(["stats", "--json", str(a)]) == EXIT_OK
    record = json.loads(capsys.readouterr().out)
    fields = {row["field"]: row for row in record["fields"]}
    assert fields["alpha"]["finite"] == 512 and record["file"] == str(a)
    assert main(["stats", str(a)]) == EXIT_OK
    assert f"== {a}: 512 gaussians ==" in capsys.readouterr().out


def test_stats_quantiles_option(tmp_path, capsys):
    path = save(trellis_like(512, seed=1), tmp_path / "a.ply")
    for option, label in (("histogram", "histogram-4096"), ("none", "skipped"),
                          ("exact", "exact")):
        assert main(["stats", "--csv", "--quantiles", option, str(path)]) == EXIT_OK
        table = pd.read_csv(io.StringIO(capsys.readouterr().out))
        assert set(table["quantiles"]) == {label}
    assert table["p50"].notna().all()


def test_internal_error_is_one_line(tmp_path, capsys, monkeypatch):
    path = save(trellis_like(64), tmp_path / "a.ply")

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    # the module that defines stats
    monkeypatch.setattr(sys.modules["splatlab.analysis.statistics"], "stats", broken)
    assert main(["stats", str(path)]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.strip() == ("splatlab: internal error: RuntimeError: boom"
                           " (set SPLATLAB_DEBUG=1 for a traceback)")
