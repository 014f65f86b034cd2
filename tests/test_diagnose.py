"""Each detector: a positive and a negative case on synthetic data, then the real file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _splats import columns_of

from splatlab import Splat, load, repair
from splatlab.analysis.diagnosis import CODES, Report, Thresholds, diagnose
from splatlab.data import trellis_like
from splatlab.loadchain import CLAMP_1E3, LOGIT_1E3, LOGIT_1E4, miner_double_logit
from splatlab.world.trellis import LOG_SCALE_FLOOR
from splatlab.world.trellis import PROPERTIES as TRELLIS_PROPERTIES

N = 10_240
RNG = np.random.default_rng(11)


@pytest.fixture(scope="module")
def healthy() -> Report:
    return diagnose(trellis_like(N))


def codes(splat: Splat, **kw) -> dict[str, list[str]]:
    """code -> fields it fired on."""
    out: dict[str, list[str]] = {}
    for f in diagnose(splat, **kw):
        out.setdefault(f.code, []).append(f.field)
    return out


def with_column(name: str, edit) -> Splat:
    healthy = trellis_like(N)
    return healthy.replace(**{name: edit(np.array(healthy.column(name)))})


def test_healthy_synthetic_file_has_only_info(healthy):
    assert healthy.codes == ["SL602"]  # TRELLIS quaternions are not unit length
    assert not healthy.has_errors and not healthy.warnings


def test_hamburger_is_clean_apart_from_info(hamburger_path):
    report = diagnose(load(hamburger_path))
    # 52,709 is not a multiple of 32; 73 log scales below -10 grow to -10 through SPZ
    assert [f.code for f in report] == ["SL702", "SL953"]
    assert {f.severity for f in report} == {"info"} and report[1].affected == 73


def test_not_a_3dgs_file_gives_one_finding():
    report = diagnose(Splat.from_arrays({"x": np.zeros(10, np.float32)}))
    assert [(f.code, f.severity) for f in report] == [("SL001", "error"), ("SL950", "error")]
    assert "opacity" in report[0].message and "missing properties" in report[1].message


def put(values: np.ndarray, rows: slice, value: float) -> np.ndarray:
    values[rows] = value
    return values


def test_nonfinite_per_field_and_sign(healthy):
    s = trellis_like(N)
    scale0, opacity, x = (np.array(s.column(n)) for n in ("scale_0", "opacity", "x"))
    s = s.replace(scale_0=put(scale0, slice(0, 3), np.nan), opacity=put(opacity, slice(0, 5),
                  np.inf), x=put(x, slice(0, 2), -np.inf))
    found = {(f.code, f.field): f for f in diagnose(s)}
    assert found["SL101", "scale_0"].affected == 3 and found["SL101", "scale_0"].severity == "error"
    assert found["SL102", "opacity"].severity == "warning"  # a saturated logit
    assert found["SL103", "x"].affected == 2
    assert not {"SL101", "SL102", "SL103"} & set(healthy.codes)


def test_write_up_uniform_opacity_rule():
    found = codes(with_column("opacity", lambda o: RNG.normal(0.0, 0.5, N)))
    assert "SL201" in found and "SL202" not in found
    assert "SL201" not in codes(with_column("opacity", lambda o: RNG.normal(0.0, 1.5, N)))


@pytest.mark.parametrize("std", [0.001, 0.006])  # the write-up's corrupt scale std
def test_negligible_spread_catches_the_write_ups_scale_collapse(std):
    found = codes(with_column("scale_0", lambda s: RNG.normal(LOG_SCALE_FLOOR, std, N)))
    assert found["SL202"] == ["scale_0"]


def test_negligible_spread_negative(healthy):
    assert "SL202" not in healthy.codes
    # The write-up's healthy scale std 0.7 and a partial file's 0.723 are not flagged.
    assert "SL202" not in codes(with_column("scale_0", lambda s: RNG.normal(-5, 0.7, N)))


def test_spike_in_a_field():
    found = codes(with_column("f_dc_0", lambda v: put(v, slice(0, N // 10), 0.25)))
    assert found["SL301"] == ["f_dc_0"]
    assert "SL301" not in codes(with_column("f_dc_0", lambda v: put(v, slice(0, N // 50), 0.25)))


def test_double_logit_signatures():
    healthy = trellis_like(N)
    assert "SL302" in codes(miner_double_logit(healthy))
    old = codes(miner_double_logit(healthy, clamp=CLAMP_1E3))
    assert "SL303" in old and "SL302" not in old
    assert "SL301" not in old  # the spike is reported as the signature, not twice
    assert not {"SL302", "SL303"} & set(codes(healthy))


def test_signature_is_exact_not_approximate():
    near_miss = with_column("opacity", lambda o: put(o, slice(0, N // 5), -9.2103))
    found = codes(near_miss)
    assert "SL302" not in found and "SL301" in found


def test_invisible_shares():
    assert "SL402" in codes(trellis_like(N, opacity=LOGIT_1E4))
    mostly_faint = codes(with_column("opacity", lambda o: RNG.normal(-6.0, 1.0, N)))
    assert "SL401" in mostly_faint and "SL402" not in mostly_faint
    assert not {"SL401", "SL402"} & set(codes(trellis_like(N)))


def test_older_clamp_value_counts_as_invisible():
    """float32 sigmoid(logit(1e-3)) is 0.00099999981 < 1e-3: the gate's rule catches it."""
    assert "SL402" in codes(trellis_like(N, opacity=LOGIT_1E3))


