"""SPZ: the codec against the real library's outputs (404-Repo/spz 0.1, what subnet 17 runs),
Niantic's gzip container as splat-transform and gsply write it, hostile files, and properties
that must hold for any float32 input (FACTS.md section 5)."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import importlib.util
import os
import resource
import struct
import sys
import tempfile
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import splatlab
from splatlab import Splat, SplatFormatError
from splatlab.core import spz
from splatlab.core.compiled import numba_available
from splatlab.core.fields import f_rest_names
from splatlab.core.io import spz_bytes
from splatlab.core.provenance import SourceFormat
from splatlab.world.submission import SubmissionRefused, spz_roundtrip, submission_problems

FIXTURES = Path(os.environ.get("SPLATLAB_FIXTURES",
                               Path(__file__).resolve().parents[2] / "shared" / "fixtures"))
"""``../shared/fixtures`` as in tests/conftest.py; tests that need it skip when it is absent."""
REFERENCES = ("hamburger", "edge_sh0", "edge_sh1", "edge_sh2", "edge_sh3")
STREAMS = ("positions", "alphas", "colors", "scales", "rotations", "sh")
HYPOTHESIS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                      suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- helpers
def shared(*parts: str) -> Path:
    """A path under ../shared/fixtures, or skip the test when it is absent."""
    path = FIXTURES.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"fixture {path} absent")
    return path


def bits(values: np.ndarray) -> np.ndarray:
    """float32 values as their bit patterns (so -0.0, +-inf and NaN payloads count)."""
    return np.ascontiguousarray(values, np.float32).view(np.uint32)


def assert_same(a: Splat, b: Splat) -> None:
    assert a.properties == b.properties
    assert a.count == b.count
    for name in a.properties:
        np.testing.assert_array_equal(bits(a.column(name)), bits(b.column(name)), err_msg=name)


def assert_table(table: np.ndarray, splat: Splat) -> None:
    """A decoded structured table equals a Splat's columns, names, order and bits."""
    assert list(table.dtype.names) == splat.properties
    for name in splat.properties:
        np.testing.assert_array_equal(bits(table[name]), bits(splat.column(name)), err_msg=name)


def unzstd(data: bytes) -> bytes:
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def to_zstd(payload: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=1, write_content_size=True).compress(payload)


def columns_of(splat: Splat) -> dict[str, np.ndarray]:
    return {name: splat.column(name) for name in splat.properties}


def source_ply(name: str) -> Path:
    return shared("hamburger.ply") if name == "hamburger" else shared("spz", f"{name}.ply")


def synthetic(count: int, dim: int = 0, seed: int = 0) -> dict[str, np.ndarray]:
    """Plausible 3DGS columns (no fixture needed)."""
    rng = np.random.default_rng(seed)
    columns = {name: rng.normal(0, 1, count).astype(np.float32) for name in spz.ENCODED_PROPERTIES}
    for name in ("x", "y", "z"):
        columns[name] = rng.uniform(-50, 50, count).astype(np.float32)
    for name in ("scale_0", "scale_1", "scale_2"):
        columns[name] = rng.uniform(-9, 1, count).astype(np.float32)
    columns["opacity"] = rng.uniform(-8, 8, count).astype(np.float32)
    for name in f_rest_names(3 * dim):
        columns[name] = rng.uniform(-1, 1, count).astype(np.float32)
    return columns


def one_line_naming(error: SplatFormatError, name: str) -> str:
    message = str(error)
    assert "\n" not in message, message
    assert name in message, message
    return message


# ---------------------------------------------------------------- 1. the real library's outputs
@pytest.mark.parametrize("name", REFERENCES)
def test_load_matches_pyspz_decompress(name, tmp_path):
    """load(NAME.spz) is pyspz.decompress's PLY: properties, order and every bit, and saving
    it as PLY writes that file byte for byte."""
    reference = shared("spz", f"{name}.spz.ply")
    decoded = splatlab.load(shared("spz", f"{name}.spz"))
    assert decoded.provenance.format == SourceFormat("spz", "zstd", 2, 12, False, quantised=True)
    assert_same(decoded, splatlab.load(reference))
    written = splatlab.save(decoded, tmp_path / "x.ply")
    assert written.read_bytes() == reference.read_bytes()


@pytest.mark.parametrize("name", REFERENCES)
def test_encode_matches_pyspz_compress(name, tmp_path):
    """Encoding NAME.ply gives pyspz.compress's payload byte for byte, through encode, save and
    spz_roundtrip."""
    payload = unzstd(shared("spz", f"{name}.spz").read_bytes())
    source = splatlab.load(source_ply(name))
    assert spz.encode(columns_of(source)).to_payload() == payload
    written = splatlab.save(source, tmp_path / "x.spz")
    assert written.read_bytes()[:4] == spz.ZSTD_MAGIC
    assert unzstd(written.read_bytes()) == payload
    assert_same(spz_roundtrip(source), splatlab.load(shared("spz", f"{name}.spz.ply")))


