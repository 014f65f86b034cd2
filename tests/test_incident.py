"""The incident: manifest, both hypotheses against the write-up's rows, data set, evidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import splatlab
from splatlab import incident
from splatlab.cli.main import main
from splatlab.loadchain import LOGIT_1E4, spz_roundtrip, submission_problems

ROOT = Path(__file__).resolve().parents[1]
SCALE = 0.02
WRITEUP = {  # the write-up's table: count, avg, min, std, scale std (g19: text says 0.0008)
    "g01": (489_088, -9.210, -9.210, 0.00, 0.006),
    "g12": (554_304, -8.961, -9.210, 1.87, 0.746),
    "g18": (762_112, -9.163, -9.210, 0.76, 0.723),
    "g19": (400_320, -9.210, -9.210, 0.00, 0.0008),
}


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    out = tmp_path_factory.mktemp("incident")
    assert main(["incident", "run", "--out", str(out), "--scale", str(SCALE)]) == 0
    return out


@pytest.fixture(scope="module")
def reproduction(ran) -> pd.DataFrame:
    """incident.reproduce() (always full size), as the run wrote it."""
    return pd.read_csv(ran / "reproduction.csv", index_col=0).set_index(
        ["generation", "hypothesis"])


def test_manifest_agrees_with_the_writeup():
    m = incident.manifest()
    assert len(m) == 21 and m["success"].sum() == 9
    assert round(100 * m["success"].mean(), 1) == 42.9
    docs = incident.documented(m)
    got = {g: tuple(r[["count", "opacity_mean", "opacity_min", "opacity_std", "scale_std"]])
           for g, r in docs.iterrows()}
    assert got == WRITEUP
    assert not docs["success"].any()
    assert [t.strftime("%H:%M:%S") for t in docs["time"]] == [
        "21:01:04", "21:22:10", "21:34:42", "21:37:17"]
    wins = m[m["success"]]["opacity_std"]
    assert wins.min() == 4.4 and wins.max() == 8.8
    assert m[m["success"]]["opacity_mean"].between(-1, 8).all()
    failures = m[~m["success"]]
    assert len(failures) == 12 and (failures["opacity_std"] < 1.0).sum() == 3
    assert (m["count"] % 32 == 0).all()
    assert m["time"].is_monotonic_increasing
    assert m["time"].min() >= pd.Timestamp("2025-11-04 21:00")
    assert m["time"].max() <= pd.Timestamp("2025-11-04 21:41")


def test_data_manifest_csv_is_the_built_in_one():
    pd.testing.assert_frame_equal(incident.manifest(ROOT / "data" / "manifest.csv"),
                                  incident.manifest())


def test_h2_reproduces_every_documented_row(reproduction):
    h2 = reproduction.xs("H2", level="hypothesis")
    assert h2["match"].all() and h2["producible"].all()
    for gen, (count, mean, low, std, scale_std) in WRITEUP.items():
        row = h2.loc[gen]
        assert row["count"] == count
        assert round(row["opacity_mean"], 3) == mean and round(row["opacity_min"], 3) == low
        assert round(row["opacity_std"], 2) == std
        assert round(row["scale_std"], 3) == round(scale_std, 3)
    assert h2.loc["g19", "scale_std"] == pytest.approx(0.0008, abs=5e-6)


def test_h1_reproduces_only_the_uniform_rows(reproduction):
    h1 = reproduction.xs("H1", level="hypothesis")
    assert h1["match"].to_dict() == {"g01": True, "g12": False, "g18": False, "g19": True}
    assert h1["producible"].to_dict() == h1["match"].to_dict()
    assert (h1["opacity_std"] == 0).all()  # uniform in, uniform out
    assert not h1.loc["g12", "match_opacity_std"] and not h1.loc["g12", "match_opacity_mean"]
    assert "std 2.13" in h1.loc["g12", "note"] and "std 0.93" in h1.loc["g18", "note"]


def test_h1_cannot_reach_partial_rows_even_mixing_its_two_values():
    # A mix of all-0.0 and all-1.0 gives the largest std possible at that mean.
    assert incident.two_point_std(-8.961) == pytest.approx(2.128, abs=1e-3)
    assert incident.two_point_std(-9.163) == pytest.approx(0.932, abs=1e-3)
    floor, ceiling, band = incident.h2_shares(-8.961, 1.87)
    assert floor > 0.98 and 0 < ceiling < 0.01 and 0 < band < 0.02
    with pytest.raises(ValueError, match="H2 cannot"):
        incident.h2_opacity(32 * 100, 0.0, 9.5)  # beyond any distribution on [-9.21, 9.21]


def test_h2_raw_is_ordinary_trellis_output():
    raw, submitted = incident.generation(incident.manifest().loc["g12"], "H2")
    o = raw.opacity
    assert raw.encoding.opacity_looks == "logit" and np.isposinf(o).sum() > 0
    assert np.mean(o <= 1e-4) > 0.98  # activated opacity <= 0.5 for 98 %
    assert np.all(submitted.opacity[o <= np.float32(1e-4)] == np.float32(LOGIT_1E4))
    assert np.array_equal(raw.log_scales, submitted.log_scales)  # the chain keeps log scales


def test_scaled_counts():
    assert incident.scaled_count(762_112, 0.5) == 381_056
    assert incident.scaled_count(489_088, 0.001) == incident.MIN_SCALED_COUNT
    assert all(incident.scaled_count(c, 0.3) % 32 == 0 for c in incident.manifest()["count"])
    with pytest.raises(ValueError):
        incident.scaled_count(100, 0)


def test_run_writes_every_output(ran):
    for name in ("scan", "verdicts", "evidence", "reproduction", "h1_world", "diagnose",
                 "rates", "summary"):
        assert (ran / f"{name}.{'json' if name == 'summary' else 'csv'}").exists()
    assert len(list((ran / "data" / "raw").glob("*.ply"))) == 21
    assert len(list((ran / "data" / "submitted").glob("*.ply"))) == 21
    assert len(list((ran / "data" / "validator").glob("*.ply"))) == 21
    report = (ran / "report.html").read_text()
    assert report.count("<section") == len(incident.REPORTED)


def test_submitted_files_hit_their_targets_at_small_scale(ran):
    m = incident.manifest()
    v = pd.read_csv(ran / "verdicts.csv", index_col="generation")
    assert (v["count"] % 32 == 0).all() and (v["count"] >= 7_000).all()
    for name, decimals in incident.PRINTED_DECIMALS.items():
        assert np.allclose(v[name], m[name], atol=0.5 * 10 ** -decimals + 1e-9), name
    assert v.loc[["g01", "g12", "g18", "g19"], "gate"].eq("reject").all()
    assert v.loc[m[m["success"]].index, "gate"].eq("pass").all()
    assert v["uniform_rule"].sum() == 3
    # through SPZ every sigmoid below 1/510 is invisible: never fewer than as-is
    assert (v["alpha_below_1e-3_spz"] >= v["alpha_below_1e-3"]).all()


def test_build_is_deterministic(ran, tmp_path):
    table = incident.manifest().loc[["g12"]]
    built = incident.build(tmp_path, SCALE, table)
    for kind in ("raw", "submitted", "validator"):
        assert Path(built.loc["g12", kind]).read_bytes() == \
            (ran / "data" / kind / "g12.ply").read_bytes()


def test_validator_files_are_what_the_submission_path_decodes(ran):
    submitted = splatlab.load(ran / "data" / "submitted" / "g18.ply")
    decoded = splatlab.load(ran / "data" / "validator" / "g18.ply")
    assert submission_problems(ran / "data" / "submitted" / "g18.ply") == []
    expected = spz_roundtrip(submitted)
    assert decoded.properties == expected.properties  # no normals: include_normals=False
    for name in decoded.properties:
        assert np.array_equal(decoded.column(name), expected.column(name))


def test_evidence_tells_the_chain_apart(ran):
    e = pd.read_csv(ran / "evidence.csv", index_col=0)
    raw = e[e.index.str.startswith("raw/")]
    sub = e[e.index.str.startswith("submitted/")]
    assert (raw["floor"] + raw["ceiling"] < 1e-3).all() and (raw["values_look"] == "logit").all()
    healthy = sub.drop(["submitted/g01", "submitted/g19"])
    assert (healthy[["floor_ratio", "ceiling_ratio"]].max(axis=1) > incident.RATIO_THRESHOLD).all()
    assert healthy["reading"].str.contains("H2").all()
    assert sub.loc["submitted/g01", "reading"].startswith("all at logit(1e-4)")


def test_h1_world_generators_leave_small_spikes():
    contrast = incident.h1_world_contrast(32 * 2_000, spreads=(8, 16, 64))
    assert contrast["opacity_std"].between(4.4, 9.0).all()  # the write-up's healthy range
    assert (contrast["floor_ratio"] < incident.RATIO_THRESHOLD / 2).all()
    assert contrast["reading"].str.contains("H1").all()


def test_evidence_on_splats_and_raw_probabilities():
    raw = splatlab.Splat.from_arrays({"opacity": np.float32([0.0, 0.2, 1.0, 0.7])})
    row = incident.evidence([raw]).iloc[0]
    assert row["values_look"] == "probability" and row["outside_0_1"] == 0
    assert row["reading"].startswith("no clamp spikes")


def test_rates_use_wilson_intervals():
    r = incident.rates()
    assert r.loc["success", ["k", "n"]].tolist() == [9, 21]
    assert (round(r.loc["success", "low"], 3), round(r.loc["success", "high"], 3)) == (0.245, 0.635)
    assert (round(r.loc["corrupted (write-up)", "low"], 3),
            round(r.loc["corrupted (write-up)", "high"], 3)) == (0.077, 0.4)


def test_crosstab_counts(ran):
    v = pd.read_csv(ran / "verdicts.csv", index_col="generation")
    table = incident.crosstab(v)
    assert table["flagged"].sum() + table["not flagged"].sum() == 3 * 21
    assert table.loc[("write-up rule (std < 1.0)", "failure"), "flagged"] == 3


def test_cli_build_and_bad_scale(tmp_path, capsys):
    assert main(["incident", "run", "--scale", "0"]) == 2
    assert "--scale" in capsys.readouterr().err
    assert main(["incident", "build", str(tmp_path), "--scale", "1.5"]) == 2
