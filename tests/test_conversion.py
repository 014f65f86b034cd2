"""What a conversion loses (conversion_loss), rows paired across formats, diff across order.

Checked against things this project did not write: splat-transform's and gaussforge's
decodes in ``../shared/fixtures/formats/decoded`` against their sources, and counts computed
here with plain numpy. Quantisation steps stated per format below.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from _splats import columns_of

from conftest import FIXTURES
from splatlab import Splat, load, save
from splatlab.analysis.conversion import conversion_loss
from splatlab.analysis.differences import DiffError, diff
from splatlab.analysis.matching import MatchError, match_rows
from splatlab.cli.main import EXIT_BAD_INPUT, EXIT_OK, main
from splatlab.core.fields import SH_C0, f_rest_names
from splatlab.data import trellis_like
from splatlab.world.clamps import ALPHA_254
from splatlab.world.submission import log_scale_clamps, position_wraps, spz_roundtrip

FORMATS = FIXTURES / "formats"
DECODED = FORMATS / "decoded"


def fixture(path):
    if not path.exists():
        pytest.skip(f"fixture {path} absent")
    return load(path)


# ------------------------------------------------------------------ independent numpy counts
def numpy_wraps(positions: np.ndarray) -> int:
    """Rows with a coordinate outside SPZ's 24-bit fixed point at 12 fractional bits."""
    fixed = positions.astype(np.float64) * 4096
    rounded = np.sign(fixed) * np.floor(np.abs(fixed) + 0.5)
    return int(((rounded < -(2**23)) | (rounded >= 2**23)).any(axis=1).sum())


def numpy_scale_clamps(log_scales: np.ndarray) -> tuple[int, int]:
    """Rows with a log scale more than half a step (1/32) below -10 / above 5.9375."""
    s = log_scales.astype(np.float64)
    return int((s < -10 - 1 / 32).any(axis=1).sum()), int((s > 5.9375 + 1 / 32).any(axis=1).sum())


def hostile_for_spz(n: int = 4_000) -> Splat:
    columns = columns_of(trellis_like(n, seed=5))
    rng = np.random.default_rng(5)
    far = rng.choice(n, 37, replace=False)
    columns["x"][far[:20]] = rng.uniform(2050, 3000, 20)
    columns["z"][far[20:]] = rng.uniform(-3000, -2049, 17)
    columns["scale_1"][rng.choice(n, 50, replace=False)] = rng.uniform(-14, -10.1, 50)
    columns["scale_2"][rng.choice(n, 9, replace=False)] = rng.uniform(6.1, 8, 9)
    columns["opacity"][rng.choice(n, 30, replace=False)] = 25.0
    return Splat.from_arrays(columns)


def test_spz_round_trip_counts_wraps_and_clamps_as_numpy_does():
    source = hostile_for_spz()
    loss = conversion_loss(source, spz_roundtrip(source))
    assert loss.match.method == "order" and loss.match.matched == source.count
    wraps = numpy_wraps(source.positions)
    assert wraps == 37 == int(position_wraps(source.positions).any(axis=1).sum())
    assert loss.wrapped == wraps
    low, high = numpy_scale_clamps(source.log_scales)
    assert (low, high) == (50, 9)
    assert int(log_scale_clamps(source.log_scales).any(axis=1).sum()) == low + high
    scale = next(c for c in loss.clamped if c.group == "scale")
    assert scale.bounds == {-10.0: low, 5.9375: high} and scale.count == low + high
    opacity = next(c for c in loss.clamped if c.group == "opacity")
    alpha = 1 / (1 + np.exp(-source.opacity.astype(np.float32)))
    assert opacity.bounds[np.inf] == int((np.floor(alpha * 255 + 0.5) >= 255).sum()) > 30
    assert loss.dropped == ("nx", "ny", "nz")
    assert f"{wraps:,} gaussians" in loss.summary() and "wrap around" in loss.summary()


def test_spz_round_trip_of_hamburger(hamburger_path):
    source = load(hamburger_path)
    loss = conversion_loss(source, spz_roundtrip(source))
    low, high = numpy_scale_clamps(source.log_scales)
    assert low > 0 and high == 0
    assert int(log_scale_clamps(source.log_scales).any(axis=1).sum()) == low
    assert {c.group: c.bounds for c in loss.clamped}["scale"] == {-10.0: low}
    assert loss.wrapped == numpy_wraps(source.positions) == 0
    frame = loss.to_frame()
    assert (frame.loc[["x", "y", "z"], "max_abs_error"] <= 2.0**-13 * 1.0001).all()
    assert frame.loc["f_dc_0", "max_abs_error"] <= 0.5 / 255 / 0.15 + 1e-6
    assert loss.match.within_step == source.count and loss.match.step == 2.0**-12


