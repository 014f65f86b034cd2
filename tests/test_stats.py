"""splatlab.stats against a float64 numpy reference computed on the same values."""

from __future__ import annotations

import importlib
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import splatlab
from splatlab import Splat
from splatlab.analysis.statistics import COLUMNS, QUANTILE_LEVELS, stats
from splatlab.world.trellis import PROPERTIES as TRELLIS_PROPERTIES

STATS = importlib.import_module("splatlab.analysis.statistics")
LOGIT_1E4 = np.float32(-9.2103404)            # logit(1e-4) as float32: the forensic spike
DERIVED = ["alpha", "linear_scale_0", "linear_scale_1", "linear_scale_2", "scale_max",
           "anisotropy", "volume", "quat_norm"]


def reference(values: np.ndarray) -> dict[str, float]:
    """The statistics of one field computed the plain way, in float64."""
    values = np.asarray(values)
    finite = values[np.isfinite(values)]
    row = {"count": len(values), "finite": len(finite), "nan": int(np.isnan(values).sum()),
           "posinf": int((values == np.inf).sum()), "neginf": int((values == -np.inf).sum())}
    if len(finite) == 0:
        return {**row, "distinct": 0}
    f64 = finite.astype(np.float64)
    uniques, counts = np.unique(finite, return_counts=True)
    best = counts.argmax()
    quantiles = np.quantile(f64, QUANTILE_LEVELS)
    return {**row, "_scale": np.abs(f64).mean(),
            "mean": f64.mean(), "std": f64.std(), "min": f64.min(), "max": f64.max(),
            "p01": quantiles[0], "p50": quantiles[1], "p99": quantiles[2],
            "mode": float(uniques[best]), "mode_share": counts[best] / len(values),
            "distinct": len(uniques)}


def assert_row(row: pd.Series, expected: dict[str, float], field: str) -> None:
    """Mean to 1e-9 and std to 1e-7 relative (absolute, on the values' scale, where the
    reference is 0: then neither float64 result is exact); the rest exactly."""
    scale = expected.get("_scale", 0.0)
    for key, want in expected.items():
        if key.startswith("_"):
            continue
        got = row[key]
        if key in ("mean",):
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15 * scale,
                                       err_msg=f"{field}.{key}")
        elif key == "std":
            np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-15 * scale,
                                       err_msg=f"{field}.{key}")
        elif key.startswith("p"):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, err_msg=f"{field}.{key}")
        else:
            assert got == want, f"{field}.{key}: {got!r} != {want!r}"


def derived_values(splat: Splat) -> dict[str, np.ndarray]:
    """The derived rows the documented way, through the Splat accessors."""
    s = splat.scales
    w, x, y, z = splat.quats.T
    return {"alpha": splat.alpha, **{f"linear_scale_{i}": s[:, i] for i in range(3)},
            "scale_max": s.max(axis=1), "anisotropy": s.max(axis=1) / s.min(axis=1),
            "volume": s[:, 0] * s[:, 1] * s[:, 2],
            "quat_norm": np.sqrt(w * w + x * x + y * y + z * z)}


