"""Defect classes the fuzzer of issue 15 (``tests/fuzzing.py``) found, each built here in a
temporary folder, and a property test of ``stats`` against a float64 reference."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from _splats import columns_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import splatlab
from splatlab import Splat, SplatFormatError, data
from splatlab.analysis.differences import DiffError
from splatlab.analysis.scanning import scan_file, scan_splat
from splatlab.analysis.statistics_reference import reference_row
from splatlab.cli.main import EXIT_BAD_INPUT, main
from splatlab.core.floats import finite_summary
from splatlab.data import trellis_like
from splatlab.loadchain import submission_problems
from splatlab.repair import RepairError
from splatlab.world.trellis import PROPERTIES


def _binary_file(path, newline: bytes, body: bytes, count: int, names=("x", "y")) -> None:
    lines = [b"ply", b"format binary_little_endian 1.0", b"element vertex %d" % count,
             *(b"property float " + n.encode() for n in names), b"end_header"]
    path.write_bytes(newline.join(lines) + newline + body)


def test_a_cr_header_keeps_a_body_that_starts_with_a_line_feed(tmp_path):
    # the first float's first byte is 0x0A: the loader must not eat it as part of a line end
    values = np.array([[np.frombuffer(b"\x0a\x00\x80\x3f", "<f4")[0], 2.0],
                       [3.0, 4.0]], "<f4")
    path = tmp_path / "cr.ply"
    _binary_file(path, b"\r", values.tobytes(), 2)
    splat = splatlab.load(path)
    np.testing.assert_array_equal(splat.column("x"), values[:, 0])
    np.testing.assert_array_equal(splat.column("y"), values[:, 1])
    # and a CR header is rewritten with its own line ends: take reloads
    taken = splatlab.load(splatlab.save(splat.take([1]), tmp_path / "taken.ply"))
    assert taken.count == 1 and taken.column("y").tolist() == [4.0]


def test_an_ascii_body_with_bytes_that_are_not_text_is_refused_in_one_line(tmp_path):
    path = tmp_path / "ascii.ply"
    path.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nend_header\n"
                     b"1.0\n\xff\xfe\n")
    with pytest.raises(SplatFormatError, match="row 1 of 'vertex': property 'x' holds bytes"):
        splatlab.load(path)


def test_a_file_name_with_a_newline_gives_one_line(tmp_path, capsys):
    path = tmp_path / "two\nlines.ply"
    path.write_bytes(b"not a ply")
    with pytest.raises(SplatFormatError) as caught:
        splatlab.load(path)
    assert "\n" not in str(caught.value) and "two\\nlines.ply" in str(caught.value)
    assert main(["info", str(path)]) == EXIT_BAD_INPUT
    assert len(capsys.readouterr().err.splitlines()) == 1


@pytest.mark.parametrize("name", ["alpha", "linear_scale_0", "scale_max", "anisotropy",
                                  "volume", "quat_norm"])
def test_stored_properties_named_like_derived_rows_are_kept_apart(name):
    columns = columns_of(trellis_like(8_000))
    columns[name] = columns.pop("nx")
    splat = Splat.from_arrays(columns)
    table = splatlab.stats(splat)
    assert table.index.is_unique and f"{name} (derived)" in table.index
    assert table.loc[name, "mean"] == pytest.approx(float(columns[name].mean()), rel=1e-6)
    splatlab.diagnose(splat)  # runs: no TypeError or ValueError from a doubled label
    assert [n for n in PROPERTIES if n != "nx"] == [n for n in splat.properties if n != name]


# ----------------------------------------------------------------- found by tests/fuzzing.py
def _warnings_are_errors():
    """A context in which any warning (numpy's RuntimeWarnings included) raises."""
    context = warnings.catch_warnings()
    context.__enter__()
    warnings.simplefilter("error")
    return context


def test_diff_of_different_row_counts_names_both_files(tmp_path):
    a = splatlab.save(data.trellis_like(64), tmp_path / "a.ply")
    b = splatlab.save(data.trellis_like(64).take(np.arange(7)), tmp_path / "b.ply")
    with pytest.raises(DiffError) as caught:
        splatlab.diff(a, b)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError) and "\n" not in message
    assert f"{a} (64 rows)" in message and f"{b} (7 rows)" in message


@pytest.mark.parametrize("large, binnable", [(1.5e308, False), (1e200, True), (1e-310, False),
                                             (5e-324 * 7, False)])