def test_references_cover_every_alpha_byte():
    """Together the fixtures hold all 256 alpha bytes, so ALPHA_TABLE is checked entry by
    entry against the library's decode (0 -> -inf, 255 -> +inf)."""
    table = np.full(256, np.nan, np.float32)
    seen = np.zeros(256, bool)
    for name in REFERENCES:
        packed, _, _ = spz.read(shared("spz", f"{name}.spz"))
        opacity = splatlab.load(shared("spz", f"{name}.spz.ply")).column("opacity")
        table[packed.alphas] = opacity
        seen[packed.alphas] = True
    assert seen.all(), f"alpha bytes never seen: {np.flatnonzero(~seen).tolist()}"
    np.testing.assert_array_equal(bits(table), bits(spz.ALPHA_TABLE))
    assert spz.ALPHA_TABLE[0] == -np.inf and spz.ALPHA_TABLE[255] == np.inf


# ---------------------------------------------------------------- 2. header variants
def _variants() -> list[dict[str, str]]:
    path = FIXTURES / "spz" / "header_variants.tsv"
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


@pytest.mark.parametrize("row", _variants(), ids=lambda row: row["variant"])
def test_header_variants_match_the_library(row):
    path = shared("spz", "header_variants", f"{row['variant']}.ply")
    problems = submission_problems(path)
    compressed = row["compress"] == "accepted"
    decompressed = row["decompress"] == "accepted"
    assert (problems == []) == (compressed and decompressed), problems
    if compressed and not decompressed:
        assert problems and all("decompress" in p for p in problems), problems
    if not compressed:
        assert any("decompress" not in p for p in problems), problems
    assert submission_problems(path.read_bytes()) == problems
    try:
        splat = splatlab.load(path)
    except SplatFormatError:
        return  # some variants are not a PLY splatlab reads; the path and bytes forms suffice
    assert submission_problems(splat) == problems
    if problems:
        with pytest.raises(SubmissionRefused):
            spz_roundtrip(splat)
    else:
        assert spz_roundtrip(splat).count == splat.count


# ---------------------------------------------------------------- 3. Niantic gzip version 3
@pytest.mark.parametrize("name", ("hamburger", "sample_sh3"))
def test_niantic_v3_matches_splat_transform(name):
    ours = splatlab.load(shared("formats", f"{name}.v3.spz"))
    reference = splatlab.load(shared("formats", "decoded", f"{name}.v3.spz.ply"))
    assert ours.provenance.format == SourceFormat("spz", "gzip", 3, 12, False, quantised=True)
    assert sorted(ours.properties) == sorted(reference.properties)
    assert ours.count == reference.count
    tolerances = {"f_dc": 2.5e-7, "rot": 1.2e-7, "opacity": 5e-7}
    for name_ in ours.properties:
        a, b = ours.column(name_), reference.column(name_)
        tolerance = next((t for prefix, t in tolerances.items() if name_.startswith(prefix)), None)
        if tolerance is None:  # positions, scales, SH
            np.testing.assert_array_equal(bits(a), bits(b), err_msg=name_)
            continue
        finite = np.isfinite(a) & np.isfinite(b)
        assert np.abs(a[finite] - b[finite]).max() <= tolerance, name_
        if name_ != "opacity":
            assert finite.all(), name_
            continue
        # Byte 255 (0): we give +inf (-inf) as the C++ library; splat-transform clamps
        # to logit(1 - 1e-6) = 13.81551.
        assert np.isfinite(b).all()
        assert np.array_equal(~finite, np.isinf(a))
        assert (a == np.inf).any()
        assert (b[a == np.inf] == np.float32(13.81551)).all()
        assert (b[a == -np.inf] == np.float32(-13.81551)).all()


# ---------------------------------------------------------------- 4. containers
def test_gzip_container_roundtrip(tmp_path):
    decoded = spz_roundtrip(Splat.from_arrays(synthetic(2000, dim=8, seed=1)))
    written = splatlab.save(decoded, tmp_path / "x.spz", container="gzip")
    assert written.read_bytes()[:2] == spz.GZIP_MAGIC
    back = splatlab.load(written)
    assert back.provenance.format == SourceFormat("spz", "gzip", 2, 12, False, quantised=True)
    assert back.provenance.format.label == "SPZ v2 (gzip), quantised"
    assert_same(back, decoded)
    # and the zstd one, to compare: the same values, pyspz's container
    zstd = splatlab.load(splatlab.save(decoded, tmp_path / "y.spz"))
    assert zstd.provenance.format == SourceFormat("spz", "zstd", 2, 12, False, quantised=True)
    assert_same(zstd, back)


def test_unchanged_spz_keeps_its_bytes(tmp_path):
    first = splatlab.save(Splat.from_arrays(synthetic(500, dim=3)), tmp_path / "a.spz",
                          container="gzip")
    loaded = splatlab.load(first)
    again = splatlab.save(loaded, tmp_path / "b.spz", container="gzip", format="spz")
    assert again.read_bytes() == first.read_bytes()
    # another container, or a change, re-encodes
    other = splatlab.save(loaded, tmp_path / "c.spz", container="zstd")
    assert other.read_bytes()[:4] == spz.ZSTD_MAGIC
    assert_same(splatlab.load(other), loaded)
    changed = loaded.replace(opacity=np.zeros(loaded.count, np.float32))
    assert spz_bytes(changed, "gzip") != first.read_bytes()


@pytest.mark.parametrize("path_parts, container", [(("spz", "hamburger.spz"), "zstd"),
                                                   (("formats", "hamburger.v3.spz"), "gzip")])
def test_unchanged_reference_spz_keeps_its_bytes(path_parts, container, tmp_path):
    path = shared(*path_parts)
    written = splatlab.save(splatlab.load(path), tmp_path / "copy.spz", container=container)
    assert written.read_bytes() == path.read_bytes()