def gaussian_columns(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """TRELLIS-layout float32 columns with the cases that break naive statistics."""
    rng = np.random.default_rng(seed)
    cols = {name: rng.normal(0.0, 1.0, n).astype(np.float32) for name in TRELLIS_PROPERTIES}
    cols["x"] = (1e4 + rng.normal(0.0, 1e-2, n)).astype(np.float32)        # large offset
    cols["nx"] = np.zeros(n, np.float32)                                     # constant
    cols["ny"] = rng.integers(0, 40, n).astype(np.float32)                  # heavy ties
    cols["nz"] = np.repeat(rng.normal(size=n // 40 + 1), 40)[:n].astype(np.float32)  # runs < 64
    opacity = rng.normal(-1.0, 3.0, n).astype(np.float32)
    opacity[: int(0.4 * n)] = LOGIT_1E4                                      # 40 % spike
    cols["opacity"] = rng.permutation(opacity)
    f_dc = cols["f_dc_0"]
    f_dc[rng.random(n) < 0.01] = np.nan
    f_dc[rng.random(n) < 0.01] = np.inf
    f_dc[rng.random(n) < 0.01] = -np.inf
    for i in range(3):
        cols[f"scale_{i}"] = rng.normal(-5.0, 1.0, n).astype(np.float32)
    cols["scale_2"][:5] = 200.0                                             # exp overflows
    return cols


@pytest.fixture(scope="module")
def gaussians() -> Splat:
    return Splat.from_arrays(gaussian_columns(50_000))


@contextmanager
def pieces(how: str) -> Iterator[None]:
    """Run stats in one piece, or in row pieces taken by two threads even on small input
    (then the histogram pass keeps one set of bins a thread, too)."""
    with pytest.MonkeyPatch.context() as patch:
        if how == "two threads":
            patch.setattr(STATS, "_WORKERS", 2)
            patch.setattr(STATS, "_PIECE_MIN_ROWS", 2)
            patch.setattr(STATS, "_HISTOGRAM_SHARE", float("inf"))
        else:
            patch.setattr(STATS, "_PIECE_MIN_ROWS", 1 << 62)
        yield


@pytest.fixture(scope="module", params=["one piece", "two threads"])
def table(gaussians: Splat, request: pytest.FixtureRequest) -> pd.DataFrame:
    with pieces(request.param):
        return stats(gaussians)


def test_layout(table: pd.DataFrame):
    assert tuple(table.columns) == COLUMNS
    assert table.index.name == "field"
    assert list(table.index) == [*TRELLIS_PROPERTIES, *DERIVED]
    assert set(table["quantiles"]) == {"exact"}


def test_stored_fields_match_reference(gaussians: Splat, table: pd.DataFrame):
    for name in gaussians.properties:
        assert_row(table.loc[name], reference(gaussians.column(name)), name)


def test_derived_fields_match_accessors(gaussians: Splat, table: pd.DataFrame):
    with np.errstate(over="ignore"):
        values = derived_values(gaussians)
    for name, column in values.items():
        assert_row(table.loc[name], reference(column), name)
    assert table.loc["linear_scale_2", "posinf"] == 5


def test_planted_spike_is_the_exact_mode(table: pd.DataFrame):
    row = table.loc["opacity"]
    assert row["mode"] == float(LOGIT_1E4)
    assert row["mode_share"] == 0.4
    assert table.loc["alpha", "mode_share"] == 0.4


def test_large_offset_keeps_std(gaussians: Splat, table: pd.DataFrame):
    exact = gaussians.column("x").astype(np.float64).std()
    assert 5e-3 < exact < 2e-2
    np.testing.assert_allclose(table.loc["x", "std"], exact, rtol=1e-7)


def test_torch_path_matches_numpy(gaussians: Splat, table: pd.DataFrame):
    small = Splat.from_arrays({name: gaussians.column(name)[:20_000]
                               for name in gaussians.properties})
    numpy_table, torch_table = stats(small), stats(small, device="cpu")
    numbers = [c for c in COLUMNS if c != "quantiles"]
    pd.testing.assert_frame_equal(torch_table[numbers].astype(float),
                                  numpy_table[numbers].astype(float), rtol=1e-12, atol=1e-15)


def test_moments_only(gaussians: Splat, table: pd.DataFrame):
    fast = stats(gaussians, quantiles=False)
    moments = ["count", "finite", "nan", "posinf", "neginf", "mean", "std", "min", "max"]
    pd.testing.assert_frame_equal(fast[moments], table[moments])
    assert fast[["p01", "p50", "p99", "mode", "mode_share"]].isna().all().all()
    assert fast["distinct"].isna().all()
    assert set(fast["quantiles"]) == {"skipped"}


@pytest.mark.parametrize("device", [None, "cpu"])
def test_zero_rows(device):
    empty = Splat.from_arrays({name: np.zeros(0, np.float32) for name in TRELLIS_PROPERTIES})
    out = stats(empty, device=device)
    assert list(out.index) == [*TRELLIS_PROPERTIES, *DERIVED]
    assert (out[["count", "finite", "nan", "posinf", "neginf", "distinct"]] == 0).all().all()
    numbers = ["mean", "std", "min", "max", "p01", "p50", "p99", "mode", "mode_share"]
    assert out[numbers].isna().all().all()


def test_all_nan_field():
    out = stats(Splat.from_arrays({"v": np.full(10, np.nan, np.float32)}))
    assert out.loc["v", "nan"] == 10 and out.loc["v", "finite"] == 0
    assert np.isnan(out.loc["v", "mean"]) and np.isnan(out.loc["v", "mode_share"])


def test_big_endian_mixed_types(tmp_path: Path):
    rng = np.random.default_rng(3)
    n = 5_000
    columns = {"x": (1e6 + rng.normal(size=n)).astype(np.float64),
               "red": rng.integers(0, 256, n).astype(np.uint8),
               "id": rng.integers(-2**31, 2**31 - 1, n).astype(np.int32),
               "opacity": rng.normal(size=n).astype(np.float32)}
    path = splatlab.save(Splat.from_arrays(columns, byte_order=">"), tmp_path / "be.ply")
    loaded = splatlab.load(path)
    assert loaded.table.dtype["x"].byteorder == ">"
    out = stats(loaded)
    assert list(out.index) == ["x", "red", "id", "opacity", "alpha"]
    for name, values in columns.items():
        assert_row(out.loc[name], reference(values), name)
    assert_row(out.loc["alpha"], reference(loaded.alpha), "alpha")


def test_declared_encodings_and_overrides():
    cols = {"opacity": np.array([0.2, 0.2, 0.9], np.float32),
            **{f"scale_{i}": np.array([0.1, 0.2, 0.3], np.float32) for i in range(3)}}
    s = Splat.from_arrays(cols, opacity_encoding="probability", scale_encoding="linear")
    out = stats(s)
    assert list(out.index) == [*cols, "alpha", "linear_scale_0", "linear_scale_1",
                               "linear_scale_2", "scale_max", "anisotropy", "volume"]
    pd.testing.assert_series_equal(out.loc["alpha"], out.loc["opacity"], check_names=False)
    assert out.loc["anisotropy", "max"] == 1.0
    changed = stats(s.replace(opacity=[0.5, 0.5, 0.5]))
    assert changed.loc["opacity", "mode_share"] == 1.0 and changed.loc["opacity", "std"] == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.integers(-3, 3).map(float),
                          st.sampled_from([np.nan, np.inf, -np.inf, -0.0]),
                          st.floats(-1e3, 1e3, width=32)), max_size=300),
       st.integers(1, 200))
