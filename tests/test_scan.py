"""scan(): one row a file, spikes, gate verdicts, executors, bad files, the CLI."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

import splatlab
from splatlab import synth
from splatlab.analysis.scanning import COLUMNS, scan, scan_splat, spike_shares
from splatlab.cli.main import main
from splatlab.loadchain import LOGIT_1E4, LOGIT_1E4_HIGH, miner_double_logit

N = 32 * 300


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("scan")
    healthy = synth.trellis(N, seed=1)
    splatlab.save(healthy, root / "a_healthy.ply")
    splatlab.save(miner_double_logit(healthy), root / "b_chained.ply")
    splatlab.save(synth.corrupt(healthy, uniform={"opacity": LOGIT_1E4}), root / "c_uniform.ply")
    (root / "sub").mkdir()
    splatlab.save(synth.trellis(7_008, seed=2), root / "sub" / "d_big.ply")
    (root / "notes.txt").write_text("not a ply")
    return root


def test_one_row_a_file_in_path_order(folder):
    table = scan(folder, workers=1)
    assert list(table.columns) == list(COLUMNS)
    names = [p.split("/")[-1] for p in table["file"]]
    assert names == ["a_healthy.ply", "b_chained.ply", "c_uniform.ply", "notes.txt", "d_big.ply"]
    assert table["count"].tolist() == [N, N, N, pd.NA, 7_008]
    assert table["error"].notna().tolist() == [False, False, False, True, False]
    assert "not a PLY, SPZ, SOG, .splat or .ksplat file" in table["error"][3]


def test_values_match_the_files(folder):
    table = scan([folder / "b_chained.ply", folder / "c_uniform.ply"], workers=1
                 ).set_index("file")
    chained = splatlab.load(folder / "b_chained.ply")
    o = chained.opacity.astype(np.float64)
    row = table.loc[str(folder / "b_chained.ply")]
    assert row["opacity_mean"] == pytest.approx(o.mean())
    assert row["opacity_std"] == pytest.approx(o.std())
    assert row["spike_neg_9_21"] == pytest.approx(np.mean(o == np.float32(LOGIT_1E4)))
    assert row["spike_pos_9_21"] == pytest.approx(np.mean(o == np.float32(LOGIT_1E4_HIGH)))
    assert row["spike_neg_9_21"] > 0.3 and row["spike_pos_9_21"] > 0.2
    assert row["scale_std"] == pytest.approx(chained.log_scales.astype(np.float64).std())
    uniform = table.loc[str(folder / "c_uniform.ply")]
    assert uniform["opacity_std"] == 0 and uniform["uniform_rule"]
    assert uniform["alpha_below_1e-3"] == 1.0 and uniform["spike_neg_9_21"] == 1.0
    assert uniform["gate"] == "reject" and "opacity" in uniform["gate_failed"]


def test_gate_verdicts(folder):
    table = scan(folder, workers=1).set_index(pd.Index(["a", "b", "c", "notes", "d"]))
    assert table["gate"].tolist() == ["pass", "pass", "reject", None, "pass"]
    assert table.loc["b", "alpha_below_1e-3"] < 0.8
    assert scan_splat(synth.trellis(3_200))["gate_failed"] == "count"


def test_spike_shares_and_nonfinite():
    o = np.float32([LOGIT_1E4, LOGIT_1E4, 0.5, np.inf, -6.906755])
    shares = spike_shares(o)
    assert shares["spike_neg_9_21"] == 0.4 and shares["spike_neg_6_91"] == 0.2
    s = synth.corrupt(synth.trellis(7_008), nonfinite=[("opacity", np.nan, 0.01)])
    row = scan_splat(s)
    assert row["opacity_nonfinite"] == round(0.01 * 7_008) + int(np.isinf(s.opacity).sum())
    assert np.isfinite(row["opacity_mean"])


def test_executor_gives_the_same_table(folder):
    with ThreadPoolExecutor(2) as pool:
        parallel = scan([folder], executor=pool)
    pd.testing.assert_frame_equal(parallel, scan([folder], workers=1))


def test_bad_file_gives_an_error_row(folder, tmp_path):
    bad = tmp_path / "bad.ply"
    bad.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 5\n")
    table = scan([bad, folder / "a_healthy.ply", tmp_path / "missing.ply"], workers=1)
    assert [p.split("/")[-1] for p in table["file"]] == ["a_healthy.ply", "bad.ply",
                                                         "missing.ply"]
    assert table["error"].notna().tolist() == [False, True, True]
    assert "missing.ply" in table["error"][2]


def test_cli_csv_json_and_exit_codes(folder, capsys):
    # 3: c_uniform.ply is rejected by the gate, notes.txt cannot be read
    assert main(["scan", str(folder), "--csv", "--workers", "1"]) == 3
    csv = capsys.readouterr().out
    assert csv.splitlines()[0].startswith("file,size,sha256,format,layout,encoding,count")
    assert len(csv.splitlines()) == 6
    assert main(["scan", str(folder / "a_healthy.ply"), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["gate"] == "pass" and record["count"] == N
    assert main(["scan", str(folder / "c_uniform.ply"), "--json"]) == 3
    assert main(["scan", str(folder / "nope.ply")]) == 2
    assert "no such file" in capsys.readouterr().err
    (folder / "sub" / "broken.ply").write_bytes(b"ply\n")
    try:
        assert main(["scan", str(folder / "sub"), "--workers", "1"]) == 3
        captured = capsys.readouterr()
        assert "broken.ply" in captured.err and "d_big.ply" in captured.out
    finally:
        (folder / "sub" / "broken.ply").unlink()


def test_both_paths_and_spz_files(tmp_path):
    healthy = synth.trellis(N, seed=1)
    splatlab.save(healthy, tmp_path / "a.ply")
    splatlab.save(healthy, tmp_path / "b.spz")
    commented = splatlab.Splat.from_arrays({n: healthy.column(n) for n in healthy.properties},
                                           comments=("edited by hand",))
    splatlab.save(commented, tmp_path / "c.ply")
    table = scan(tmp_path, workers=1)
    table = table.set_index(table["file"].str.split("/").str[-1])
    assert table.loc["a.ply", "format"] == "ply"
    assert table.loc["a.ply", "layout"] == "binary_little_endian, 17 properties"
    assert table.loc["b.spz", "format"] == "spz"
    assert table.loc["b.spz", "layout"].startswith("SPZ v2 (zstd), quantised")
    assert (table.loc[["a.ply", "b.spz"], "gate"] == "pass").all()
    # SPZ byte 0 decodes to -inf: more invisible through the path than as-is
    assert table.loc["a.ply", "alpha_below_1e-3_spz"] >= table.loc["a.ply", "alpha_below_1e-3"]
    assert table.loc["c.ply", "gate"] == "cannot be submitted"
    assert table.loc["c.ply", "gate_as_is"] == "pass" and table.loc["c.ply", "gate_failed"] == (
        "submission")
    assert np.isnan(table.loc["c.ply", "alpha_below_1e-3_spz"])