def test_gsply_reads_ours_and_we_read_gsply(tmp_path):
    gsply = pytest.importorskip("gsply")
    decoded = spz_roundtrip(Splat.from_arrays(synthetic(1000, seed=2)))
    ours = splatlab.save(decoded, tmp_path / "ours.spz", container="gzip")
    theirs_view = gsply.read_spz(ours)
    np.testing.assert_allclose(theirs_view.means, decoded.positions, atol=1e-6)
    np.testing.assert_allclose(theirs_view.scales, decoded.log_scales, atol=1e-6)
    np.testing.assert_allclose(theirs_view.sh0, decoded.sh_dc, atol=1e-6)
    finite = np.isfinite(decoded.opacity)
    np.testing.assert_allclose(theirs_view.opacities[finite], decoded.opacity[finite], atol=1e-4)
    np.testing.assert_allclose(theirs_view.quats, decoded.quats, atol=1e-5)

    data = gsply.GSData(means=decoded.positions, scales=decoded.log_scales,
                        quats=decoded.quats_normalized, opacities=decoded.opacity,
                        sh0=decoded.sh_dc, shN=None)
    written = tmp_path / "gsply.spz"
    gsply.write_spz(written, data)
    back = splatlab.load(written)
    assert back.provenance.format == SourceFormat("spz", "gzip", 3, 12, False, quantised=True)
    their_decode = gsply.read_spz(written)
    np.testing.assert_allclose(back.positions, their_decode.means, atol=1e-6)
    np.testing.assert_allclose(back.positions, decoded.positions, atol=1 / 4096)
    np.testing.assert_allclose(back.log_scales, their_decode.scales, atol=1e-6)
    finite = np.isfinite(back.opacity)
    np.testing.assert_allclose(back.opacity[finite], their_decode.opacities[finite], atol=1e-4)
    np.testing.assert_allclose(back.quats, their_decode.quats, atol=1e-5)


def test_version_1_float16_positions(tmp_path):
    positions = np.float16([[0.5, -1.25, 65504.0], [6e-8, -0.0, 1e-4], [-65504.0, 3.140625, 0]])
    count = len(positions)
    rotations = np.uint8([[128, 128, 128], [255, 0, 128], [0, 0, 0]])
    streams = (positions.tobytes(), bytes([0, 128, 255]), bytes(range(9)), bytes([160] * 9),
               rotations.tobytes())
    payload = spz.HEADER.pack(spz.MAGIC, 1, count, 0, 0, 0, 0) + b"".join(streams)
    assert len(payload) == spz.payload_size(1, count, 0)
    path = tmp_path / "v1 hand made.spz"
    path.write_bytes(gzip.compress(payload, mtime=0))
    packed, info, _ = spz.read(path)
    assert (info.container, info.version, info.count) == ("gzip", 1, 3)
    table = spz.decode(packed)
    got = np.stack([table["x"], table["y"], table["z"]], axis=1)
    np.testing.assert_array_equal(bits(got), bits(positions.astype(np.float32)))
    np.testing.assert_array_equal(bits(table["opacity"]), bits(spz.ALPHA_TABLE[[0, 128, 255]]))
    assert table["scale_0"].tolist() == [0.0] * 3
    splat = splatlab.load(path)
    assert splat.provenance.format.version == 1
    assert_table(table, splat)


# ---------------------------------------------------------------- 5. hostile input
def _payload(count: int = 3, dim: int = 0, seed: int = 0) -> bytes:
    return spz.encode(synthetic(count, dim, seed)).to_payload()


def _patched(payload: bytes, fmt: str, offset: int, value: int) -> bytes:
    data = bytearray(payload)
    struct.pack_into(fmt, data, offset, value)
    return bytes(data)