def test_float64_extremes_get_the_moments_and_quantiles_of_their_scaled_values(large, binnable):
    values = np.where(np.arange(4096) % 3 == 0, -large, large) * np.linspace(0.5, 1.0, 4096)
    exact, binned = (splatlab.stats(Splat.from_arrays({"v": values}), quantiles=q).loc["v"]
                     for q in ("exact", "histogram"))
    reference = reference_row(values)
    for row in (exact, binned):
        for key in ("mean", "std"):   # squares of 1e200 overflow, of 1e-310 vanish
            assert abs(row[key] - reference[key]) <= reference["tolerance"], (key, row[key])
        assert row["std"] > 0 and np.isfinite(row["std"])
    finite = np.sort(values)
    for key, q in (("p01", 0.01), ("p50", 0.5), ("p99", 0.99)):
        expected = np.quantile(finite / large, q) * large   # numpy's own, on scaled values
        assert exact[key] == pytest.approx(expected, rel=1e-12)
        if binnable:      # within a bin of the exact ones, as documented
            assert abs(binned[key] - expected) <= (2 * large) / 4096 * 1.000001
        else:             # a span beyond float64, or too small for 4,096 bins: sorted, exact
            assert binned[key] == pytest.approx(expected, rel=1e-12)


def test_quantiles_of_neighbours_at_both_ends_of_float64_do_not_overflow():
    values = np.array([-1.7e308, 1.7e308])
    row = splatlab.stats(Splat.from_arrays({"v": values})).loc["v"]
    assert row["p01"] == pytest.approx(-1.666e308) and row["p99"] == pytest.approx(1.666e308)
    assert row["p50"] == 0.0
    assert finite_summary(values)["std"] == 1.7e308       # diff's summaries: no overflow either


def test_a_property_name_the_buffer_protocol_refuses_is_saved(tmp_path):
    path = tmp_path / "colon.ply"
    path.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 2\nproperty float a:b"
                     b"\nproperty float y\nend_header\n" + np.arange(4, dtype="<f4").tobytes())
    splat = splatlab.load(path)
    assert splatlab.save(splat, tmp_path / "same.ply").read_bytes() == path.read_bytes()
    changed = splatlab.load(splatlab.save(splat.replace(y=[5, 6]), tmp_path / "changed.ply"))
    assert changed.properties == ["a:b", "y"] and changed.column("y").tolist() == [5.0, 6.0]


def test_auto_records_a_repair_it_cannot_make_and_goes_on():
    columns = columns_of(trellis_like(256))
    for name in ("x", "y", "z"):          # one point: no extent to scale the scale prior by
        columns[name] = np.full(256, 0.5, np.float32)
    for name in ("scale_0", "scale_1", "scale_2"):
        columns[name] = np.full(256, -7.0, np.float32)
    fixed, record = splatlab.repair.auto(Splat.from_arrays(columns))
    scales = next(r for r in record.steps if r.strategy == "scales")
    assert not scales.triggered and "no finite extent" in scales.reason
    assert f"scales: {scales.reason}" in record.reason and "scales not triggered" in repr(record)
    with pytest.raises(RepairError, match="no finite extent"):
        splatlab.repair.scales(Splat.from_arrays(columns))


def test_nonfinite_leaves_a_field_without_a_finite_value_and_repairs_the_others():
    columns = columns_of(trellis_like(256))
    columns["opacity"] = np.full(256, np.nan, np.float32)
    columns["x"][3] = np.inf
    fixed, record = splatlab.repair.nonfinite(Splat.from_arrays(columns))
    assert record.triggered and record.notes["no_finite_value"] == ["opacity"]
    assert np.isfinite(fixed.column("x")).all() and np.isnan(fixed.column("opacity")).all()
    columns["x"][3] = 0.0
    _, record = splatlab.repair.nonfinite(Splat.from_arrays(columns))
    assert not record.triggered and "opacity" in record.reason
    splatlab.repair.auto(Splat.from_arrays(columns))          # runs to the end


@pytest.mark.parametrize("token", [b"-9223372036854775809", b"99999999999999999999999"])
def test_an_ascii_integer_beyond_int64_is_refused_in_one_line(tmp_path, token):
    path = tmp_path / "int.ply"
    path.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 2\nproperty uchar red\n"
                     b"end_header\n1\n" + token + b"\n")
    with pytest.raises(SplatFormatError, match="row 1 of 'vertex': red = '.*' does not fit"):
        splatlab.load(path)


def test_spz_is_not_written_for_zero_gaussians(tmp_path):
    empty = Splat.from_arrays({n: np.zeros(0, np.float32) for n in PROPERTIES})
    with pytest.raises(SplatFormatError, match="cannot write SPZ: 0 gaussians"):
        splatlab.save(empty, tmp_path / "empty.spz")
    assert list(tmp_path.iterdir()) == []
    row = scan_splat(empty)     # and a scan of it says nothing to numpy's warnings
    assert np.isnan(row["alpha_below_1e-3"])


def test_signalling_nans_raise_no_numpy_warnings(tmp_path):
    columns = columns_of(trellis_like(8_000))
    signalling = np.array([0x7F800001, 0xFF800123], np.uint32).view(np.float32)
    for name in ("x", "opacity", "scale_0", "rot_0", "f_dc_0"):
        columns[name][[5, 9]] = signalling
    columns["nx"] = columns["nx"].astype(np.float64) * 1e300     # beyond float32 too
    path = splatlab.save(Splat.from_arrays(columns), tmp_path / "snan.ply")
    context = _warnings_are_errors()
    try:
        splat = splatlab.load(path)
        table = splatlab.stats(splat)
        splatlab.stats(splat, quantiles="histogram")
        splatlab.diagnose(splat)
        splatlab.gate(splat)
        splatlab.repair.auto(splat)
        splatlab.diff(splat, splat)
        splatlab.save(splat, tmp_path / "copy.spz")
        scan_splat(splat)
    finally:
        context.__exit__(None, None, None)
    assert table.loc["opacity", "nan"] == 2 and table.loc["x", "nan"] == 2