def _chunk_half_steps(converted: Splat) -> np.ndarray:
    """Compressed PLY: per 256-row chunk (stored order) position range / (2^bits - 1), bits
    11-10-11; half of it is the largest rounding error."""
    p = converted.positions.astype(np.float64)
    n = len(p)
    chunk = np.arange(n) // 256
    lo = np.full((chunk[-1] + 1, 3), np.inf)
    hi = np.full((chunk[-1] + 1, 3), -np.inf)
    np.minimum.at(lo, chunk, p)
    np.maximum.at(hi, chunk, p)
    return ((hi - lo) / np.array([2047, 1023, 2047]))[chunk] / 2


def _sog_steps(converted: Splat) -> np.ndarray:
    """SOG: 16 bits of sign(x) log(|x| + 1) over the scene's range; in x, (|x| + 1) times
    that step. Measured errors reach one step (1.0007 of it), not half: the reader
    dequantises in float32 after the log transform, so the bound is one step, plus 0.1 %."""
    p = converted.positions.astype(np.float64)
    t = np.sign(p) * np.log1p(np.abs(p))
    return (np.abs(p) + 1) * (t.max(axis=0) - t.min(axis=0)) / 65535


DECODES = [("hamburger.ply", "compressed.ply"), ("hamburger.ply", "sog"),
           ("hamburger.ply", "spz"), ("hamburger.ply", "v3.spz"), ("hamburger.ply", "splat"),
           ("hamburger.ply", "ksplat"), ("formats/sample_sh3.ply", "compressed.ply"),
           ("formats/sample_sh3.ply", "sog"), ("formats/sample_sh3.ply", "spz")]


@pytest.mark.parametrize(("source_name", "kind"), DECODES, ids=lambda v: v.split("/")[-1])
def test_reference_decodes_pair_and_stay_within_their_steps(source_name, kind):
    source = fixture(FIXTURES / source_name)
    stem = source_name.split("/")[-1].removesuffix(".ply")
    converted = fixture(DECODED / f"{stem}.{kind}.ply")
    loss = conversion_loss(source, converted)
    m = loss.match
    reordered = kind in ("compressed.ply", "sog")
    assert m.method == ("position" if reordered else "order")
    assert m.matched == source.count and m.unambiguous / source.count >= 0.998
    err = np.abs(source.positions[m.a_rows].astype(np.float64)
                 - converted.positions[m.b_rows].astype(np.float64))
    if kind == "compressed.ply":
        bound = _chunk_half_steps(converted)[m.b_rows]
    elif kind == "sog":
        bound = _sog_steps(converted)[m.b_rows]
    elif kind.endswith("spz"):
        bound = np.full_like(err, 2.0**-13)      # 12 fractional bits, rounded
    else:
        bound = np.zeros_like(err)               # .splat, .ksplat: float32 positions
    assert (err <= bound * (1 + 1e-3) + 1e-7).all()
    frame = loss.to_frame()
    # 8-bit alpha: within one byte step (gaussforge truncates, the others round)
    assert frame.loc["alpha", "max_abs_error"] <= 1 / 255 + 1e-6
    if kind in ("splat", "ksplat"):
        assert frame.loc["f_dc_0", "max_abs_error"] <= 1 / 255 / SH_C0 + 1e-6
    if kind.endswith("spz"):
        assert frame.loc["f_dc_0", "max_abs_error"] <= 0.5 / 255 / 0.15 + 1e-6
    assert len(frame) and json.loads(loss.to_json())["match"]["matched"] == source.count


def test_splat_decode_reports_sh_dropped_and_pinned_alpha(hamburger_path):
    source = load(hamburger_path)
    rng = np.random.default_rng(0)
    columns = {n: source.column(n) for n in source.properties}
    columns.update({n: rng.normal(0, 0.1, source.count).astype(np.float32)
                    for n in f_rest_names(9)})
    with_sh = Splat.from_arrays(columns)
    converted = fixture(DECODED / "hamburger.splat.ply")
    loss = conversion_loss(with_sh, converted)
    assert loss.sh_degrees == (1, 0) and loss.sh_bands_dropped == 1
    assert loss.dropped == f_rest_names(9)
    opacity = next(c for c in loss.clamped if c.group == "opacity")
    assert opacity.bounds[ALPHA_254] == int((source.opacity > ALPHA_254 + 0.7).sum()) > 0
    assert "SH degree 1 -> 0" in loss.summary() and "9 f_rest_*" in loss.summary()
    assert "<table" in loss._repr_html_() and "LossReport" in repr(loss)
    qa, qb = source.quats_normalized, converted.quats_normalized   # rotation angle, by hand
    angle = np.degrees(2 * np.arccos(np.abs((qa * qb).astype(np.float64).sum(1)).clip(0, 1)))
    assert loss.to_frame().loc["rotation_deg", "max_abs_error"] == pytest.approx(angle.max(),
                                                                                 rel=1e-3)


