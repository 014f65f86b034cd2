"""Without numba (the ``[fast]`` extra not installed) splatlab gives the same answers.

One subprocess, in which numba cannot be imported (``sys.modules["numba"] = None`` before
splatlab is), computes :func:`results`: ``stats`` of several splats in its three quantile
modes, and the SPZ, compressed PLY and SOG codecs on the sample files (and the shared
fixtures, when present). This process computes the same with numba and compares: every
column of the stats tables equal but mean and std (within ``moment_tolerance``), every
payload and decoded table the same bytes. The numpy kernel twins
(``splatlab.analysis.kernels_numpy``) are also held to the compiled kernels directly, on
random and edge inputs; and a numba that fails to import counts as absent.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import splatlab
from splatlab import Splat, data
from splatlab.analysis import kernels_numpy as twins
from splatlab.analysis.statistics_reference import moment_tolerance
from splatlab.core import compressed_ply, sog, spz
from splatlab.core.compiled import numba_available

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIXTURES = Path(os.environ.get("SPLATLAB_FIXTURES", ROOT.parent / "shared" / "fixtures"))
"""``../shared/fixtures`` as in tests/conftest.py (this module is also imported outside
pytest, by the subprocess); what is absent there is skipped."""
F32 = np.float32
MODES = (True, "histogram", False)
"""``stats``'s quantile modes: exact, from histograms, skipped."""


def hostile(n: int = 6_000, seed: int = 0) -> Splat:
    """Columns a damaged file may hold: NaN and infinities mixed in, float32 and float64
    near their ends, subnormals, one value, big-endian, integers; scales and rotations with
    zeros, infinities and NaN (the derived rows' edge cases)."""
    rng = np.random.default_rng(seed)
    ordinary = rng.normal(0, 3, n).astype(F32)
    mixed = ordinary.copy()
    mixed[rng.choice(n, 400, replace=False)] = rng.choice([np.nan, np.inf, -np.inf], 400)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 88.0, -104.0], F32)
    scale = rng.normal(-5, 1, (3, n)).astype(F32)
    scale[:, rng.choice(n, 60, replace=False)] = rng.choice(specials, (3, 60))
    return Splat.from_arrays({
        "ordinary": ordinary, "mixed": mixed,
        "max32": rng.choice(np.array([3.4028235e38, -3.4028235e38, 1.0], F32), n),
        "huge64": rng.choice([1.7e308, 1.6e308, -1.5e308, 9e307], n),
        "tiny64": rng.choice([5e-324, -1e-310, 2e-320], n),
        "subnormal32": rng.choice(np.array([1e-45, -1e-45, 1e-40, 0.0, -0.0], F32), n),
        "constant": np.full(n, -9.21, F32), "nothing_finite": np.full(n, np.nan, F32),
        "big_endian": ordinary.astype(">f4"), "integers": rng.integers(-5, 5, n, np.int32),
        "opacity": mixed, "scale_0": scale[0], "scale_1": scale[1], "scale_2": scale[2],
        "rot_0": mixed, "rot_1": ordinary, "rot_2": -ordinary, "rot_3": ordinary[::-1].copy(),
    })


def splats(paths: dict[str, str]) -> dict[str, Splat]:
    """The splats whose statistics are compared (the large one takes the threaded path:
    pieces, a median split, two sorts)."""
    out = {"trellis": data.trellis_like(), "corrupted": data.corrupted(),
           "chained": data.chained(), "inria SH 3": data.inria_sample(), "hostile": hostile(),
           "large": data.trellis_like(100_000, seed=5),
           "empty": Splat.from_arrays({"opacity": np.zeros(0, F32)}),
           "sample.compressed.ply": splatlab.load(paths["sample.compressed.ply"])}
    if "hamburger.ply" in paths:
        out["hamburger"] = splatlab.load(paths["hamburger.ply"])
    return out


def _table(values: np.ndarray) -> tuple[str, bytes]:
    return str(values.dtype), values.tobytes()