def test_collapsed_scales_at_the_trellis_floor():
    found = diagnose(with_column("scale_1", lambda v: put(v, slice(0, N // 3), LOG_SCALE_FLOOR)))
    (f,) = found.filter(code="SL501")
    assert f.field == "scale_1" and f.evidence["at_trellis_floor"] == 1.0
    # Far below the TRELLIS floor but spread out: legitimate for other generators.
    assert "SL501" not in codes(with_column("scale_1", lambda v: RNG.normal(-12, 1.0, N)))


def test_huge_scales():
    found = codes(with_column("scale_2", lambda v: put(v, slice(0, N // 100), np.log(2.0))))
    assert found["SL502"] == ["scale"]
    assert "SL502" not in codes(trellis_like(N))


def test_quaternions():
    q = trellis_like(N).quats.copy()
    q[:10] = 0
    assert "SL601" in codes(trellis_like(N).replace(quats=q))
    identity = trellis_like(N).replace(quats=np.broadcast_to(np.float32([2, 0, 0, 0]), (N, 4)))
    assert "SL603" in codes(identity)
    unit = trellis_like(N).quats_normalized
    found = codes(trellis_like(N).replace(quats=unit))
    assert not {"SL601", "SL602", "SL603"} & set(found)


def test_counts():
    assert "SL701" in codes(trellis_like(6016))
    assert "SL702" in codes(trellis_like(7008).take(np.arange(7001)))  # a file cut short
    assert not {"SL701", "SL702"} & set(codes(trellis_like(7008)))
    assert "SL701" not in codes(trellis_like(6016), min_count=5000)


def test_duplicate_rows():
    columns = columns_of(trellis_like(N))
    for values in columns.values():
        values[-5:] = values[:5]
    found = diagnose(Splat.from_arrays(columns)).filter(code="SL801")
    assert found[0].affected == 5
    assert "SL801" not in codes(trellis_like(N))


def test_extreme_extent_and_outliers():
    big = trellis_like(N)
    assert "SL802" in codes(big.replace(positions=big.positions * 1e5))
    found = codes(with_column("x", lambda v: put(v, slice(0, 3), 100.0)))
    assert found["SL803"] == ["x"] and "SL802" not in found
    assert not {"SL802", "SL803"} & set(codes(big))


def test_encoding_mismatches():
    s = trellis_like(N)
    assert "SL901" in codes(s.replace(opacity=RNG.uniform(0, 1, N)))
    assert "SL902" in codes(s.replace(log_scales=np.exp(s.log_scales)))
    columns = columns_of(s)
    columns.update({f"f_rest_{i}": np.zeros(N, np.float32) for i in range(5)})
    assert "SL903" in codes(Splat.from_arrays(columns))
    assert not {"SL901", "SL902", "SL903"} & set(codes(s))


def test_report_api():
    report = diagnose(trellis_like(N, opacity=LOGIT_1E4))
    assert report.has_errors and all(f.severity == "error" for f in report.errors)
    assert [f.severity for f in report] == sorted((f.severity for f in report),
                                                  key=["error", "warning", "info"].index)
    assert report.filter(code="SL30").codes == ["SL302"]
    assert report.filter(severity="info").codes == ["SL602"]
    frame = report.to_frame()
    assert list(frame["code"]) == [f.code for f in report]
    data = json.loads(report.to_json())
    assert data["has_errors"] and data["findings"][0]["code"] == report[0].code
    assert "SL302" in report._repr_html_() and "SL302" in repr(report)
    assert set(CODES) >= set(report.codes)


def test_thresholds_are_documented_parameters():
    assert Thresholds().opacity_std == 1.0 and Thresholds().min_count == 7000
    with pytest.raises(TypeError):
        diagnose(trellis_like(64), no_such_threshold=1)


# ----------------------------------------------------------------- the submission path (SL95x)
def test_a_commented_header_cannot_be_submitted():
    plain = Splat.from_arrays(columns_of(trellis_like(7_040)))
    commented = Splat.from_arrays(columns_of(plain), comments=("made by hand",))
    report = diagnose(commented)
    assert report.filter(code="SL950").errors[0].message.count("line 3 must start") == 1
    assert diagnose(plain).filter(code="SL95").codes == []


def test_noise_fix_is_more_invisible_through_spz():
    rng = np.random.default_rng(0)
    noisy = trellis_like(70_400, opacity=LOGIT_1E4 + rng.normal(0, 2, 70_400)
                              .astype(np.float32))
    (finding,) = diagnose(noisy).filter(code="SL951")
    assert finding.severity == "warning"  # rejected either way
    assert finding.evidence["share_submission"] == pytest.approx(0.932, abs=0.005)
    assert finding.evidence["share_as_is"] == pytest.approx(0.876, abs=0.005)


def test_spz_turns_a_passing_file_into_a_rejected_one():
    # sigmoid between 1e-3 and 1/510: visible to the gate as-is, byte 0 (-inf) through SPZ
    opacity = np.full(N, np.float32(-6.5))
    opacity[: N // 10] = 5.0
    (finding,) = diagnose(trellis_like(N, opacity=opacity)).filter(code="SL951")
    assert finding.severity == "error" and finding.evidence["gate_turned"] == 1.0


def test_wrapping_positions_clamped_scales_identity_rotations_and_nan():
    columns = columns_of(trellis_like(N))
    columns["x"][:7] = 2500.0
    columns["scale_0"][:3] = 7.0
    columns["opacity"][:5] = np.nan
    for name, value in (("rot_0", 1.0), ("rot_1", 0.0), ("rot_2", 0.0), ("rot_3", 0.0)):
        columns[name][:] = value
    report = diagnose(Splat.from_arrays(columns))
    found = {f.code: f for f in report.filter(code="SL95")}
    assert set(found) == {"SL952", "SL953", "SL954", "SL955"}
    assert found["SL952"].affected == 7 and found["SL952"].severity == "error"
    assert found["SL953"].affected == 3 and found["SL953"].severity == "warning"
    assert found["SL954"].severity == "info"
    assert "opacity (5) -> -inf" in found["SL955"].message


def test_duplicate_rows_are_exact_in_the_stored_precision():
    # float64 values that differ only beyond float32 precision are not duplicates
    n = 4_000
    base = {name: 1.0 + np.arange(n) * 1e-12 + k for k, name in enumerate(("x", "y", "z"))}
    doubled = {name: np.concatenate([v, v]) for name, v in base.items()}
    columns = {**{k: v.astype(np.float64) for k, v in doubled.items()},
               **{k: v for k, v in columns_of(trellis_like(2 * n)).items() if k not in doubled}}
    # the other columns repeat too, so that rows i and i + n are exact copies
    for name in columns:
        if name not in doubled:
            columns[name] = np.concatenate([columns[name][:n], columns[name][:n]])
    (finding,) = diagnose(Splat.from_arrays(columns)).filter(code="SL801")
    assert finding.affected == n


@pytest.mark.parametrize("count_line", [b"element vertex 0", b"element vertex -0"])
def test_a_file_without_rows_is_diagnosed_not_crashed(tmp_path, count_line):
    path = tmp_path / "empty.ply"
    header = b"\n".join([b"ply", b"format binary_little_endian 1.0", count_line,
                         *(b"property float " + n.encode() for n in TRELLIS_PROPERTIES),
                         b"end_header", b""])
    path.write_bytes(header)
    report = diagnose(load(path))
    assert report.codes == ["SL701", "SL950"] and report.count == 0
    assert "outside 1.." in report.filter(code="SL950")[0].message
    fixed, record = repair.auto(load(path))
    assert record.steps == () and fixed.count == 0 and record.mask.shape == (0,)