def test_convert_prints_the_loss_and_writes_it_as_json(tmp_path, hamburger_path, capsys):
    out, report = tmp_path / "h.spz", tmp_path / "loss.json"
    assert main(["convert", str(hamburger_path), str(out), "--loss-report", str(report)]) \
        == EXIT_OK
    printed = capsys.readouterr().out
    assert "Rows paired by order" in printed and "log scales pinned" in printed
    data = json.loads(report.read_text())
    source = load(hamburger_path)
    low, _ = numpy_scale_clamps(source.log_scales)
    assert data["match"]["method"] == "order" and data["match"]["matched"] == source.count
    assert data["converted_format"] == "SPZ v2 (zstd), quantised"
    [scale] = [c for c in data["clamped"] if c["group"] == "scale"]
    assert scale["gaussians"] == low and scale["bounds"][0]["value"] == -10.0
    fields = {row["field"]: row for row in data["fields"]}
    assert fields["x"]["max_abs_error"] <= 2.0**-13 * 1.0001 and fields["x"]["kind"] == "stored"
    assert data["wrapped"]["gaussians"] == 0 and data["summary"].startswith(str(hamburger_path))
    assert main(["convert", str(hamburger_path), str(tmp_path / "g.spz"), "--loss-report",
                 str(report)]) == EXIT_BAD_INPUT  # an existing report is not replaced
    assert not (tmp_path / "g.spz").exists()


def test_rows_pair_by_position_with_coincident_and_missing_rows():
    columns = columns_of(trellis_like(2_016, seed=2))
    for name in ("x", "y", "z"):      # rows 0 and 1 at one place, told apart by colour
        columns[name][1] = columns[name][0]
    columns["f_dc_0"][:2] = [-1.0, 1.0]
    a = Splat.from_arrays(columns)
    order = np.random.default_rng(2).permutation(a.count)
    b = a.take(order)
    m = match_rows(a, b)
    assert m.method == "position" and (order[m.b_rows] == m.a_rows).all()
    assert m.matched == a.count and m.coincident == 2 and m.unambiguous == a.count - 2
    fewer = a.take(order[:1_916])            # a converter dropped 100 rows
    m = match_rows(a, fewer)
    assert m.unmatched_a == 100 and m.unmatched_b == 0 and (order[m.b_rows] == m.a_rows).all()
    x = np.array(a.column("x"))
    x[5] = np.nan
    m = match_rows(a, a.replace(x=x).take(order))
    assert m.unmatched_a == m.unmatched_b == 1
    no_positions = Splat.from_arrays({"v": np.zeros(3, np.float32)})
    with pytest.raises(MatchError, match="rows"):
        match_rows(no_positions, no_positions.take([0, 1]))


def test_diff_across_order_and_across_formats(hamburger_path):
    s = trellis_like(3_008)
    shuffled = s.take(np.random.default_rng(1).permutation(s.count))
    table = diff(s, shuffled)
    assert (table["status"] == "same").all() and table.attrs["match"]["method"] == "position"
    assert diff(s, s.replace(opacity=s.opacity + 1)).attrs["match"]["method"] == "order"
    with pytest.raises(DiffError):
        diff(s, s.take(np.arange(10)))
    source = load(hamburger_path)
    compressed = fixture(DECODED / "hamburger.compressed.ply.ply")
    table = diff(source, compressed)
    assert table.attrs["match"]["matched_share"] == 1.0
    assert table.loc["x", "max_abs_change"] <= _chunk_half_steps(compressed).max() * 1.001


def test_a_saved_spz_round_trip_through_files(tmp_path):
    source = save(hostile_for_spz(), tmp_path / "a.ply")
    spz = save(load(source), tmp_path / "a.spz")
    loss = conversion_loss(load(source), load(spz))
    assert loss.converted_format.startswith("SPZ") and loss.wrapped == 37


def test_hostile_positions_keep_rows_paired_by_order():
    """Found by the fuzzer: positions all -inf on one side, or all at one point, or beyond
    float64's squares, must neither pair by position nor take long."""
    s = trellis_like(2_016)
    for y in (np.full(s.count, -np.inf), np.full(s.count, 0.5), np.full(s.count, 3e38)):
        other = s.replace(y=y)
        table = diff(s, other)
        assert table.attrs["match"]["method"] == "order"
        assert table.loc["y", "changed"] == s.count and table.loc["x", "changed"] == 0


def test_a_lossless_conversion_loses_nothing(tmp_path):
    source = trellis_like(2_016)
    loss = conversion_loss(source, load(save(source, tmp_path / "copy.ply")))
    frame = loss.to_frame()
    assert (frame["status"] == "same").all() and (frame["max_abs_error"] == 0).all()
    assert not loss.clamped and not loss.wrapped and not loss.dropped
    assert "Every common field is unchanged" in loss.summary()