def results(paths: dict[str, str]) -> dict[str, object]:
    """Everything compared, computed by whichever engine this process has."""
    from splatlab.analysis import statistics

    out: dict[str, object] = {"numba": numba_available(),
                              "kernels": statistics.kernels.__name__}
    for name, splat in splats(paths).items():
        for mode in MODES:
            out[f"stats {name} {mode}"] = splatlab.stats(splat, quantiles=mode)
    for name, splat in (("inria", data.inria_sample()), ("hostile", hostile(512, seed=1))):
        columns = {n: splat.column(n) for n in splat.properties}
        if name == "hostile":
            columns.update({n: columns["mixed"] for n in ("x", "y", "z", "f_dc_0")},
                           f_dc_1=columns["huge64"], f_dc_2=columns["max32"])
        packed = spz.encode(columns)
        out[f"spz encode {name}"] = packed.to_payload()
        out[f"spz decode {name}"] = _table(spz.decode(packed))
    for name in ("sample.spz", "trellis.spz", *(p for p in paths if p.endswith(".spz"))):
        out[f"spz decode {name}"] = _table(spz.decode(spz.read(paths[name])[0]))
    with tempfile.TemporaryDirectory() as folder:   # what load does: SPZ v2 decoded while
        gzip = Path(folder) / "trellis.gzip.spz"    # inflated, compressed PLY mapped
        gzip.write_bytes(spz.to_bytes(spz.read(paths["trellis.spz"])[0], "gzip"))
        loaded = {**paths, "trellis.gzip.spz": str(gzip)}
        for name in sorted(n for n in loaded if n.endswith((".spz", ".compressed.ply"))):
            splat = splatlab.load(loaded[name])
            out[f"load {name}"] = _table(np.asarray(splat.table))
    for name in ("sample.compressed.ply", "hamburger.compressed.ply"):
        if name in paths:
            out[f"compressed ply {name}"] = _table(compressed_ply.read(paths[name]))
    for name in ("sample.sog", "hamburger.sog"):
        if name in paths:
            out[f"sog {name}"] = _table(sog.read(paths[name])[0])
    return out


WITHOUT_NUMBA = """
import pickle, sys
sys.modules["numba"] = None                 # import numba raises: as if it were not installed
sys.path.insert(0, {here!r})
import test_without_numba as here
computed = here.results({paths!r})
assert sys.modules["numba"] is None         # nothing got numba in another way
with open({out!r}, "wb") as f:
    pickle.dump(computed, f)
"""


@pytest.fixture(scope="module")
def paths() -> dict[str, str]:
    found = {name: str(data.path(name))
             for name in ("sample.compressed.ply", "sample.sog", "sample.spz", "trellis.spz")}
    shared = {"hamburger.ply": FIXTURES / "hamburger.ply",
              "hamburger.compressed.ply": FIXTURES / "formats" / "hamburger.compressed.ply",
              "hamburger.sog": FIXTURES / "formats" / "hamburger.sog",
              "hamburger.v3.spz": FIXTURES / "formats" / "hamburger.v3.spz",
              "sample_sh3.spz": FIXTURES / "formats" / "sample_sh3.spz",
              "edge_sh3.spz": FIXTURES / "spz" / "edge_sh3.spz"}
    found.update({name: str(path) for name, path in shared.items() if path.exists()})
    return found


def _python_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}


@pytest.fixture(scope="module")
def compared(paths, tmp_path_factory) -> tuple[dict, dict]:
    """(with numba: this process, without: a subprocess) :func:`results`."""
    if not numba_available():
        pytest.skip("numba is not installed: nothing to compare with")
    out = tmp_path_factory.mktemp("without-numba") / "results.pickle"
    code = WITHOUT_NUMBA.format(here=str(HERE), paths=paths, out=str(out))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_python_env(), cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    with open(out, "rb") as f:
        without = pickle.load(f)
    return results(paths), without


def test_each_side_ran_the_engine_it_should(compared):
    fast, plain = compared
    assert (fast["numba"], fast["kernels"]) == (True, "splatlab.analysis.kernels")
    assert (plain["numba"], plain["kernels"]) == (False, "splatlab.analysis.kernels_numpy")
    assert fast.keys() == plain.keys()


def _stats_keys() -> list[str]:
    names = ["trellis", "corrupted", "chained", "inria SH 3", "hostile", "large", "empty",
             "sample.compressed.ply", "hamburger"]
    return [f"stats {name} {mode}" for name in names for mode in MODES]