def test_any_values_match_reference(values: list[float], repeat: int):
    column = np.array(values + [1.5] * repeat, np.float32)
    for how in ("one piece", "two threads"):
        with pieces(how):
            out = stats(Splat.from_arrays({"v": column}))
        assert_row(out.loc["v"], reference(column), f"v ({how})")


def test_peak_memory_under_a_tenth_of_the_file(tmp_path: Path):
    # 300k rows, 20 MB: the histogram table's fixed 1.3 MB of bins is 6.5 % of it
    path = splatlab.save(Splat.from_arrays(gaussian_columns(300_000, seed=5)), tmp_path / "t.ply")
    splat = splatlab.load(path)
    size = path.stat().st_size
    # compile (or load) the kernels first, once a process: 1,500 rows give a full and a
    # partial chunk, two threads the partition, so every signature the big file meets
    small = splatlab.load(splatlab.save(Splat.from_arrays(gaussian_columns(1_500)),
                                        tmp_path / "small.ply"))
    for how in ("one piece", "two threads"):
        with pieces(how):
            for quantiles in (True, "histogram"):
                stats(small, quantiles=quantiles)
    for quantiles in (False, True, "histogram"):
        tracemalloc.start()
        try:
            stats(splat, quantiles=quantiles)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 0.10 * size, f"quantiles={quantiles}: {peak:,} B of a {size:,} B file"


def test_hamburger_fixture(hamburger_path):
    out = stats(splatlab.load(hamburger_path))
    assert (out["count"] == 52_709).all() and (out["finite"] == 52_709).all()
    assert np.isfinite(out[["mean", "std", "min", "max", "p01", "p50", "p99", "mode"]]).all().all()
    assert 0 < out.loc["alpha", "min"] < out.loc["alpha", "max"] < 1


def test_tensor_moments_match_stats_on_device_resident_data():
    import torch

    from splatlab.analysis.statistics import tensor_moments

    rng = np.random.default_rng(11)
    cols = {"a": rng.normal(1e4, 1.0, 5000).astype(np.float32),
            "b": rng.normal(0, 3, 5000).astype(np.float32)}
    cols["b"][:7] = [np.nan, np.inf, -np.inf, np.nan, 1, 2, 3]
    splat = Splat.from_arrays(cols)
    expected = stats(splat, quantiles=False).loc[["a", "b"]]
    got = tensor_moments(torch.from_numpy(np.array(splat.as_matrix())), ["a", "b"])
    assert list(got.columns) == ["count", "finite", "nan", "posinf", "neginf", "mean", "std",
                                 "min", "max"]
    for name in ("count", "finite", "nan", "posinf", "neginf", "min", "max"):
        assert got[name].tolist() == expected[name].tolist()
    np.testing.assert_allclose(got["mean"], expected["mean"], rtol=1e-12)
    np.testing.assert_allclose(got["std"], expected["std"], rtol=1e-9)


def test_tensor_moments_of_no_rows():
    import torch

    from splatlab.analysis.statistics import tensor_moments

    got = tensor_moments(torch.zeros(0, 2), ["a", "b"])
    assert got["count"].tolist() == [0, 0] and got["mean"].isna().all()


