"""The field's other formats (issue 12): every reference file against its reference decode,
detection by content, one-line refusals of bad and unsupported files, writers read back.

Reference files and decodes: ``../shared/fixtures/formats/`` (splat-transform 3.10.2 and
gaussforge wrote them; ``decoded/NAME.ply`` is splat-transform's decode of NAME, row for row
in stored order). Tolerances, per field, and why:

* compressed PLY, SOG, ``.splat``, ``.ksplat``: we do splat-transform's arithmetic (float64
  from the stored numbers, one rounding to float32), so every field is bit-equal; we allow
  1 float32 step where the value goes through ``log`` or ``exp`` (opacity, SOG positions,
  ``.splat`` and ``.ksplat`` log scales), since JavaScript's and numpy's ``log`` may differ
  in their last float64 bit, which can move the float32 rounding. Observed: 0.
* SPZ (versions 3 and 4): we decode as the C++ library (pyspz) does, in float32, where
  splat-transform computes in float64; fields agree within 2 float32 steps of the field's
  largest magnitude (observed: 2.4e-7 for f_dc around 3.3). Opacity bytes 0 and 255 differ
  in meaning: we give -inf/+inf (the C++ library's log(0) and log(1/0)), splat-transform
  clamps to logit(1e-6) = -13.8155 and +13.8155: those rows are checked to be exactly those.
"""

from __future__ import annotations

import json
import os
import struct
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import plyfile
import pytest

import splatlab
from splatlab import SplatFormatError, data
from splatlab.core import compressed_ply, dotsplat, ksplat, sog, spz
from splatlab.core.io import FORMATS, detect_format, format_for_name, load, save

FIXTURES = Path(os.environ.get("SPLATLAB_FIXTURES",
                               Path(__file__).resolve().parents[2] / "shared" / "fixtures"))
"""``../shared/fixtures`` as in tests/conftest.py; tests that need it skip when it is absent."""
FORMATS_DIR = FIXTURES / "formats"
REFERENCES = {
    "hamburger.compressed.ply": "compressed PLY", "sample_sh3.compressed.ply": "compressed PLY",
    "hamburger.sog": "SOG v2 (zip)", "sample_sh3.sog": "SOG v2 (zip)",
    "hamburger.spz": "SPZ v4 (zstd streams)", "sample_sh3.spz": "SPZ v4 (zstd streams)",
    "hamburger.v3.spz": "SPZ v3 (gzip)", "sample_sh3.v3.spz": "SPZ v3 (gzip)",
    "hamburger.splat": ".splat", "hamburger.ksplat": ".ksplat",
}
LOG_FIELDS = {"opacity", "scale_0", "scale_1", "scale_2", "x", "y", "z"}
SAMPLES = {"sample.compressed.ply": "compressed-ply", "sample.sog": "sog", "sample.spz": "spz",
           "sample.splat": "splat", "sample.ksplat": "ksplat", "trellis.ply": "ply",
           "trellis.spz": "spz"}


def fixture(name: str) -> Path:
    path = FORMATS_DIR / name
    if not path.exists():
        pytest.skip(f"fixture {path} absent")
    return path


def reference(name: str) -> np.ndarray:
    return plyfile.PlyData.read(fixture(f"decoded/{name}.ply"))["vertex"].data