@pytest.mark.parametrize("key", _stats_keys())
def test_stats_are_the_same_without_numba(compared, key):
    fast, plain = compared
    if key not in fast:
        pytest.skip(f"{key}: the fixture is absent")
    a, b = fast[key], plain[key]
    assert list(a.index) == list(b.index) and list(a.columns) == list(b.columns)
    moments = ["mean", "std"]
    pd.testing.assert_frame_equal(a.drop(columns=moments), b.drop(columns=moments))
    largest = np.fmax(np.abs(a["min"].to_numpy(float)), np.abs(a["max"].to_numpy(float)))
    tolerance = [moment_tolerance(int(n), m) for n, m in zip(a["finite"], largest)]
    for column in moments:
        x, y = a[column].to_numpy(float), b[column].to_numpy(float)
        assert (np.isnan(x) == np.isnan(y)).all(), column
        close = np.isnan(x) | (np.abs(x - y) <= tolerance)
        assert close.all(), f"{column}: {list(a.index[~close])} {x[~close]} {y[~close]}"


def _codec_keys() -> list[str]:
    return ["spz encode inria", "spz decode inria", "spz encode hostile",
            "spz decode hostile", "spz decode sample.spz", "spz decode trellis.spz",
            "spz decode hamburger.v3.spz", "spz decode sample_sh3.spz",
            "spz decode edge_sh3.spz", "compressed ply sample.compressed.ply",
            "compressed ply hamburger.compressed.ply", "sog sample.sog", "sog hamburger.sog",
            "load sample.spz", "load trellis.spz", "load trellis.gzip.spz",
            "load hamburger.v3.spz", "load sample_sh3.spz", "load edge_sh3.spz",
            "load sample.compressed.ply", "load hamburger.compressed.ply"]


@pytest.mark.parametrize("key", _codec_keys())
def test_codecs_give_the_same_bytes_without_numba(compared, key):
    fast, plain = compared
    if key not in fast:
        pytest.skip(f"{key}: the fixture is absent")
    assert fast[key] == plain[key]


BROKEN_NUMBA = """
import sys
import numpy as np, splatlab
from splatlab.core.compiled import numba_available
from splatlab.core import spz
assert not numba_available()
table = spz.decode(spz.read(sys.argv[1])[0])
print(len(table), int(splatlab.stats(splatlab.Splat.from_arrays(
    {"opacity": np.array([1, 2, 2], np.float32)})).loc["opacity", "distinct"]))
"""