def test_scan_names_a_file_without_the_3dgs_properties(tmp_path):
    path = splatlab.save(Splat.from_arrays({k: np.zeros(8, np.float32) for k in "xyz"}),
                         tmp_path / "points.ply")
    row = scan_file(path)
    assert row["error"].startswith(f"{path}: not a 3DGS file: missing f_dc_0")


def test_files_of_many_properties_take_time_linear_in_them(tmp_path):
    # 16,000 properties, 3 rows (a 530 KB header): diagnose took 20 s, each property's
    # lookup scanning every name; now about 1 s on the machine that took 20
    names = [*PROPERTIES, *(f"p{j}" for j in range(16_000 - len(PROPERTIES)))]
    columns = {n: np.full(3, j, np.float32) for j, n in enumerate(names)}
    splat = splatlab.load(splatlab.save(Splat.from_arrays(columns), tmp_path / "wide.ply"))
    for verb in (splatlab.stats, splatlab.diagnose, splatlab.gate, splatlab.repair.auto,
                 lambda s: splatlab.diff(s, s), submission_problems):
        start = time.process_time()  # CPU time: the same on a machine loaded by others
        verb(splat)
        assert time.process_time() - start < 8.0, verb


# ----------------------------------------------------------------- stats against float64
_SPECIALS = {4: np.array([0x00000001, 0x80000001, 0x007FFFFF, 0x00800000, 0x7F7FFFFF,
                          0xFF7FFFFF, 0x7FC00000, 0x7F800001, 0x7F800000, 0xFF800000,
                          0x80000000], np.uint32).view(np.float32),
             8: np.array([0x1, 0x8000000000000001, 0x000FFFFFFFFFFFFF, 0x0010000000000000,
                          0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF, 0x7FF8000000000000,
                          0x7FF0000000000001, 0x7FF0000000000000, 0xFFF0000000000000,
                          0x8000000000000000], np.uint64).view(np.float64)}
"""Per itemsize: the smallest subnormals, the largest subnormal, the smallest normal, +-max,
a quiet and a signalling NaN, +-inf, -0.0."""


@st.composite
def _columns(draw) -> np.ndarray:
    """A float32 or float64 column: any floats of its width with the specials mixed in, up to
    70,000 rows (past 65,536 the host engine splits the rows among threads)."""
    size = draw(st.sampled_from([4, 8]))
    dtype = np.dtype(f"f{size}")
    specials = [dtype.type(v) for v in _SPECIALS[size]]
    elements = st.one_of(st.sampled_from(specials), st.floats(width=8 * size),
                         st.floats(-1e3, 1e3, width=8 * size))
    count = draw(st.one_of(st.integers(1, 300), st.sampled_from([1025, 16_385, 70_000])))
    return draw(arrays(dtype, count, elements=elements,
                       fill=st.one_of(st.sampled_from(specials), st.floats(width=8 * size))))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(column=_columns(), engine=st.sampled_from([None, "histogram", "cpu"]))
def test_stats_agrees_with_a_float64_reference(column, engine):
    """count, nan/posinf/neginf, min and max exactly; mean and std within the library's
    ``statistics_reference.moment_tolerance``: 4 (n + 64) 2**-53 max|x|, twice what float64
    rounding of a sum of n terms allows each side (the derivation is in its docstring).
    Relative to the largest value, not to the result: +-3.4e38 values that nearly cancel have
    a float64 mean known to about 1e23 only, whichever order they are summed in. The reference
    is numpy's float64 mean and std of the values scaled by a power of two (exact), so that it
    neither overflows at 1.8e308 nor loses squares below 1e-154; stats scales such columns too."""
    device = "cpu" if engine == "cpu" else None
    quantiles = "histogram" if engine == "histogram" else "exact"
    context = _warnings_are_errors()
    try:
        row = splatlab.stats(Splat.from_arrays({"v": column}), device=device,
                             quantiles=quantiles).loc["v"]
    finally:
        context.__exit__(None, None, None)
    reference = reference_row(column)
    for key in ("count", "finite", "nan", "posinf", "neginf"):
        assert int(row[key]) == reference[key], key
    for key in ("min", "max"):
        assert row[key] == reference[key] or (np.isnan(row[key]) and np.isnan(reference[key]))
    for key in ("mean", "std"):
        if reference["finite"] == 0:
            assert np.isnan(row[key])
        else:
            assert abs(row[key] - reference[key]) <= reference["tolerance"], (
                key, row[key], reference[key], reference["tolerance"])