def refused(path: Path, *words: str) -> str:
    """Load ``path``, expect one SplatFormatError line naming it and ``words``."""
    with pytest.raises(SplatFormatError) as caught:
        load(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message, message
    for word in words:
        assert word in message, message
    return message


def steps(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """|ours - theirs| in float32 steps at the larger magnitude of each pair."""
    a, b = ours.astype(np.float64), theirs.astype(np.float64)
    scale = np.spacing(np.maximum(np.abs(a), np.abs(b)).astype(np.float32)).astype(np.float64)
    return np.abs(a - b) / scale


# ---------------------------------------------------------------- 1. reference decodes
@pytest.mark.parametrize("name", [n for n in REFERENCES if "spz" not in n])
def test_splat_transform_arithmetic(name):
    splat = load(fixture(name))
    theirs = reference(name)
    assert splat.provenance.format.label == REFERENCES[name] + ", quantised"
    assert splat.count == len(theirs)
    assert set(splat.properties) == set(theirs.dtype.names)
    for field in theirs.dtype.names:
        ours, ref = splat.column(field), theirs[field]
        assert np.array_equal(np.isposinf(ours), np.isposinf(ref)), field
        assert np.array_equal(np.isneginf(ours), np.isneginf(ref)), field
        finite = np.isfinite(ref)
        allowed = 1 if field in LOG_FIELDS else 0
        assert steps(ours[finite], ref[finite]).max(initial=0) <= allowed, field


def test_compressed_ply_keeps_saturated_opacity():
    """Alpha byte 255 is +inf in the reference decode (gsply clamps it to 10): kept."""
    splat = load(fixture("hamburger.compressed.ply"))
    assert (splat.opacity == np.inf).sum() == (reference("hamburger.compressed.ply")["opacity"]
                                               == np.inf).sum() > 0


@pytest.mark.parametrize("name", [n for n in REFERENCES if "spz" in n])
def test_spz_against_splat_transform(name):
    splat = load(fixture(name))
    theirs = reference(name)
    assert splat.provenance.format.label == REFERENCES[name] + ", quantised"
    assert splat.count == len(theirs) and set(splat.properties) == set(theirs.dtype.names)
    for field in theirs.dtype.names:
        ours, ref = splat.column(field).astype(np.float64), theirs[field].astype(np.float64)
        finite = np.isfinite(ours)
        tolerance = 2 * float(np.spacing(np.float32(np.abs(ref).max())))
        assert np.abs(ours[finite] - ref[finite]).max() <= tolerance, field
        if field != "opacity":
            assert finite.all(), field
    ours, ref = splat.opacity, theirs["opacity"]
    assert (ours == np.inf).any()
    assert (ref[ours == np.inf] == np.float32(13.81551)).all()
    assert (ref[ours == -np.inf] == np.float32(-13.81551)).all()


@pytest.mark.parametrize("stem", ["hamburger", "sample_sh3"])
def test_sog_folder_and_meta_json_equal_the_bundle(stem):
    bundle = load(fixture(f"{stem}.sog"))
    for path in (fixture(f"{stem}-sog-unbundled"), fixture(f"{stem}-sog-unbundled/meta.json")):
        unbundled = load(path)
        assert unbundled.provenance.format.label == "SOG v2 (folder), quantised"
        for name in bundle.properties:
            np.testing.assert_array_equal(unbundled.column(name), bundle.column(name))


def test_v4_streams_equal_the_v3_payload():
    """splat-transform wrote the same streams in both containers: the same values."""
    v4, v3 = load(fixture("sample_sh3.spz")), load(fixture("sample_sh3.v3.spz"))
    for name in v3.properties:
        np.testing.assert_array_equal(v4.column(name), v3.column(name))


def bits(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, np.float32).view(np.uint32)


def assert_same_bits(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype.names == b.dtype.names
    for name in a.dtype.names:
        np.testing.assert_array_equal(bits(a[name]), bits(b[name]), err_msg=name)


@pytest.mark.parametrize("name", ["hamburger.compressed.ply", "sample_sh3.compressed.ply"])
def test_compressed_ply_kernel_is_the_reference(name):
    data = fixture(name).read_bytes()
    table = compressed_ply.decode_bytes(data)
    end = data.index(b"end_header\n") + len(b"end_header\n")
    header = compressed_ply.parse_header(data[:end])
    rest = compressed_ply.check_header(header)
    chunk, vertex = header.elements[0], header.elements[1]
    chunks = np.frombuffer(data, chunk.dtype("<"), chunk.count, end)
    words = np.frombuffer(data, "<u4", 4 * vertex.count, end + chunks.nbytes).reshape(-1, 4)
    sh = np.frombuffer(data, np.uint8, rest * vertex.count,
                       end + chunks.nbytes + words.nbytes).reshape(vertex.count, rest)
    assert_same_bits(table, compressed_ply.decode_reference(chunks, words, sh))


@pytest.mark.parametrize("name", ["hamburger.sog", "sample_sh3.sog"])
def test_sog_kernel_is_the_reference(name):
    path = fixture(name)
    source = sog._Source(path)
    meta = sog.read_meta_only(path)
    pixels = sog.read_pixels(source, meta)
    source.close()
    assert_same_bits(sog.decode(pixels, meta), sog.decode_reference(pixels, meta))


@pytest.mark.parametrize("name", ["hamburger.spz", "sample_sh3.spz", "hamburger.v3.spz",
                                  "sample_sh3.v3.spz"])
def test_smallest_three_kernel_is_the_reference(name):
    packed, info, _ = spz.read(fixture(name))
    assert packed.payload_buffer() is not None        # the compiled loop decodes it
    assert_same_bits(spz.decode(packed), spz.decode_reference(packed))


def test_v4_writer_round_trip():
    columns = columns_of(data.inria_sample(300))
    packed = spz.encode(columns)
    back = spz.parse_streams(spz.to_streams_bytes(packed))
    v2, v4 = spz.decode(packed), spz.decode(back)
    for name in v2.dtype.names:
        if not name.startswith("rot_"):
            np.testing.assert_array_equal(bits(v4[name]), bits(v2[name]), err_msg=name)
    quats = np.stack([v4[f"rot_{i}"] for i in range(4)], axis=1)
    again = np.stack([v2[f"rot_{i}"] for i in range(4)], axis=1)
    again *= np.sign((again * quats).sum(axis=1, keepdims=True))
    assert np.abs(quats - again).max() < 2e-3          # 9 bits over sqrt(1/2)


# ---------------------------------------------------------------- 2. detection
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_detects_every_sample(name):
    assert detect_format(data.path(name)) == SAMPLES[name]
    assert load(data.path(name)).is_gaussian


def test_reference_files_detected_without_their_names(tmp_path):
    for name, kind in (("hamburger.compressed.ply", "compressed-ply"), ("hamburger.sog", "sog"),
                       ("hamburger.spz", "spz"), ("hamburger.splat", "splat"),
                       ("hamburger.ksplat", "ksplat")):
        anonymous = tmp_path / f"{kind}.bin"
        anonymous.write_bytes(fixture(name).read_bytes())
        assert detect_format(anonymous) == kind


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


UNSUPPORTED = {
    "model.glb": (b"glTF\x02\x00\x00\x00" + bytes(64), "glTF binary"),
    "scene.vox": (b"VOX \x96\x00\x00\x00MAIN" + bytes(40), "MagicaVoxel"),
    "lod-meta.json": (json.dumps({"lodLevels": 4, "filenames": ["0.sog"]}).encode(),
                      "LOD manifest"),
    "scene.voxel.json": (json.dumps({"version": "1.1", "voxelResolution": 0.05,
                                     "treeDepth": 6}).encode(), "voxel octree"),
    "notes.json": (b'{"hello": "world"}', "a JSON text"),
    "image.png": (b"\x89PNG\r\n\x1a\n" + bytes(40), "PNG image"),
    "image.webp": (b"RIFF\x24\x00\x00\x00WEBPVP8L" + bytes(40), "WebP image"),
    "scene.gltf": (json.dumps({"asset": {"version": "2.0"}, "accessors": []}).encode(), "glTF"),
}


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_known_unsupported_kinds_named(tmp_path, name):
    content, what = UNSUPPORTED[name]
    path = tmp_path / name
    path.write_bytes(content)
    message = refused(path, what, "not a 3DGS splat file splatlab reads")
    assert message.startswith(f"{path}: ")


def test_zip_without_meta_json(tmp_path):
    refused(_zip(tmp_path / "x.zip", {"a.txt": b"hi"}), "zip archive without meta.json")


def test_zip_with_a_lod_manifest(tmp_path):
    path = _zip(tmp_path / "x.sog", {"meta.json": json.dumps({"lodLevels": 2}).encode()})
    refused(path, "zip archive", "LOD manifest")


def test_folder_without_meta_json(tmp_path):
    refused(tmp_path, "folder")


def test_random_bytes_are_not_a_splat(tmp_path):
    path = tmp_path / "noise.bin"
    path.write_bytes(np.random.default_rng(0).bytes(32 * 1000))
    refused(path, "not a PLY, SPZ, SOG, .splat or .ksplat file")
    (tmp_path / "text.txt").write_bytes(b"x" * 64)
    refused(tmp_path / "text.txt", "not a PLY")


@pytest.mark.filterwarnings("ignore:.*trailing bytes")   # one chunk row fewer declared
def test_compressed_ply_is_never_a_point_cloud(tmp_path):
    """A PLY with the compressed layout's marks is that layout, or refused."""
    good = data.path("sample.compressed.ply").read_bytes()
    assert load(data.path("sample.compressed.ply")).provenance.format.name == "compressed-ply"
    wrong_count = good.replace(b"element chunk 8\n", b"element chunk 7\n", 1)
    (tmp_path / "a.ply").write_bytes(wrong_count)
    refused(tmp_path / "a.ply", "compressed PLY", "chunks")
    no_chunks = good.replace(b"property uint packed_color", b"property uint packed_colour", 1)
    (tmp_path / "b.ply").write_bytes(no_chunks)
    refused(tmp_path / "b.ply", "compressed PLY")


# ---------------------------------------------------------------- 3. bad files, one line each
def _truncations(content: bytes) -> list[bytes]:
    return [content[:n] for n in sorted({1, 16, 31, 33, len(content) // 2, len(content) - 1})
            if 0 < n < len(content)]


@pytest.mark.parametrize("name", ["sample.compressed.ply", "sample.sog", "sample.spz",
                                  "sample.ksplat"])
def test_truncated_files_refused(tmp_path, name):
    content = data.path(name).read_bytes()
    for i, part in enumerate(_truncations(content)):
        path = tmp_path / f"{i}-{name}"
        path.write_bytes(part)
        refused(path)


def test_truncated_splat_not_taken_for_one(tmp_path):
    content = data.path("sample.splat").read_bytes()
    path = tmp_path / "cut.splat"
    path.write_bytes(content[:-5])
    refused(path)


def test_truncated_sog_folder_image(tmp_path):
    for name, content in sog.encode(columns_of(data.inria_sample(300))).items():
        (tmp_path / name).write_bytes(content[: len(content) // 2] if name == "quats.webp"
                                      else content)
    refused(tmp_path, "quats.webp")


def columns_of(splat) -> dict[str, np.ndarray]:
    return {name: splat.column(name) for name in splat.properties}


def _peak_mib(path: Path) -> float:
    tracemalloc.start()
    try:
        with pytest.raises(SplatFormatError):
            load(path)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_declared_counts_allocate_nothing(tmp_path):
    """Huge declared counts are refused from the sizes, before any allocation."""
    v4 = bytearray(data.path("sample.spz").read_bytes())
    struct.pack_into("<I", v4, 8, 9_999_999)
    (tmp_path / "a.spz").write_bytes(v4)
    ks = bytearray(data.path("sample.ksplat").read_bytes())
    struct.pack_into("<I", ks, 16, 4_000_000_000)
    struct.pack_into("<I", ks, ksplat.MAIN_HEADER, 4_000_000_000)
    (tmp_path / "a.ksplat").write_bytes(ks)
    cp = data.path("sample.compressed.ply").read_bytes().replace(
        b"element vertex 2048\n", b"element vertex 2000000000\n").replace(
        b"element chunk 8\n", b"element chunk 7812500\n").replace(
        b"element sh 2048\n", b"element sh 2000000000\n")
    (tmp_path / "a.compressed.ply").write_bytes(cp)
    files = sog.encode(columns_of(data.inria_sample(100)))
    meta = json.loads(files["meta.json"])
    meta["count"] = 90_000_000
    files["meta.json"] = json.dumps(meta).encode()
    (tmp_path / "a.sog").write_bytes(sog.bundle(files))
    for name in ("a.spz", "a.ksplat", "a.compressed.ply", "a.sog"):
        assert _peak_mib(tmp_path / name) < 64, name


def test_corrupt_values_refused(tmp_path):
    v4 = bytearray(data.path("sample.spz").read_bytes())
    v4[spz.STREAMS_HEADER.size + 16 * 6 + 4: spz.STREAMS_HEADER.size + 16 * 6 + 40] = bytes(36)
    (tmp_path / "zero.spz").write_bytes(v4)
    refused(tmp_path / "zero.spz", "zstd")
    meta = dict(json.loads(sog.encode(columns_of(data.inria_sample(50)))["meta.json"]))
    meta["version"] = 7
    path = _zip(tmp_path / "v7.sog", {"meta.json": json.dumps(meta).encode()})
    refused(path, "SOG version 7")
    meta["version"], meta["scales"]["codebook"] = 2, [1.0, 2.0]
    path = _zip(tmp_path / "book.sog", {"meta.json": json.dumps(meta).encode()})
    refused(path, "codebook")
    meta["scales"]["codebook"], meta["means"]["files"] = [0.0] * 256, ["../etc.webp", "b"]
    path = _zip(tmp_path / "escape.sog", {"meta.json": json.dumps(meta).encode()})
    refused(path, "outside")


# ---------------------------------------------------------------- 4. writers
def _quantisation_steps(decoded, source, rows):
    """Per field, the largest error in units of the writer's step for that field."""
    return {name: np.abs(decoded.column(name).astype(np.float64)
                         - source.column(name)[rows].astype(np.float64)).max()
            for name in decoded.properties}


@pytest.mark.parametrize("order", ["keep", "morton"])
def test_compressed_ply_round_trip(tmp_path, order):
    source = data.inria_sample(3000)
    out = save(source, tmp_path / "x.compressed.ply", order=order)
    assert format_for_name(out) == "compressed-ply" and detect_format(out) == "compressed-ply"
    back = load(out)
    rows = (np.arange(source.count) if order == "keep"
            else compressed_ply.morton_order(source.positions))
    assert back.count == source.count and back.sh_degree == 3
    chunk = rows.reshape(-1)[: (source.count // 256) * 256].reshape(-1, 256)
    for axis, name in enumerate("xyz"):  # half a step of the chunk's range at 11 or 10 bits
        values = source.column(name)[chunk].astype(np.float64)
        step = (values.max(axis=1) - values.min(axis=1)) / (2047 if axis != 1 else 1023)
        error = np.abs(back.column(name)[: chunk.size].reshape(-1, 256) - values)
        assert (error <= step[:, None] / 2 + 1e-6).all(), name
    errors = _quantisation_steps(back, source, rows)
    assert errors["f_rest_0"] <= 8 / 256          # one SH byte
    assert errors["opacity"] < 0.1 or not np.isfinite(errors["opacity"])
    unit = source.quats[rows] / np.linalg.norm(source.quats[rows], axis=1, keepdims=True)
    unit *= np.sign((unit * back.quats).sum(axis=1, keepdims=True))   # q and -q are one
    assert np.abs(back.quats - unit).max() < 2 ** 0.5 / 1023    # a 10-bit step of smallest-three
    assert max(errors[f"scale_{i}"] for i in range(3)) < 0.01


def test_compressed_ply_unchanged_keeps_its_bytes(tmp_path):
    original = fixture("sample_sh3.compressed.ply")
    out = save(load(original), tmp_path / "same.compressed.ply")
    assert out.read_bytes() == original.read_bytes()


def test_compressed_ply_is_read_in_place_and_saved_over_itself(tmp_path):
    """The file is memory-mapped, not copied, and the Splat keeps the mapping for an
    unchanged save: saved over its own file it is detached first, and the bytes stay."""
    path = tmp_path / "scene.compressed.ply"
    path.write_bytes(fixture("sample_sh3.compressed.ply").read_bytes())
    splat = load(path)
    assert isinstance(splat.provenance.raw.encoded, np.memmap)
    assert isinstance(splat.detached().provenance.raw.encoded, bytes)
    before = path.read_bytes()
    save(splat, path, overwrite=True)
    assert path.read_bytes() == before
    table, mapped = compressed_ply.read_mapped(path)
    np.testing.assert_array_equal(table.view(np.uint32), splat.table.view(np.uint32))
    assert mapped.tobytes() == before


def test_gsply_reads_our_compressed_ply(tmp_path):
    gsply = pytest.importorskip("gsply")
    source = data.inria_sample(1000)
    out = save(source, tmp_path / "ours.compressed.ply")
    theirs, ours = gsply.plyread(out), load(out)
    np.testing.assert_allclose(theirs.means, ours.positions, atol=1e-6)
    np.testing.assert_allclose(theirs.scales, ours.log_scales, atol=1e-5)
    np.testing.assert_allclose(theirs.quats, ours.quats, atol=1e-6)
    np.testing.assert_allclose(theirs.sh0, ours.sh_dc, atol=1e-5)
    finite = np.abs(ours.opacity) < 10     # gsply clamps opacity to [-10, 10]
    np.testing.assert_allclose(theirs.opacities[finite], ours.opacity[finite], atol=1e-5)
    np.testing.assert_allclose(theirs.shN.reshape(len(ours.opacity), -1),
                               ours.sh_rest.reshape(len(ours.opacity), -1), atol=1e-6)


def test_we_read_gsplys_compressed_ply(tmp_path):
    gsply = pytest.importorskip("gsply")
    source = data.inria_sample(700)
    gs = gsply.GSData.from_arrays(means=source.positions, scales=source.log_scales,
                                  quats=source.quats, opacities=source.opacity,
                                  sh0=source.sh_dc, shN=source.sh_rest, format="ply")
    gsply.plywrite(tmp_path / "theirs.compressed.ply", gs, compressed=True)
    ours, theirs = load(tmp_path / "theirs.compressed.ply"), gsply.plyread(
        tmp_path / "theirs.compressed.ply")
    assert ours.provenance.format.name == "compressed-ply"
    np.testing.assert_allclose(ours.positions, theirs.means, atol=1e-6)
    np.testing.assert_allclose(ours.quats, theirs.quats, atol=1e-6)


def test_splat_round_trip(tmp_path):
    source = data.inria_sample(500)
    out = save(source, tmp_path / "x.splat")
    back = load(out)
    assert back.provenance.format.name == "splat" and back.properties[-4:] == [
        "rot_0", "rot_1", "rot_2", "rot_3"]
    np.testing.assert_array_equal(back.positions, source.positions)
    np.testing.assert_allclose(back.log_scales, source.log_scales, atol=1e-6)
    colour = 0.5 + 0.28209479177387814 * source.sh_dc
    inside = ((colour > 0) & (colour < 1)).all(axis=1)
    np.testing.assert_allclose(back.sh_dc[inside], source.sh_dc[inside],
                               atol=0.5 / 255 / 0.28209479177387814 + 1e-6)
    unit = source.quats / np.linalg.norm(source.quats, axis=1, keepdims=True)
    unit *= np.sign((unit * back.quats).sum(axis=1, keepdims=True))
    assert np.abs(back.quats - unit).max() < 0.02    # a byte step of 1/128, then renormalised
    assert save(back, tmp_path / "again.splat").read_bytes() == out.read_bytes()


@pytest.mark.parametrize("kind", FORMATS)
def test_convert_to_every_writable_format(tmp_path, kind, capsys):
    from splatlab.cli.main import main

    source = fixture("sample_sh3.sog")
    target = tmp_path / f"out.{kind}"
    assert main(["convert", str(source), str(target), "--to", kind]) == 0
    assert detect_format(target) == kind
    assert load(target).count == 8192


def test_save_refuses_what_a_format_cannot_hold(tmp_path):
    points = load(data.path("points.ply"))
    with pytest.raises(SplatFormatError, match="cannot write compressed PLY"):
        save(points, tmp_path / "p.compressed.ply")
    with pytest.raises(SplatFormatError, match="cannot write .splat"):
        save(splatlab.Splat.from_arrays({n: np.zeros(0, np.float32) for n in
                                         dotsplat.ENCODED_PROPERTIES}), tmp_path / "e.splat")


def test_samples_decode_close_to_their_source():
    """The sample writers (SOG, .ksplat, SPZ v4) and readers agree on what they hold."""
    source = data.inria_sample()
    for name, tolerance in (("sample.sog", 0.05), ("sample.ksplat", 1e-6),
                            ("sample.spz", 2e-3)):
        back = load(data.path(name))
        np.testing.assert_allclose(back.positions, source.positions, atol=tolerance,
                                   err_msg=name)


# ---------------------------------------------------------------- 5. the verbs name the format
def test_info_stats_diagnose_name_the_format(capsys):
    from splatlab.cli.main import main

    paths = [str(data.path(n)) for n in ("sample.compressed.ply", "sample.sog", "sample.spz",
                                         "sample.splat", "sample.ksplat")]
    assert main(["info", *paths]) == 0
    out = capsys.readouterr().out
    for label in ("compressed PLY, quantised", "SOG v2 (zip), quantised",
                  "SPZ version 4 (zstd streams, 12 fractional bits, quantised)",
                  ".splat, quantised", ".ksplat, quantised"):
        assert label in out, out
    main(["stats", paths[0]])
    assert "values quantised from compressed PLY" in capsys.readouterr().out
    main(["stats", "--json", paths[1]])
    record = json.loads(capsys.readouterr().out)
    assert record["format"] == "sog" and record["quantised"] is True
    main(["diagnose", "--json", paths[3]])
    report = json.loads(capsys.readouterr().out.splitlines()[0])
    codes = [f["code"] for f in report["findings"]]
    assert "SL040" in codes
    main(["diagnose", "--json", str(data.path("trellis.ply"))])
    assert "SL040" not in capsys.readouterr().out


def test_ksplat_bucketed_modes(tmp_path):
    """Compression modes 1 and 2 (16-bit positions in buckets, float16 values, SH as float16
    or bytes over the header's range), built by hand: 3 rows, a full bucket of 2 and a
    partial bucket of 1, SH degree 1."""
    centres = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 0.5]], np.float32)
    q_range, block = 32767, 2.0
    stored = np.array([[32767, 0, 65535], [40000, 30000, 32767], [0, 65535, 100]], np.uint16)
    expected = ((stored.astype(np.float64) - q_range) * (block / 2 / q_range)
                + centres[[0, 0, 1]].astype(np.float64))
    for mode, sh_type in ((1, "<f2"), (2, "u1")):
        sh = (np.arange(27, dtype=np.float16).reshape(3, 9) / 10 if mode == 1
              else np.arange(27, dtype=np.uint8).reshape(3, 9) * 9)
        rows = np.zeros(3, [("position", "<u2", 3), ("scale", "<f2", 3),
                            ("rotation", "<f2", 4), ("rgba", "u1", 4), ("sh", sh_type, 9)])
        rows["position"], rows["scale"] = stored, [[0.5, 1.0, 2.0]] * 3
        rows["rotation"], rows["rgba"], rows["sh"] = [[1, 0, 0, 0]] * 3, [[255, 0, 128, 0]] * 3, sh
        main = bytearray(ksplat.MAIN_HEADER)
        struct.pack_into("<BBHIIIIH", main, 0, 0, 1, 0, 1, 3, 1, 3, mode)
        struct.pack_into("<ff", main, 36, -2.0, 2.0)
        section = bytearray(ksplat.SECTION_HEADER)
        ksplat._SECTION.pack_into(section, 0, 3, 3, 2, 2, block, 12, q_range, 1, 1, 1)
        path = tmp_path / f"mode{mode}.ksplat"
        path.write_bytes(bytes(main) + bytes(section) + struct.pack("<I", 1)
                         + centres.tobytes() + rows.tobytes())
        splat = load(path)
        assert splat.provenance.format.name == "ksplat" and splat.sh_degree == 1
        np.testing.assert_array_equal(splat.positions, expected.astype(np.float32))
        np.testing.assert_allclose(splat.log_scales[0], np.log([0.5, 1.0, 2.0]), rtol=1e-6)
        assert splat.opacity[0] == np.float32(np.log(1e-6 / (1 - 1e-6)))   # byte 0, clamped
        values = sh.astype(np.float64) if mode == 1 else -2.0 + sh / 255 * 4.0
        # band 1 is stored channel-major (r0 r1 r2 g0 ...), as f_rest_0..8 are
        np.testing.assert_allclose(np.stack([splat.column(f"f_rest_{i}") for i in range(9)], 1),
                                   values, rtol=1e-6)


def test_a_splat_may_start_like_json_or_gzip(tmp_path):
    """.splat has no magic: its first byte is the low byte of a float, '{' or 0x1f as well."""
    rows = np.frombuffer(data.path("sample.splat").read_bytes(), dotsplat.RECORD).copy()
    for first in (b"{", b"[", b"\x1f\x8b", b"PK"):
        raw = bytearray(rows.tobytes())
        raw[:len(first)] = first
        path = tmp_path / f"{first[0]}.splat"
        path.write_bytes(bytes(raw))
        assert detect_format(path) == "splat", first


@pytest.mark.parametrize("name", ["scene.sog", "scene.ksplat", "meta.json", "SCENE.SOG"])
def test_names_of_formats_read_but_not_written_are_refused(tmp_path, name, capsys):
    from splatlab.cli import main

    with pytest.raises(SplatFormatError, match="reads .* but does not write it"):
        save(data.trellis_like(), tmp_path / name)
    source = save(data.trellis_like(), tmp_path / "in.ply")
    assert main(["convert", str(source), str(tmp_path / name)]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and name in error and "does not write" in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.ply"]     # nothing written
    out = save(data.trellis_like(), tmp_path / name, format="ply")     # asked for: written
    assert detect_format(out) == "ply"