def _half(data: bytes) -> bytes:
    return data[:len(data) // 2]


def _huge_content_size() -> bytes:
    """A valid multi-block zstd frame whose header declares 2**40 content bytes."""
    payload = _payload(60_000, seed=3)
    frame = zstandard.ZstdCompressor(level=1, write_content_size=False).compress(payload)
    assert frame[4] == 0 and zstandard.frame_header_size(frame) == 6  # window byte, no size
    huge = frame[:4] + bytes([0xC0]) + frame[5:6] + struct.pack("<Q", 2**40) + frame[6:]
    assert zstandard.get_frame_parameters(huge).content_size == 2**40
    return huge


def _declared_like_its_header() -> bytes:
    """A multi-block frame declaring the 190 MB its header's 9,999,999 points need and
    holding 2 MB: a one-shot decompress would allocate the declared size before it finds
    the frame short (its first block, and so the header, reads fine)."""
    header = spz.HEADER.pack(spz.MAGIC, 2, 9_999_999, 0, 12, 0, 0)
    content = header + np.random.default_rng(6).bytes(2_000_000)
    frame = zstandard.ZstdCompressor(level=1, write_content_size=False).compress(content)
    assert frame[4] == 0 and zstandard.frame_header_size(frame) == 6
    need = spz.payload_size(2, 9_999_999, 0)
    lying = frame[:4] + bytes([0xC0]) + frame[5:6] + struct.pack("<Q", need) + frame[6:]
    assert zstandard.get_frame_parameters(lying).content_size == need
    return lying


def _header_only_stream() -> bytes:
    """A streaming frame (no content size) of a header claiming 9,999,999 points."""
    compressor = zstandard.ZstdCompressor().compressobj()
    header = spz.HEADER.pack(spz.MAGIC, 2, 9_999_999, 0, 12, 0, 0)
    return compressor.compress(header) + compressor.flush()


HOSTILE = {
    "wrong magic": (lambda: to_zstd(b"XXXX" + _payload()[4:]), "magic"),
    "version 4 in zstd": (lambda: to_zstd(_patched(_payload(), "<I", 4, 4)), "version 4"),
    "version 0": (lambda: to_zstd(_patched(_payload(), "<I", 4, 0)), "version 0"),
    "version 7": (lambda: to_zstd(_patched(_payload(), "<I", 4, 7)), "version 7"),
    "version 3 in zstd": (lambda: to_zstd(_patched(_payload(), "<I", 4, 3) + bytes(3)),
                          "version 3 in a zstd frame"),
    "SH degree 5": (lambda: to_zstd(_patched(_payload(), "<B", 12, 5)), "SH degree 5"),
    "10,000,001 points": (lambda: to_zstd(_patched(_payload(), "<I", 8, 10_000_001)),
                          "10,000,001"),
    "truncated payload": (lambda: to_zstd(_patched(_payload(), "<I", 8, 1000)), "truncated"),
    "truncated zstd file": (lambda: _half(to_zstd(_payload(20_000))), "truncated SPZ"),
    "truncated zstd block": (lambda: _half(to_zstd(_payload(300))), ""),
    "huge content size": (_huge_content_size, "zstd"),
    "header-only stream": (_header_only_stream, "9,999,999"),
    "declared size of a huge header": (_declared_like_its_header, "zstd"),
    "gzip of a huge header alone": (
        lambda: gzip.compress(spz.HEADER.pack(spz.MAGIC, 2, 9_999_999, 3, 12, 0, 0)),
        "9,999,999"),
    "random after gzip magic": (lambda: spz.GZIP_MAGIC + np.random.default_rng(5).bytes(500),
                                "gzip"),
    "empty file": (lambda: b"", "empty"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_input_is_refused_cheaply(case, tmp_path):
    build, expected = HOSTILE[case]
    path = tmp_path / "hostile input.spz"
    path.write_bytes(build())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    tracemalloc.start()
    try:
        with pytest.raises(SplatFormatError) as caught:
            splatlab.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert expected in one_line_naming(caught.value, str(path))
    assert peak < 50e6, f"{case}: {peak / 1e6:.0f} MB traced"
    assert grown * 1024 < 50e6, f"{case}: resident set grew {grown / 1024:.0f} MiB"
    if path.stat().st_size:  # the bytes form refuses it as well, naming the given source
        with pytest.raises(SplatFormatError) as caught:
            spz.read_bytes(path.read_bytes(), "given name.spz")
        one_line_naming(caught.value, "given name.spz")


def test_folder_is_refused(tmp_path):
    folder = tmp_path / "a folder.spz"
    folder.mkdir()
    for reader in (splatlab.load, spz.read):
        with pytest.raises(SplatFormatError) as caught:
            reader(folder)
        one_line_naming(caught.value, str(folder))


# ---------------------------------------------------------------- 6. properties (hypothesis)
_ANY_FLOAT32 = st.floats(width=32)  # NaN, +-inf, subnormals, +-3.4e38
_VALUES = st.one_of(
    _ANY_FLOAT32,
    st.floats(-5000, 5000, width=32),  # positions beyond +-2048 wrap
    st.floats(-20, 20, width=32),
    st.sampled_from([2048.0, -2048.0, 2047.9998, 0.5 / 4096, -0.0, 1e-45, 3.4e38, np.nan,
                     np.inf, -np.inf]),
)


@st.composite
def _columns(draw, max_count: int, elements) -> dict[str, np.ndarray]:
    """Columns of every SPZ property (and f_rest for a random SH degree), ``elements`` each."""
    count = draw(st.integers(1, max_count))
    dim = draw(st.sampled_from(tuple(spz.SH_DIM.values())))
    names = (*spz.ENCODED_PROPERTIES, *f_rest_names(3 * dim))
    return {name: draw(hnp.arrays(np.float32, count, elements=elements)) for name in names}


def spz_columns():
    return _columns(8, _VALUES)


@HYPOTHESIS
@given(columns=spz_columns())
@pytest.mark.filterwarnings("error::RuntimeWarning")  # no overflow noise
def test_every_path_decodes_the_same(columns):
    expected = spz.decode(spz.encode(columns))
    splat = Splat.from_arrays(columns)
    assert_table(expected, spz_roundtrip(splat))
    packed, info = spz.read_bytes(spz_bytes(splat))
    assert (info.container, info.version) == ("zstd", 2)
    np.testing.assert_array_equal(bits(spz.decode(packed).view(np.float32)),
                                  bits(expected.view(np.float32)))
    with tempfile.TemporaryDirectory() as folder:  # a PLY on disk, loaded, then to SPZ
        loaded = splatlab.load(splatlab.save(splat, Path(folder) / "in.ply"))
        spz_path = Path(folder) / "out.spz"
        spz_path.write_bytes(spz_bytes(loaded))
        assert_table(expected, splatlab.load(spz_path))


@HYPOTHESIS
@given(columns=spz_columns())
@pytest.mark.filterwarnings("error::RuntimeWarning")  # no overflow noise
def test_encode_is_idempotent_on_decoded_values(columns):
    first = spz.encode(columns)
    table = spz.decode(first)
    second = spz.encode({name: table[name] for name in table.dtype.names})
    for stream in ("positions", "alphas", "colors", "scales", "sh"):
        np.testing.assert_array_equal(getattr(second, stream), getattr(first, stream),
                                      err_msg=stream)
    # Three stored components of norm > 1 decode with w = 0 and renormalise differently.
    x, y, z = (table[f"rot_{i}"] for i in (1, 2, 3))
    unit = ((x * x + y * y) + z * z) <= np.float32(1)
    np.testing.assert_array_equal(second.rotations[unit], first.rotations[unit])


_BASE_PAYLOADS = [_payload(4, dim, seed=dim) for dim in spz.SH_DIM.values()]


@HYPOTHESIS
@given(data=st.data())
def test_mutated_payloads_fail_only_with_format_errors(data):
    payload = bytearray(data.draw(st.sampled_from(_BASE_PAYLOADS)))
    mutation = data.draw(st.sampled_from(("flip", "truncate", "append")))
    if mutation == "flip":
        for at in data.draw(st.lists(st.integers(0, spz.HEADER.size - 1), min_size=1,
                                     max_size=4)):
            payload[at] ^= data.draw(st.integers(1, 255))
    elif mutation == "truncate":
        del payload[data.draw(st.integers(0, len(payload) - 1)):]
    else:
        payload += data.draw(st.binary(min_size=1, max_size=64))
    container = data.draw(st.sampled_from(spz.CONTAINERS))
    wrapped = to_zstd(bytes(payload)) if container == "zstd" else gzip.compress(bytes(payload))
    try:
        packed, info = spz.read_bytes(wrapped, "mutated payload.spz")
    except SplatFormatError as e:
        one_line_naming(e, "mutated payload.spz")
        return
    table = spz.decode(packed)
    assert len(table) == info.count == packed.count
    assert info.container == container and info.version in (1, 2, 3)


# ---------------------------------------------------------------- 7. NaN
def test_nan_follows_the_x86_build():
    """What the codec does with NaN, the C++ library's undefined behaviour as its x86-64
    build gives it (a float-to-int cast of NaN is INT32_MIN, FACTS.md section 5):

    * NaN opacity: alpha byte 0, decoded -inf (the gaussian becomes invisible);
    * NaN position: fixed point INT32_MIN & 0xFFFFFF = 0, decoded 0.0 (other axes untouched);
    * NaN log scale: byte 0, decoded -10;
    * NaN f_dc: byte 0, decoded (0/255 - 0.5)/0.15 = -3.33;
    * NaN in any rotation component: the whole normalised quaternion is NaN, so bytes 0 for
      x, y and z, decoded (w, x, y, z) = (0, -1, -1, -1);
    * NaN f_rest: q = INT32_MIN, clamped to byte 0, decoded -1.
    """
    columns = synthetic(7, dim=3, seed=4)
    nan_at = {"opacity": 1, "y": 2, "scale_1": 3, "f_dc_2": 4, "rot_2": 5, "f_rest_4": 6}
    for name, row in nan_at.items():
        columns[name][row] = np.nan
    packed = spz.encode(columns)
    table = spz.decode(packed)
    clean = spz.decode(spz.encode(synthetic(7, dim=3, seed=4)))

    assert packed.alphas[1] == 0 and table["opacity"][1] == -np.inf
    assert packed.positions[2, 1].tolist() == [0, 0, 0]
    assert bits(table["y"][2:3]).tolist() == [0]  # +0.0
    assert table["x"][2] == clean["x"][2] and table["z"][2] == clean["z"][2]
    assert packed.scales[3, 1] == 0 and table["scale_1"][3] == np.float32(-10)
    assert packed.colors[4, 2] == 0 and table["f_dc_2"][4] == spz.COLOR_TABLE[0]
    assert packed.rotations[5].tolist() == [0, 0, 0]
    assert [float(table[f"rot_{i}"][5]) for i in range(4)] == [0.0, -1.0, -1.0, -1.0]
    assert packed.sh[6, 1, 1] == 0 and table["f_rest_4"][6] == np.float32(-1)  # j=1, c=1
    # every other value is what the same rows give without NaN
    untouched = np.ones(7, bool)
    untouched[list(nan_at.values())] = False
    for name in table.dtype.names:
        np.testing.assert_array_equal(bits(table[name][untouched]), bits(clean[name][untouched]))


# ---------------------------------------------------------------- 8. compiled path = reference
def _ties(grid: float, offset: float = 0.0) -> st.SearchStrategy[float]:
    """float32 values that land exactly on k + 0.5 once scaled by ``grid`` (after
    ``+ offset``), where C's round and numpy's differ."""
    return st.integers(-3000, 3000).map(lambda k: float(np.float32((k + 0.5) / grid - offset)))


_INT32_EDGE = float(2**31 / 4096)  # x * 4096 at the edge of the int32 cast
_ADVERSARIAL = st.one_of(
    _ANY_FLOAT32,                                        # NaN, +-inf, +-3.4e38
    st.floats(-2.0**-126, 2.0**-126, width=32),          # subnormals, +-0
    st.floats(-5000, 5000, width=32),                    # positions beyond +-2048 wrap
    st.floats(-12, 12, width=32),
    _ties(4096), _ties(128), _ties(16, 10), _ties(38.25), _ties(127.5),
    st.sampled_from([_INT32_EDGE, -_INT32_EDGE, float(np.nextafter(np.float32(_INT32_EDGE), 0)),
                     float(np.nextafter(np.float32(_INT32_EDGE), np.inf)),
                     float(np.nextafter(np.float32(-_INT32_EDGE), -np.inf)), 2048.0, -2048.0,
                     2047.9998, -10.0, 5.9375, 1.0, -1.0, 0.0, -0.0, 1e-45, np.nan, np.inf,
                     -np.inf]),
)


def adversarial_columns():
    return _columns(12, _ADVERSARIAL)


def _as_splat_table(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The same values as strided read-only views of one record array, as a Splat holds."""
    table = np.empty(len(columns["x"]), [(name, "<f4") for name in columns])
    for name, values in columns.items():
        table[name] = values
    table.flags.writeable = False
    return {name: table[name] for name in columns}


def assert_compiled_matches_reference(columns: dict[str, np.ndarray]) -> None:
    """encode = encode_reference byte for byte (payload, streams, both containers) for
    contiguous and strided columns; decode = decode_reference bit for bit."""
    if not numba_available():     # without the [fast] extra both are the reference
        pytest.skip("numba is not installed")
    reference = spz.encode_reference(columns)
    payload = reference.to_payload()
    for source in (columns, _as_splat_table(columns)):
        compiled = spz.encode(source)
        assert compiled.payload_buffer() is not None      # the compiled path, one buffer
        assert compiled.to_payload() == payload
        for stream in STREAMS:
            np.testing.assert_array_equal(getattr(compiled, stream), getattr(reference, stream),
                                          err_msg=stream)
    for container in spz.CONTAINERS:
        assert spz.to_bytes(compiled, container) == spz.to_bytes(reference, container)
    parsed = spz.parse_payload(payload)
    assert parsed.payload_buffer() is not None
    fast, slow = spz.decode(parsed), spz.decode_reference(parsed)
    assert fast.dtype == slow.dtype
    np.testing.assert_array_equal(bits(fast.view(np.float32)), bits(slow.view(np.float32)))


@HYPOTHESIS
@given(columns=adversarial_columns())
@pytest.mark.filterwarnings("error::RuntimeWarning")  # no overflow noise
def test_compiled_path_equals_the_reference(columns):
    assert_compiled_matches_reference(columns)


@pytest.mark.parametrize("dim", tuple(spz.SH_DIM.values()))
def test_compiled_path_equals_the_reference_in_bulk(dim):
    """20,000 rows a degree: normal values, 5% specials, 5% exact ties on every grid."""
    rng = np.random.default_rng(dim)
    specials = np.float32([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40, -1e-45, 3.4e38, 1e30,
                           2048, -2048, 3000, -2534.15, _INT32_EDGE, -_INT32_EDGE, 524287.97,
                           524288.06, 88.8, -104.0, -10.0, 5.9375, 5.97, -10.04, 3.3333])
    grids = np.float32([4096, 128, 16, 38.25, 127.5, 255])

    def column(scale: float) -> np.ndarray:
        values = (rng.standard_normal(20_000) * scale).astype(np.float32)
        special = rng.random(len(values)) < 0.05
        values[special] = rng.choice(specials, special.sum())
        tie = rng.random(len(values)) < 0.05
        values[tie] = ((rng.integers(-2000, 2000, tie.sum()) + np.float32(0.5))
                       / rng.choice(grids, tie.sum())).astype(np.float32)
        return values

    names = (*spz.ENCODED_PROPERTIES, *f_rest_names(3 * dim))
    assert_compiled_matches_reference(
        {name: column(500.0 if name in "xyz" else 4.0) for name in names})


@pytest.mark.parametrize("sh_degree", (0, 1, 2, 3))
@pytest.mark.parametrize("fractional_bits", (0, 12, 24))
def test_compiled_decode_of_every_byte(sh_degree, fractional_bits):
    """Row k holds byte k in every stream (and all 2**24 positions' edges): the tables and
    the fixed point, exhaustively, against the reference."""
    count = 256
    size = spz.payload_size(2, count, sh_degree) - spz.HEADER.size
    streams = np.empty(size, np.uint8)
    per_row = size // count
    streams.reshape(count, per_row)[:] = np.arange(count, dtype=np.uint8)[:, None]
    streams[:9 * count] = np.random.default_rng(sh_degree).integers(0, 256, 9 * count)
    streams[:9] = [0, 0, 0x80, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF]  # -2**23, 2**23 - 1, -1
    payload = spz.HEADER.pack(spz.MAGIC, 2, count, sh_degree, fractional_bits, 1, 0)
    parsed = spz.parse_payload(payload + streams.tobytes() + b"trailing bytes are ignored")
    fast, slow = spz.decode(parsed), spz.decode_reference(parsed)
    np.testing.assert_array_equal(bits(fast.view(np.float32)), bits(slow.view(np.float32)))
    assert fast["x"][0] == np.float32(-(2**23) / 2**fractional_bits)


@HYPOTHESIS
@given(data=st.data())
def test_compiled_decode_equals_the_reference_on_any_bytes(data):
    degree = data.draw(st.integers(0, 3))
    count = data.draw(st.integers(1, 16))
    size = spz.payload_size(2, count, degree) - spz.HEADER.size
    header = spz.HEADER.pack(spz.MAGIC, 2, count, degree, data.draw(st.integers(0, 24)),
                             data.draw(st.integers(0, 1)), 0)
    parsed = spz.parse_payload(header + data.draw(st.binary(min_size=size, max_size=size + 4)))
    fast, slow = spz.decode(parsed), spz.decode_reference(parsed)
    np.testing.assert_array_equal(bits(fast.view(np.float32)), bits(slow.view(np.float32)))


def test_streams_changed_by_hand_are_not_read_from_the_old_buffer():
    """A packed payload whose streams are no longer views of its buffer (replaced, or
    assembled by hand) is joined from its streams and decoded by the reference."""
    packed = spz.encode(synthetic(50, dim=3))
    alphas = np.zeros(50, np.uint8)
    changed = dataclasses.replace(packed, alphas=alphas)
    assert changed.payload_buffer() is None
    assert changed.to_payload() != packed.to_payload()
    assert spz.parse_payload(changed.to_payload()).alphas.tolist() == [0] * 50
    assert (spz.decode(changed)["opacity"] == -np.inf).all()
    by_hand = spz.SpzPacked(2, 1, 12, False, *(np.array(getattr(packed, s)) for s in STREAMS))
    assert by_hand.payload_buffer() is None
    assert by_hand.to_payload() == packed.to_payload()
    assert spz.decode(by_hand).tobytes() == spz.decode(packed).tobytes()
    for container in spz.CONTAINERS:
        assert spz.to_bytes(by_hand, container) == spz.to_bytes(packed, container)
    with pytest.raises(ValueError, match="same shape"):   # columns of unequal length
        spz.encode({**synthetic(3), "y": np.zeros(2, np.float32)})


def test_kernels_refuse_wrong_sizes():
    """The compiled loops check sizes themselves (numba does not bound-check)."""
    if not numba_available():
        pytest.skip("numba is not installed")
    from splatlab.core import spz_kernels

    zero = np.zeros(2, np.float32)
    no_sh = np.empty((2, 0), np.float32)
    with pytest.raises(ValueError, match="differ in length"):
        spz_kernels.quantize(zero, zero[:1], *[zero] * 12, no_sh, 0, 12,
                             np.empty(38, np.uint8))
    with pytest.raises(ValueError, match="streams buffer"):
        spz_kernels.quantize(*[zero] * 14, no_sh, 0, 12, np.empty(37, np.uint8))
    with pytest.raises(ValueError, match="f_rest"):
        spz_kernels.quantize(*[zero] * 14, no_sh, 1, 12, np.empty(44, np.uint8))
    tables = (spz.COLOR_TABLE, spz.ALPHA_TABLE, spz.SCALE_TABLE, spz.ROTATION_TABLE,
              spz.SH_TABLE)
    with pytest.raises(ValueError, match="fewer"):
        spz_kernels.dequantize(np.zeros(37, np.uint8), 2, 0, np.float32(1), *tables,
                               np.empty((2, 14), np.float32), 0, 2)
    with pytest.raises(ValueError, match="out is not"):
        spz_kernels.dequantize(np.zeros(38, np.uint8), 2, 0, np.float32(1), *tables,
                               np.empty((2, 15), np.float32), 0, 2)
    for start, stop in ((1, 0), (0, 3), (-1, 1)):
        with pytest.raises(ValueError, match="within"):
            spz_kernels.dequantize(np.zeros(38, np.uint8), 2, 0, np.float32(1), *tables,
                                   np.empty((2, 14), np.float32), start, stop)
        with pytest.raises(ValueError, match="within"):
            spz_kernels.dequantize_smallest_three(
                np.zeros(40, np.uint8), 2, 0, np.float32(1), *tables[:3], tables[4],
                np.empty((2, 14), np.float32), start, stop)


# ---------------------------------------------------------------- 9. decompression in one call
def _containers_of(payload: bytes) -> dict[str, bytes]:
    half = len(payload) // 2
    whole_gzip = gzip.compress(payload, mtime=0)
    return {
        "zstd, content size": to_zstd(payload),
        "zstd, no content size": zstandard.ZstdCompressor(write_content_size=False).compress(
            payload),
        "zstd, trailing bytes in the payload": to_zstd(payload + b"ignored"),
        "zstd, two frames": to_zstd(payload[:half]) + to_zstd(payload[half:]),
        "zstd, cut short": to_zstd(payload)[:half],
        "gzip": whole_gzip,
        "gzip, trailing bytes in the payload": gzip.compress(payload + b"ignored", mtime=0),
        "gzip, two members": gzip.compress(payload[:half]) + gzip.compress(payload[half:]),
        "gzip, header in two members": gzip.compress(payload[:5]) + gzip.compress(payload[5:]),
        "gzip, wrong CRC": whole_gzip[:-8] + bytes(4) + whole_gzip[-4:],
        "gzip, cut short": whole_gzip[:half],
    }


@pytest.mark.parametrize("case", list(_containers_of(b"")))
def test_one_call_decompression_equals_the_streaming_reader(case):
    """Whatever the container's shape, the bounded one-call path gives what the streaming
    reader gives: the payload, or the same refusal."""
    payload = _payload(3000, dim=8, seed=9)
    data = _containers_of(payload)[case]

    def outcome(read):
        try:
            return read(data, spz.detect_container(data), "x.spz")
        except SplatFormatError as e:
            return str(e)

    streamed = outcome(spz._stream_decompress)
    assert outcome(spz._bounded_decompress) == streamed
    assert streamed == payload or ("cut short" in case and isinstance(streamed, str))


@pytest.mark.parametrize("container", spz.CONTAINERS)
def test_whole_payloads_decompress_in_one_call(container, monkeypatch):
    """A frame declaring its payload's size (pyspz's) and a one-member gzip never reach the
    streaming reader."""
    data = spz.to_bytes(spz.encode(synthetic(5000, dim=3)), container)

    def refuse(*args):
        raise AssertionError("streaming reader used")

    monkeypatch.setattr(spz, "_stream_decompress", refuse)
    packed, info = spz.read_bytes(data)
    assert (info.container, packed.count) == (container, 5000)


# ---------------------------------------------------------------- 10. decoding while inflating
def _v3_payload(count: int, dim: int, seed: int) -> bytes:
    """A version-3 payload (smallest-three rotations), as Niantic's gzip container holds it."""
    streams = spz._with_smallest_three(spz.encode(synthetic(count, dim, seed)))
    return dataclasses.replace(streams, version=3, buffer=None).to_payload()


INFLATERS = {"isal": spz._inflater, "zlib": lambda: zlib}
"""python-isal where installed (skipped otherwise) and the standard library's fallback."""


@pytest.fixture(params=list(INFLATERS))
def inflater(request, monkeypatch):
    if request.param == "isal":
        pytest.importorskip("isal")
    monkeypatch.setattr(spz, "_inflater", INFLATERS[request.param])
    monkeypatch.setattr(spz, "_INFLATE_STEP", 997)   # many steps, rows split across them
    return request.param


@pytest.mark.parametrize("case", [*_containers_of(b""), "gzip, version 3"])
def test_decoding_while_inflating_equals_read_then_decode(case, inflater, tmp_path):
    """Whatever the container's shape and whichever inflate runs: the table of
    read_decoded is, bit for bit, decode(read(...)), or the same refusal."""
    payload = _payload(3000, dim=8, seed=9)
    data = (gzip.compress(_v3_payload(3000, 8, 9), mtime=0) if case == "gzip, version 3"
            else _containers_of(payload)[case])
    path = tmp_path / "case.spz"
    path.write_bytes(data)

    def outcome(read):
        try:
            table, info = read()
        except SplatFormatError as e:
            return str(e)
        return bits(table.view(np.float32)).tobytes(), table.dtype, info

    def read_then_decode():
        packed, info, _ = spz.read(path)
        return spz.decode(packed), info

    expected = outcome(read_then_decode)
    assert outcome(lambda: spz.read_decoded(path)[:2]) == expected
    assert isinstance(expected, str) == ("cut short" in case)
    # read() decides for a stream cut short, gzip members, a CRC the inflate checks, and
    # version 3 (its decode runs on numba's threads)
    in_one_go = not any(word in case for word in ("cut short", "two members", "CRC", "version 3"))
    assert (spz._decode_while_inflating(data, path) is not None) == in_one_go


def test_without_isal_the_standard_zlib_inflates(monkeypatch):
    """python-isal is optional: absent, the standard library's zlib inflates the same."""
    monkeypatch.setitem(sys.modules, "isal", None)    # import isal raises ImportError
    assert spz._inflater() is zlib
    data = spz.to_bytes(spz.encode(synthetic(2000, dim=3, seed=4)), "gzip")
    stdlib = spz._decode_while_inflating(data, "x.spz")[0]
    monkeypatch.delitem(sys.modules, "isal")
    if importlib.util.find_spec("isal") is not None:
        assert spz._inflater() is not zlib
    fast = spz._decode_while_inflating(data, "x.spz")[0]
    np.testing.assert_array_equal(bits(stdlib.view(np.float32)), bits(fast.view(np.float32)))


@pytest.mark.parametrize("version", (1, 4))
def test_other_versions_are_read_then_decoded(version, tmp_path):
    """Version 1 (float16 positions, the reference decode) and version 4 (its own streams)
    take read then decode (version 3: the case above)."""
    packed = spz.encode(synthetic(50, dim=3))
    data = (spz.to_streams_bytes(packed) if version == 4 else gzip.compress(
        spz.HEADER.pack(spz.MAGIC, 1, 50, 1, 12, 0, 0) + bytes(spz.payload_size(1, 50, 1) - 16)))
    assert spz._decode_while_inflating(data, "x.spz") is None
    path = tmp_path / "v.spz"
    path.write_bytes(data)
    table, info, kept = spz.read_decoded(path)
    assert (info.version, len(table), kept.tobytes()) == (version, 50, data)


@pytest.mark.parametrize("container", spz.CONTAINERS)
def test_spz_is_read_in_place_and_saved_over_itself(container, tmp_path):
    """The file is memory-mapped (inflated in place, not copied first); an unchanged Splat
    saved over its own file writes the same bytes."""
    path = tmp_path / "scene.spz"
    path.write_bytes(spz.to_bytes(spz.encode(synthetic(300, dim=3)), container))
    before = path.read_bytes()
    splat = splatlab.load(path)
    assert isinstance(splat.provenance.raw.encoded, np.memmap)
    assert spz_bytes(splat, container) == before
    splatlab.save(splat, path, overwrite=True, container=container)
    assert path.read_bytes() == before