def test_device_moments_engine_is_checked():
    import torch

    from splatlab.analysis.statistics import device_moments

    with pytest.raises(ValueError, match="engine must be"):
        device_moments(torch.zeros(3, 2), engine="numba")
    with pytest.raises(ValueError, match="engine='triton' needs"):
        device_moments(torch.zeros(3, 2, dtype=torch.int32), engine="triton")
    assert device_moments(torch.ones(3, 2), engine="torch")[0].tolist() == [3.0, 3.0]


def test_histogram_table_is_within_one_bin_of_exact(gaussians: Splat):
    exact = stats(gaussians)
    binned = stats(gaussians, quantiles="histogram")
    assert set(binned["quantiles"]) == {"histogram-4096"}
    one_value = exact["distinct"] == 1                       # known exactly: min == max
    assert binned["distinct"][~one_value].isna().all()
    assert (binned["distinct"][one_value] == 1).all()
    moments = ["count", "finite", "nan", "posinf", "neginf", "mean", "std", "min", "max"]
    pd.testing.assert_frame_equal(binned[moments], exact[moments])
    width = (exact["max"] - exact["min"]) / 4096
    for level in ("p01", "p50", "p99"):
        assert ((binned[level] - exact[level]).abs() <= width + 1e-12).all(), level
    # the 40 % opacity spike shares its bin with other values: the mode is that bin's
    # centre, and every share is an upper bound of the exact one
    assert abs(binned.loc["opacity", "mode"] - float(LOGIT_1E4)) <= width["opacity"]
    assert (binned["mode_share"] >= exact["mode_share"] - 1e-12).all()


def test_threads_bins_merge_to_one_threads_table(gaussians: Splat):
    with pieces("one piece"):
        serial = stats(gaussians, quantiles="histogram")
    with pieces("two threads"):
        threaded = stats(gaussians, quantiles="histogram")
    pd.testing.assert_frame_equal(threaded, serial)


def test_merged_bins_keep_a_value_only_where_no_second_one_met_it():
    nan = np.nan
    counts = np.array([[0, 2, 3, 1, 0, 4]], np.int32)
    last = np.array([[0.0, 1.5, 2.0, 7.0, 0.0, nan]], np.float32)
    more_counts = np.array([[5, 0, 1, 1, 0, 2]], np.int32)
    more_last = np.array([[9.0, 0.0, 2.0, 8.0, 0.0, 3.0]], np.float32)
    merged_counts, merged_last = STATS._merge_bins((counts, last), (more_counts, more_last))
    np.testing.assert_array_equal(merged_counts, [[5, 2, 4, 2, 0, 6]])
    np.testing.assert_array_equal(merged_last, [[9.0, 1.5, 2.0, nan, 0.0, nan]])
    assert merged_last.dtype == np.float32


@pytest.mark.parametrize("how", ["one piece", "two threads"])
def test_histogram_mode_is_exact_for_a_spike_alone_in_its_bin(how: str):
    values = np.concatenate([np.full(300, 2.5), np.linspace(-100.0, 100.0, 700)])
    column = np.random.default_rng(3).permutation(values).astype(np.float32)
    with pieces(how):
        row = stats(Splat.from_arrays({"v": column}), quantiles="histogram").loc["v"]
    assert row["mode"] == 2.5 and row["mode_share"] == 0.3


def test_quantiles_option_is_checked(gaussians: Splat):
    with pytest.raises(ValueError, match="quantiles must be"):
        stats(gaussians, quantiles="approximate")
    with pytest.raises(ValueError, match="host only"):
        stats(gaussians, device="cpu", quantiles="histogram")


def test_tensor_moments_of_float64_extremes_agree_with_stats():
    """Columns near float64's ends (whose squares overflow or vanish) are summed scaled."""
    import torch

    from splatlab.analysis.statistics import tensor_moments

    rng = np.random.default_rng(5)
    cols = {"huge": rng.choice([-1.7e308, 1.6e308, 9e307], 4000),
            "tiny": rng.choice([5e-324, 1e-310, -2e-320], 4000)}
    splat = Splat.from_arrays(cols)
    expected = stats(splat, quantiles=False)
    got = tensor_moments(torch.from_numpy(np.column_stack(list(cols.values()))), list(cols))
    for name, values in cols.items():
        assert np.isfinite(got.loc[name, ["mean", "std"]].astype(float)).all()
        exponent = int(np.frexp(np.abs(values).max())[1])
        reference_std = np.ldexp(np.std(np.ldexp(values, -exponent)), exponent)
        assert got.loc[name, "std"] == pytest.approx(reference_std, rel=1e-9)
        assert got.loc[name, "mean"] == pytest.approx(expected.loc[name, "mean"], rel=1e-9)