def test_a_numba_that_fails_to_import_counts_as_absent(tmp_path, paths):
    broken = tmp_path / "numba"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('built for another numpy')\n")
    env = _python_env()
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
    done = subprocess.run([sys.executable, "-c", BROKEN_NUMBA, paths["sample.spz"]],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == [str(data.SAMPLE_FORMAT_COUNT), "2"]


# The twins against the compiled kernels, in this process.

@pytest.fixture(scope="module")
def compiled():
    if not numba_available():
        pytest.skip("numba is not installed")
    from splatlab.analysis import kernels

    return kernels


def _column_kinds(rows: int, seed: int) -> np.ndarray:
    """(rows, 7): ordinary, with NaN and infinities, nothing finite, one value, ties,
    -0.0 and 0.0, large magnitudes."""
    rng = np.random.default_rng(seed)
    block = np.empty((rows, 7))
    block[:, 0] = rng.normal(100.0, 3.0, rows)
    block[:, 1] = rng.normal(0, 1, rows)
    block[rng.choice(rows, rows // 10, replace=False), 1] = rng.choice(
        [np.nan, np.inf, -np.inf], rows // 10)
    block[:, 2] = rng.choice([np.nan, np.inf, -np.inf], rows)
    block[:, 3] = -9.21
    block[:, 4] = rng.integers(-3, 3, rows)
    block[:, 5] = rng.choice([0.0, -0.0], rows)
    block[:, 6] = rng.uniform(-1e30, 1e30, rows)
    return block


@pytest.mark.parametrize("layout", ["C", "F", "strided rows"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, ">f4"])
def test_chunk_moments_twin(compiled, layout, dtype):
    block = _column_kinds(700, seed=1).astype(dtype)
    if layout == "F":
        block = np.asfortranarray(block)
    elif layout == "strided rows":
        block = np.repeat(block, 2, axis=1)[:, ::2]
    want, got = np.empty((8, block.shape[1])), np.empty((8, block.shape[1]))
    compiled.chunk_moments(block.astype(block.dtype.newbyteorder("=")), want)  # native only
    twins.chunk_moments(block, got)
    np.testing.assert_array_equal(got[[0, 1, 2, 3, 6, 7]], want[[0, 1, 2, 3, 6, 7]])
    largest = np.fmax(np.abs(want[6]), np.abs(want[7]))
    for j in range(block.shape[1]):
        if want[0, j]:                                      # mean and std, as stats gives them
            tolerance = moment_tolerance(int(want[0, j]), largest[j])
            assert abs(got[4, j] - want[4, j]) <= tolerance, j
            std = np.sqrt(np.array([got[5, j], want[5, j]]) / want[0, j])
            assert abs(std[0] - std[1]) <= tolerance, j
        else:
            assert got[4, j] == want[4, j] == 0 and got[5, j] == want[5, j] == 0


@pytest.mark.parametrize("seed", range(4))
def test_partition_runs_and_is_sorted_twins(compiled, seed):
    rng = np.random.default_rng(seed)
    for column in (_column_kinds(513, seed)[:, j].astype(F32) for j in range(7)):
        for pivot in (np.float32(0.0), column[0], np.float32(np.nan), np.float32(1e31)):
            a, b = column.copy(), column.copy()
            assert compiled.partition_below(a, pivot) == twins.partition_below(b, pivot)
            cut = twins.partition_below(column.copy(), pivot)
            np.testing.assert_array_equal(np.sort(a[:cut]), np.sort(b[:cut]))
            np.testing.assert_array_equal(np.sort(a[cut:]), np.sort(b[cut:]))
        for values in (column, np.sort(column), np.sort(column)[::-1], column[:1], column[:0],
                       np.sort(rng.integers(0, 4, 300)).astype(F32)):
            assert compiled.is_sorted(values) == twins.is_sorted(values)
            finite = np.sort(values[np.isfinite(values)])
            want, got = compiled.runs(finite), twins.runs(finite)
            assert want[1:] == got[1:] and np.array_equal(want[0], got[0], equal_nan=True)
            assert np.signbit(want[0]) == np.signbit(got[0])        # -0.0 stays -0.0


@pytest.mark.parametrize("last_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("block_dtype", [np.float32, np.float64])
def test_chunk_histogram_twin(compiled, block_dtype, last_dtype):
    block = _column_kinds(3_000, seed=2)
    block[::7, 0] = 101.25                                  # a spike inside continuous values
    block[::5, 4] = -0.0                                    # -0.0 and 0.0 share a bin
    block = np.column_stack([block, block[:, 0] + 1e-9]).astype(block_dtype)  # float32: ties
    finite = np.isfinite(block)
    low = np.where(finite, block, np.inf).min(axis=0)
    with np.errstate(invalid="ignore"):
        span = np.where(finite, block, -np.inf).max(axis=0) - low
    span[2] = np.nan                                       # no finite value: skipped
    span[1] = 1e-320 if block_dtype == np.float64 else span[1]   # bins / span overflows
    low[2] = 0.0
    for bins in (1, 7, 4096):
        want = (np.zeros((block.shape[1], bins), np.int32),
                np.zeros((block.shape[1], bins), last_dtype))
        got = (want[0].copy(), want[1].copy())
        for part in np.array_split(block, 4):                # bins carried across chunks
            compiled.chunk_histogram(part, low, span, *want)
            twins.chunk_histogram(part, low, span, *got)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        assert (np.signbit(got[1]) == np.signbit(want[1])).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scale_quat_and_gather_twins(compiled, dtype):
    rng = np.random.default_rng(3)
    specials = np.array([0.0, -0.0, 1e-30, 3.5, 1e30, np.inf, -np.inf, np.nan])
    values = rng.normal(0, 20, (4, 2_000))
    values[rng.random(values.shape) < 0.1] = rng.choice(specials, 1)[0]
    values[:, :len(specials) ** 2] = np.stack(np.meshgrid(specials, specials)).reshape(2, -1)[
        [0, 1, 0, 1]]
    values = values.astype(dtype)
    want, got = np.empty((3, values.shape[1]), dtype), np.empty((3, values.shape[1]), dtype)
    compiled.scale_summaries(values[:3], want)
    twins.scale_summaries(values[:3], got)
    np.testing.assert_array_equal(got, want)
    want, got = np.empty(values.shape[1], dtype), np.empty(values.shape[1], dtype)
    compiled.quat_norms(values, want)
    twins.quat_norms(values, got)
    np.testing.assert_array_equal(got, want)
    columns = np.array([3, 0, 2])
    want, got = np.zeros((3, 2_500), F32), np.zeros((3, 2_500), F32)
    compiled.gather_columns(values.T, columns, want)              # out wider than the rows
    twins.gather_columns(values.T, columns, got)
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
