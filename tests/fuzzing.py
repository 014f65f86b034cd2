"""A fuzzer of every splatlab verb on hostile files (issue 15): seeds, mutators, an oracle.

Not a test module (pytest collects ``test_*.py`` only): ``tests/test_fuzz.py`` runs it for a
bounded time on every submission and replays ``tests/fuzz_cases/``; run it for hours with
``python tests/fuzzing.py --seconds 3600`` (see ``docs/reliability.md``).

* **Seeds** (:func:`seeds`): 2,000 rows of ``../shared/fixtures/hamburger.ply`` (little- and
  big-endian binary, ASCII), ``../shared/fixtures/spz/*.spz`` (the real library's bytes) and
  hamburger as SPZ in both containers, when the fixtures are there (``SPLATLAB_FIXTURES``);
  always synthetic files from :mod:`splatlab.data` / :mod:`splatlab.synth`: TRELLIS and INRIA
  layouts, mixed property types, other elements before and after ``vertex``, SPZ of SH
  degree 0 and 3 in both containers. The field's other formats (compressed PLY, SOG, SPZ
  version 4, ``.splat``, ``.ksplat``): the reference files of ``fixtures/formats`` when
  there, and always synthetic ones from splatlab's writers; only the byte-level mutators
  (truncation, trailing bytes, byte damage) apply to them.
* **Mutators** (:data:`MUTATORS`): PLY headers (counts, types, names, line ends, white space,
  comments, obj_info, elements, magic, format and end_header lines, truncation, bit flips),
  PLY bodies (special floats injected, whole columns of extreme values, bit flips,
  truncation, trailing bytes, ASCII tokens), SPZ payload header fields, payload truncation
  and bit flips, container corruption and swaps, and byte-level damage of any file.
* **The oracle** (:func:`check`): every public verb in-process (load, stats exact and
  histogram, diagnose, gate on both paths, repair.auto, diff against the unmutated seed,
  save to PLY, SPZ, compressed PLY and ``.splat``, submission_problems), and one case in
  :data:`CLI_EVERY` through the command line. A case fails on any exception other than
  splatlab's own refusals, a message that is not one line naming the file, more than
  :data:`CASE_SECONDS`, a peak memory above :data:`PEAK_BYTES`, a temporary file left
  behind, or a wrong number (statistics against
  a float64 reference, values against an independent parse of the bytes, byte-identical
  rewrites, diff counts).

Example:
    >>> report = run(seconds=None, seed=0, cases=3)          # doctest: +SKIP
    >>> report.cases, report.failures                          # doctest: +SKIP
    (3, [])
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import os
import re
import shutil
import signal
import struct
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

FIXTURES = Path(os.environ.get("SPLATLAB_FIXTURES",
                               Path(__file__).resolve().parents[2] / "shared" / "fixtures"))
"""``../shared/fixtures`` beside the checkout; ``SPLATLAB_FIXTURES`` points elsewhere."""
SEED_ROWS = 2_000
"""Rows taken from the real file: small, so that a case takes some 50 ms."""
CASE_SECONDS = 10.0
"""CPU seconds one verb (or one command line) of a case may take; a case still running
after six times this on the wall clock is stopped."""
CLI_EVERY = 8
"""One case in this many also goes through the command line."""
PEAK_BYTES = 2 * 1024 ** 3
"""A case that takes the process's peak resident memory above this fails (2 GiB)."""
U = 2.0 ** -53
"""The unit roundoff of float64."""

PLY_TYPES = ("char", "uchar", "short", "ushort", "int", "uint", "float", "double", "int8",
             "uint8", "int16", "uint16", "int32", "uint32", "float32", "float64")
BAD_TYPES = ("half", "float16", "int64", "string", "list uchar float", "list uchar", "bool", "")
NAMES = ("alpha", "scale_max", "anisotropy", "volume", "quat_norm", "linear_scale_0",
         "linear_scale_2", "positions", "quats", "sh_dc", "log_scales", "normals", "sh_rest",
         "scales", "rgb", "opacity", "x", "rot_0", "scale_1", "f_rest_0", "f_rest_44",
         "f_rest_45", "nx", "vertex", "end_header", "property", "element", "a-b", "_",
         "count", "index", "field", "mean")
COUNTS = ("0", "-0", "+0", "-1", "1", "2", "00", "007", "+5", "1e3", "0x10", "1.5", "",
          "2147483648", "4294967297", "9223372036854775808", "18446744073709551617",
          "1000000000000000000000000000000", "10485760", "10485761", "10000001", "7000",
          "٣")
SPECIAL32 = (0x7FC00000, 0xFFC00000, 0x7FC00001, 0x7F800001, 0x7F800000, 0xFF800000,
             0x00000001, 0x80000001, 0x007FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF,
             0x80000000, 0x3F800000, 0x1, 0x4B800000)
"""float32 bit patterns: NaNs (quiet, negative, payload, signalling), +-inf, the smallest
subnormals, the largest subnormal, the smallest normal, +-max, -0.0, 1.0, 2**24."""
SPECIAL64 = (0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000001,
             0x7FF0000000000000, 0xFFF0000000000000, 0x1, 0x8000000000000001,
             0x000FFFFFFFFFFFFF, 0x0010000000000000, 0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF,
             0x8000000000000000, 0x47EFFFFFE0000000, 0x36A0000000000000, 0x5FE0000000000000)
"""float64 bit patterns: NaNs, +-inf, subnormals, +-max, -0.0, float32's max, 2**-149,
2**511 (its square overflows)."""
EXTREMES = (-1.401298464324817e-45, 1.401298464324817e-45, 3.4028234663852886e38,
            -3.4028234663852886e38, 1.1754943508222875e-38, 0.0, -0.0, 1e20, -1e20,
            16777216.0, 1.0, -9.210240364074707)
"""Finite float32 values for whole-column mutations (the std issue: -1e-45 and 3.4e38)."""
ASCII_TOKENS = (b"nan", b"NaN", b"-nan", b"inf", b"-inf", b"Infinity", b"-Infinity",
                b"1e999", b"-1e999", b"1e-999", b"1e-45", b"3.4028235e38", b"3.5e38",
                b"-0", b"+1", b"0x1p3", b"1_0", b"+-1", b"--1", b"1.0.0", b".", b"e",
                b"1e", b"\xff", b"\xc3\xa9", b"\x00", b"1\x0b2", b"1,5", b"9" * 400,
                b"-9223372036854775809", b"256", b"-129", b"65536", b"4294967296")


# ================================================================================= seeds
@dataclass(frozen=True)
class Element:
    """An element of a PLY header: name, count and property lines (type, name)."""

    name: str
    count: int
    properties: tuple[tuple[str, str], ...]

    def dtype(self, order: str) -> np.dtype | None:
        if any(t.startswith("list") for t, _ in self.properties):
            return None
        return np.dtype([(n, order + _CODES[t]) for t, n in self.properties])


_CODES = {"char": "i1", "uchar": "u1", "short": "i2", "ushort": "u2", "int": "i4",
          "uint": "u4", "float": "f4", "double": "f8", "int8": "i1", "uint8": "u1",
          "int16": "i2", "uint16": "u2", "int32": "i4", "uint32": "u4", "float32": "f4",
          "float64": "f8"}


@dataclass(frozen=True)
class PlyParts:
    """An independent parse of a well-formed PLY (a seed): header lines, body offset,
    elements. Independent of :mod:`splatlab.core.ply`, so that values can be checked."""

    lines: tuple[bytes, ...]          # header lines, LF removed, end_header included
    format: str
    elements: tuple[Element, ...]
    body: int                          # offset of the first byte after the header

    @property
    def order(self) -> str:
        return {"binary_little_endian": "<", "binary_big_endian": ">"}.get(self.format, "=")

    @property
    def vertex(self) -> Element:
        return next(e for e in self.elements if e.name == "vertex")

    @property
    def vertex_offset(self) -> int:
        """Offset of the vertex table of a binary file."""
        at = self.body
        for e in self.elements:
            if e.name == "vertex":
                return at
            at += e.count * e.dtype(self.order).itemsize
        raise AssertionError("no vertex element")

    def line_of(self, predicate: Callable[[bytes], bool]) -> list[int]:
        return [i for i, line in enumerate(self.lines) if predicate(line)]


def parse_ply(data: bytes) -> PlyParts:
    """Parse a seed's header (LF line ends, one space between words)."""
    end = data.index(b"\nend_header\n") + len(b"\nend_header\n")
    lines = tuple(data[:end - 1].split(b"\n"))
    fmt, elements, current = "", [], None
    for line in lines:
        words = line.decode().split()
        if words[:1] == ["format"]:
            fmt = words[1]
        elif words[:1] == ["element"]:
            current = [words[1], int(words[2]), []]
            elements.append(current)
        elif words[:1] == ["property"]:
            current[2].append((" ".join(words[1:-1]), words[-1]))
    return PlyParts(lines, fmt, tuple(Element(n, c, tuple(p)) for n, c, p in elements), end)


@dataclass(frozen=True)
class Seed:
    """A well-formed file the mutators start from."""

    name: str
    data: bytes
    format: str = ""
    """The format of a seed that is neither a plain PLY nor a zstd/gzip SPZ (one of
    ``splatlab.core.io.READS``, ``"spz"`` for version 4): only the byte-level mutators apply."""

    @property
    def kind(self) -> str:
        if self.format:
            return self.format
        return "ply" if self.data.startswith(b"ply") else "spz"

    @property
    def layout(self) -> str:
        if self.format:
            return self.format
        if self.kind == "ply":
            return self.ply.format
        return "zstd" if self.data.startswith(b"\x28\xb5\x2f\xfd") else "gzip"

    @property
    def ply(self) -> PlyParts:
        return _parse_cached(self.data)

    @property
    def payload(self) -> bytes:
        return _payload_cached(self.data)

    @property
    def suffix(self) -> str:
        return SUFFIXES.get(self.kind, ".spz")


SUFFIXES = {"ply": ".ply", "spz": ".spz", "compressed-ply": ".compressed.ply", "sog": ".sog",
            "splat": ".splat", "ksplat": ".ksplat", "spz-v4": ".spz"}
"""The file name ending of a seed of each kind (detection goes by content all the same)."""


@cache
def _parse_cached(data: bytes) -> PlyParts:
    return parse_ply(data)


@cache
def _payload_cached(data: bytes) -> bytes:
    if data.startswith(b"\x1f\x8b"):
        return gzip.decompress(data)
    import zstandard

    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def _ply_bytes(splat, byte_order: str | None = None) -> bytes:
    """The PLY splatlab writes for ``splat`` (``byte_order`` rebuilds it: "<", ">", "=")."""
    import splatlab

    if byte_order is not None:
        splat = splatlab.Splat.from_arrays({n: np.asarray(splat.column(n))
                                            for n in splat.properties}, byte_order=byte_order)
    with tempfile.TemporaryDirectory() as folder:
        return splatlab.save(splat, Path(folder) / "seed.ply").read_bytes()


def _spz_bytes(splat, container: str) -> bytes:
    from splatlab.core.io import spz_bytes

    return spz_bytes(splat, container)


def _mixed_types(count: int) -> object:
    """A point cloud of every PLY scalar type (with 3DGS names on some of them)."""
    import splatlab

    rng = np.random.default_rng(7)
    base = splatlab.data.trellis_like(count, seed=3)
    columns = {n: np.asarray(base.column(n)) for n in base.properties}
    columns["x"] = columns["x"].astype(np.float64)
    columns["opacity"] = columns["opacity"].astype(np.float64)
    columns.update(red=rng.integers(0, 256, count).astype(np.uint8),
                   label=rng.integers(-128, 128, count).astype(np.int8),
                   seg=rng.integers(-2**15, 2**15, count).astype(np.int16),
                   part=rng.integers(0, 2**16, count).astype(np.uint16),
                   idx=np.arange(count, dtype=np.int32), key=np.arange(count, dtype=np.uint32))
    return splatlab.Splat.from_arrays(columns)


def _with_elements(ply: bytes) -> bytes:
    """``ply`` (binary little-endian) with a fixed-size element before ``vertex`` and a face
    list after it."""
    parts = parse_ply(ply)
    lines = list(parts.lines)
    at = next(i for i, ln in enumerate(lines) if ln.startswith(b"element vertex"))
    lines[at:at] = [b"element camera 2", b"property float fx", b"property float fy"]
    lines[-1:-1] = [b"element face 3", b"property list uchar int vertex_indices"]
    camera = np.array([[1, 2], [3, 4]], "<f4").tobytes()
    faces = b"".join(struct.pack("<B3i", 3, i, i + 1, i + 2) for i in range(3))
    return b"\n".join(lines) + b"\n" + camera + ply[parts.body:] + faces


def _ascii_with_tail(splat) -> bytes:
    data = _ply_bytes(splat, "=")
    parts = parse_ply(data)
    lines = list(parts.lines)
    lines[-1:-1] = [b"element face 2", b"property list uchar int vertex_indices"]
    return b"\n".join(lines) + b"\n" + data[parts.body:] + b"3 0 1 2\n3 1 2 3\n"


def _spz_version_1(splat) -> bytes:
    """A Niantic version-1 SPZ (float16 positions) of ``splat``, gzip: built by hand from
    the version-2 streams, since no writer of version 1 is left."""
    from dataclasses import replace

    from splatlab.core import spz

    packed = spz.encode({n: splat.column(n) for n in splat.properties})
    positions = np.asarray(splat.positions, np.float16).view(np.uint8).reshape(-1, 3, 2)
    old = replace(packed, version=1, positions=positions, buffer=None)
    return spz.to_bytes(old, "gzip")


def _ksplat_head(data: bytes, rows: int) -> bytes:
    """The first ``rows`` of a one-section, mode-0 ``.ksplat`` (the reference file's own
    bytes, counts patched), or the whole file when it is not that layout."""
    from splatlab.core import ksplat

    main, section = ksplat.MAIN_HEADER, ksplat.SECTION_HEADER
    count, mode = struct.unpack_from("<I", data, 16)[0], struct.unpack_from("<H", data, 20)[0]
    sections, degree = struct.unpack_from("<I", data, 4)[0], data[main + 40]
    if sections != 1 or mode != 0 or degree != 0 or count <= rows:
        return data
    out = bytearray(data[:main + section])
    for at in (8, 16, main, main + 4, main + 8):
        struct.pack_into("<I", out, at, rows)
    return bytes(out) + data[main + section:main + section + 44 * rows]


def _other_format_seeds() -> list[Seed]:
    """Seeds of compressed PLY, SOG, SPZ version 4, ``.splat`` and ``.ksplat``: the reference
    files of ``../shared/fixtures/formats`` when there (the small SH-3 ones whole, the first
    rows of hamburger's row formats), and always synthetic ones from splatlab's writers."""
    from splatlab.core import compressed_ply, dotsplat, ksplat, sog, spz
    from splatlab.world import synth

    out = []
    folder = FIXTURES / "formats"
    for name, kind in (("sample_sh3.compressed.ply", "compressed-ply"),
                       ("sample_sh3.sog", "sog"), ("sample_sh3.spz", "spz-v4")):
        if (folder / name).exists():
            out.append(Seed(f"ref-{name}", (folder / name).read_bytes(), kind))
    if (folder / "hamburger.splat").exists():
        out.append(Seed("ref-hamburger.splat",
                        (folder / "hamburger.splat").read_bytes()[:32 * SEED_ROWS], "splat"))
    if (folder / "hamburger.ksplat").exists():
        out.append(Seed("ref-hamburger.ksplat",
                        _ksplat_head((folder / "hamburger.ksplat").read_bytes(), SEED_ROWS),
                        "ksplat"))
    inria = synth.inria(512, seed=4, sh_degree=3)
    columns = {n: inria.column(n) for n in inria.properties}
    out += [Seed("inria-compressed-ply", compressed_ply.encode(columns), "compressed-ply"),
            Seed("inria-sog", sog.bundle(sog.encode(columns)), "sog"),
            Seed("inria-spz-v4", spz.to_streams_bytes(spz.encode(columns)), "spz-v4"),
            Seed("inria-splat", dotsplat.encode(columns), "splat"),
            Seed("inria-ksplat", ksplat.encode(columns), "ksplat")]
    return out


@cache
def seeds() -> tuple[Seed, ...]:
    """The files the mutators start from (real ones when the fixtures are there)."""
    import splatlab
    from splatlab.world import synth

    out = []
    hamburger = FIXTURES / "hamburger.ply"
    if hamburger.exists():
        head = splatlab.load(hamburger).take(np.arange(SEED_ROWS))
        out += [Seed("hamburger-le", _ply_bytes(head)),
                Seed("hamburger-be", _ply_bytes(head, ">")),
                Seed("hamburger-ascii", _ply_bytes(head.take(np.arange(300)), "="))]
    spz_folder = FIXTURES / "spz"
    for path in sorted(spz_folder.glob("*.spz")) if spz_folder.is_dir() else []:
        if path.stat().st_size > 200_000:      # hamburger.spz: its first rows, both containers
            head = splatlab.load(path).take(np.arange(SEED_ROWS))
            out += [Seed(f"{path.stem}-spz-zstd", _spz_bytes(head, "zstd")),
                    Seed(f"{path.stem}-spz-gzip", _spz_bytes(head, "gzip"))]
        else:
            out.append(Seed(f"{path.stem}-spz", path.read_bytes()))
    version_3 = FIXTURES / "formats" / "sample_sh3.v3.spz"   # Niantic's own version 3
    if version_3.exists():
        out.append(Seed("sample_sh3-v3-gzip", version_3.read_bytes()))
    trellis = splatlab.data.trellis_like(2048, seed=1)
    inria = synth.inria(512, seed=2, sh_degree=3)
    out += [Seed("trellis-le", _ply_bytes(trellis)),
            Seed("trellis-be", _ply_bytes(trellis, ">")),
            Seed("trellis-ascii", _ply_bytes(trellis.take(np.arange(256)), "=")),
            Seed("inria-sh3", _ply_bytes(inria)),
            Seed("mixed-types", _ply_bytes(_mixed_types(1024))),
            Seed("mixed-types-be", _ply_bytes(_mixed_types(256), ">")),
            Seed("mixed-types-ascii", _ply_bytes(_mixed_types(64), "=")),
            Seed("elements", _with_elements(_ply_bytes(trellis.take(np.arange(512))))),
            Seed("ascii-elements", _ascii_with_tail(trellis.take(np.arange(64)))),
            Seed("points", _ply_bytes(splatlab.Splat.from_arrays(
                {k: np.linspace(-1, 1, 100, dtype=np.float32) for k in "xyz"}))),
            Seed("trellis-spz-zstd", _spz_bytes(trellis, "zstd")),
            Seed("trellis-spz-gzip", _spz_bytes(trellis, "gzip")),
            Seed("inria-spz-zstd", _spz_bytes(inria, "zstd")),
            Seed("inria-spz-gzip", _spz_bytes(inria, "gzip")),
            Seed("trellis-spz-v1-gzip", _spz_version_1(trellis.take(np.arange(256)))),
            *_other_format_seeds()]
    return tuple(out)


# ============================================================================== mutators
@dataclass
class Mutation:
    """A mutated file: what was done, its bytes, and what the oracle may expect of it.

    ``values`` (property -> float64 array) are the vertex values an intact layout must load
    as (an independent parse of the mutated bytes); ``spz_values`` likewise for an SPZ
    payload (decoded by the numpy reference codec).
    """

    description: str
    data: bytes
    values: dict[str, np.ndarray] | None = None
    spz_values: np.ndarray | None = None


Mutator = Callable[[np.random.Generator, Seed], Mutation | None]


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _with_lines(seed: Seed, lines: list[bytes], newline: bytes = b"\n",
                body: bytes | None = None) -> bytes:
    return newline.join(lines) + newline + (seed.data[seed.ply.body:] if body is None else body)


def _property_lines(parts: PlyParts) -> list[int]:
    return parts.line_of(lambda ln: ln.startswith(b"property"))


def _vertex_property_lines(parts: PlyParts) -> list[int]:
    start = parts.line_of(lambda ln: ln.startswith(b"element vertex"))[0]
    out = []
    for i in range(start + 1, len(parts.lines)):
        if not parts.lines[i].startswith(b"property"):
            break
        out.append(i)
    return out


def m_count(rng, seed: Seed) -> Mutation | None:
    if seed.kind != "ply":
        return None
    lines = list(seed.ply.lines)
    at = seed.ply.line_of(lambda ln: ln.startswith(b"element"))
    i = _pick(rng, at)
    words = lines[i].split(b" ")
    count = _pick(rng, COUNTS).encode()
    if rng.random() < 0.3:
        n = int(words[2])
        count = str(max(0, n + int(rng.integers(-3, 4)))).encode()
    lines[i] = b" ".join([*words[:2], count])
    return Mutation(f"count of {words[1].decode()} -> {count!r}", _with_lines(seed, lines))


def m_rows(rng, seed: Seed) -> Mutation | None:
    """Fewer rows with the count and the body both right: 0, 1, 2, 7 or 31 rows."""
    if seed.kind != "ply" or seed.ply.format == "ascii" or len(seed.ply.elements) != 1:
        return None
    keep = int(_pick(rng, (0, 1, 2, 7, 31, 32)))
    parts = seed.ply
    lines = list(parts.lines)
    i = parts.line_of(lambda ln: ln.startswith(b"element vertex"))[0]
    lines[i] = b"element vertex %d" % keep
    size = parts.vertex.dtype(parts.order).itemsize
    body = seed.data[parts.body:parts.body + keep * size]
    values = _binary_values(lines, body, parts)
    return Mutation(f"{keep} rows", _with_lines(seed, lines, body=body), values=values)


def _binary_values(lines: list[bytes], body: bytes, parts: PlyParts) -> dict[str, np.ndarray]:
    """The vertex columns of a single-element binary file, parsed with numpy alone."""
    count = int(next(ln for ln in lines if ln.startswith(b"element vertex")).split()[2])
    table = np.frombuffer(body, parts.vertex.dtype(parts.order), count)
    return {n: table[n].astype(np.float64) for n in table.dtype.names}


def m_type(rng, seed: Seed) -> Mutation | None:
    if seed.kind != "ply":
        return None
    lines = list(seed.ply.lines)
    i = _pick(rng, _property_lines(seed.ply))
    words = lines[i].split(b" ")
    new = _pick(rng, PLY_TYPES if rng.random() < 0.7 else BAD_TYPES).encode()
    lines[i] = b" ".join([b"property", *([new] if new else []), words[-1]])
    return Mutation(f"type of {words[-1].decode()} -> {new.decode()!r}",
                    _with_lines(seed, lines))


def m_name(rng, seed: Seed) -> Mutation | None:
    if seed.kind != "ply":
        return None
    lines = list(seed.ply.lines)
    i = _pick(rng, _vertex_property_lines(seed.ply))
    words = lines[i].split(b" ")
    roll = rng.random()
    if roll < 0.8:
        new = _pick(rng, NAMES).encode()
    elif roll < 0.9:
        new = _pick(rng, (b"\xc3\xa9", b"x y", b"\xff", b"\x00", b""))
    else:  # the name of another property: a duplicate
        other = lines[_pick(rng, _vertex_property_lines(seed.ply))].split(b" ")[-1]
        new = other
    lines[i] = b" ".join([*words[:-1], new]) if new else b" ".join(words[:-1])
    values = None
    if (seed.ply.format != "ascii" and len(seed.ply.elements) == 1 and re.fullmatch(
            rb"[a-z_0-9]+", new) and new not in {ln.split(b" ")[-1] for ln in seed.ply.lines}
            and new not in (b"vertex", b"end_header", b"property", b"element")):
        values = _binary_values(list(seed.ply.lines), seed.data[seed.ply.body:], seed.ply)
        values[new.decode()] = values.pop(words[-1].decode())
    return Mutation(f"property {words[-1].decode()} renamed {new!r}", _with_lines(seed, lines),
                    values=values)


def m_drop_or_add_property(rng, seed: Seed) -> Mutation | None:
    if seed.kind != "ply":
        return None
    lines = list(seed.ply.lines)
    props = _vertex_property_lines(seed.ply)
    i = _pick(rng, props)
    if rng.random() < 0.5:
        gone = lines.pop(i)
        return Mutation(f"dropped {gone.decode()!r}", _with_lines(seed, lines))
    new = b"property %s %s" % (_pick(rng, PLY_TYPES).encode(), _pick(rng, NAMES).encode())
    lines.insert(int(rng.integers(props[0], props[-1] + 2)), new)
    return Mutation(f"added {new.decode()!r}", _with_lines(seed, lines))


def m_newline(rng, seed: Seed) -> Mutation | None:
    if seed.kind != "ply":
        return None
    lines = list(seed.ply.lines)
    newline = _pick(rng, (b"\r", b"\r\n", b"\n\r", b"\n\n"))
    body = seed.data[seed.ply.body:]
    if rng.random() < 0.3:  # one line only
        i = int(rng.integers(len(lines) - 1))
        lines[i] += newline.replace(b"\n", b"", 1) if newline != b"\n\n" else b"\n"
        return Mutation(f"line {i + 1} ends {newline!r}", _with_lines(seed, lines))
    if seed.ply.format == "ascii" and rng.random() < 0.5:
        body = body.replace(b"\n", newline)
        return Mutation(f"header and body lines end {newline!r}",
                        _with_lines(seed, lines, newline, body))
    values = None
    if newline in (b"\r", b"\r\n") and seed.ply.format != "ascii" and len(
            seed.ply.elements) == 1:
        values = _binary_values(lines, body, seed.ply)
    return Mutation(f"header lines end {newline!r}", _with_lines(seed, lines, newline),
                    values=values)


def m_whitespace(rng, seed: Seed) -> Mutation | None:
    if seed.kind != "ply":
        return None
    lines = list(seed.ply.lines)
    i = int(rng.integers(len(lines)))
    how = _pick(rng, ("lead", "trail", "double", "tab", "trail-end"))
    if how == "lead":
        lines[i] = _pick(rng, (b" ", b"\t", b"  ")) + lines[i]
    elif how == "trail":
        lines[i] += _pick(rng, (b" ", b"\t", b" \t "))
    elif how == "double":
        lines[i] = lines[i].replace(b" ", b"  ")
    elif how == "tab":
        lines[i] = lines[i].replace(b" ", b"\t")
    else:
        lines[-1] += b" "
    return Mutation(f"white space ({how}) on line {i + 1}", _with_lines(seed, lines))


def m_comment(rng, seed: Seed) -> Mutation | None:
    if seed.kind != "ply":
        return None
    lines = list(seed.ply.lines)
    text = _pick(rng, (b"comment made by hand", b"comment", b"obj_info hello",
                       b"obj_info", b"comment end_header", b"comment element vertex 5",
                       b"comment " + b"x" * 5000, b"comment \xc3\xa9", b"comment \x1b[31m",
                       b"COMMENT upper"))
    at = int(rng.integers(1, len(lines)))
    lines.insert(at, text)
    values = None
    if (seed.ply.format != "ascii" and len(seed.ply.elements) == 1 and at >= 2
            and text.isascii() and not text.startswith(b"COMMENT") and b"\x1b" not in text):
        values = _binary_values(lines, seed.data[seed.ply.body:], seed.ply)
    return Mutation(f"{text[:30]!r} at line {at + 1}", _with_lines(seed, lines),
                    values=values)


def m_element(rng, seed: Seed) -> Mutation | None:
    if seed.kind != "ply":
        return None
    parts = seed.ply
    lines = list(parts.lines)
    body = seed.data[parts.body:]
    vertex = parts.line_of(lambda ln: ln.startswith(b"element vertex"))[0]
    how = _pick(rng, ("after", "after-list", "before", "before-list", "empty", "twice",
                      "no-properties", "vertex-list"))
    if how == "after":
        lines[-1:-1] = [b"element extra 3", b"property uchar a", b"property short b"]
        body += bytes(range(9))[: int(_pick(rng, (9, 9, 4, 0)))] + b"\x00" * int(
            rng.integers(0, 3))
    elif how == "after-list":
        lines[-1:-1] = [b"element face 2", b"property list uchar int vertex_indices"]
        body += b"\x03" + bytes(12) + b"\x01" + bytes(2)
    elif how == "before":
        lines[vertex:vertex] = [b"element camera 1", b"property double f"]
        body = struct.pack("<d", 1.5)[: int(_pick(rng, (8, 8, 3)))] + body
    elif how == "before-list":
        lines[vertex:vertex] = [b"element face 1", b"property list uchar int vertex_indices"]
        body = b"\x01" + bytes(4) + body
    elif how == "empty":
        lines[-1:-1] = [b"element nothing 0", b"property float q"]
    elif how == "twice":
        lines[-1:-1] = [lines[vertex], *lines[vertex + 1:vertex + 3]]
    elif how == "no-properties":
        lines[-1:-1] = [b"element bare 4"]
    else:
        lines.insert(vertex + 1, b"property list uchar float coeffs")
    return Mutation(f"element {how}", _with_lines(seed, lines, body=body))


def m_header_lines(rng, seed: Seed) -> Mutation | None:
    """The magic, format and end_header lines."""
    if seed.kind != "ply":
        return None
    lines = list(seed.ply.lines)
    fmt = seed.ply.line_of(lambda ln: ln.startswith(b"format"))[0]
    how = _pick(rng, ("magic", "format", "format-version", "format-twice", "no-format",
                      "end", "no-end", "end-twice", "swap-order", "no-element"))
    if how == "magic":
        lines[0] = _pick(rng, (b"PLY", b"ply ", b" ply", b"ply\x00", b"plyx", b"ply\r"))
    elif how == "format":
        lines[fmt] = b"format " + _pick(rng, (b"ascii", b"binary_big_endian",
                                               b"binary_little_endian", b"binary_middle_endian",
                                               b"", b"binary")) + b" 1.0"
    elif how == "format-version":
        lines[fmt] = lines[fmt].rsplit(b" ", 1)[0] + b" " + _pick(rng, (b"2.0", b"1", b"", b"x"))
    elif how == "format-twice":
        lines.insert(fmt, b"format ascii 1.0")
    elif how == "no-format":
        lines.pop(fmt)
    elif how == "end":
        lines[-1] = _pick(rng, (b"end_header ", b"END_HEADER", b"end_headers", b"end"))
    elif how == "no-end":
        lines.pop()
    elif how == "end-twice":
        lines.append(b"end_header")
    elif how == "swap-order":
        i = int(rng.integers(1, len(lines) - 2))
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
    else:
        lines = [ln for ln in lines if not ln.startswith(b"element")]
    return Mutation(f"header {how}", _with_lines(seed, lines))


def m_truncate(rng, seed: Seed) -> Mutation | None:
    """Cut the file: in the header, in the body, or at a row boundary."""
    data = seed.data
    if seed.kind == "ply" and rng.random() < 0.4:
        cut = int(rng.integers(0, seed.ply.body + 1))
        return Mutation(f"cut in the header at byte {cut}", data[:cut])
    cut = int(rng.integers(0, len(data)))
    if seed.kind == "ply" and seed.ply.format != "ascii" and rng.random() < 0.3:
        size = seed.ply.vertex.dtype(seed.ply.order).itemsize
        cut = seed.ply.vertex_offset + size * int(rng.integers(0, seed.ply.vertex.count))
    return Mutation(f"cut at byte {cut} of {len(data)}", data[:cut])


def m_append(rng, seed: Seed) -> Mutation | None:
    tail = _pick(rng, (b"\x00", b"\n", b"\x00" * 64, b"garbage", seed.data[:100],
                       bytes(rng.integers(0, 256, 37, dtype=np.uint8))))
    values = None
    if seed.kind == "ply" and seed.ply.format != "ascii" and len(seed.ply.elements) == 1:
        values = _binary_values(list(seed.ply.lines), seed.data[seed.ply.body:], seed.ply)
    return Mutation(f"{len(tail)} trailing bytes", seed.data + tail, values=values)


def _flip(rng, data: bytes, start: int, stop: int, flips: int) -> tuple[bytes, list[int]]:
    out = bytearray(data)
    where = []
    for _ in range(flips):
        if stop <= start:
            break
        at = int(rng.integers(start, stop))
        out[at] ^= 1 << int(rng.integers(8))
        where.append(at)
    return bytes(out), where


def m_bitflip_header(rng, seed: Seed) -> Mutation | None:
    if seed.kind != "ply":
        return None
    data, where = _flip(rng, seed.data, 0, seed.ply.body, int(rng.integers(1, 4)))
    return Mutation(f"bits flipped in the header at {where}", data)


def m_bitflip_body(rng, seed: Seed) -> Mutation | None:
    if seed.kind != "ply":
        return None
    parts = seed.ply
    flips = int(_pick(rng, (1, 2, 8, 64)))
    if parts.format == "ascii" or len(parts.elements) != 1:
        data, where = _flip(rng, seed.data, parts.body, len(seed.data), flips)
        return Mutation(f"{flips} bits flipped in the body", data)
    size = parts.vertex.dtype(parts.order).itemsize
    # exponent bits of floats most of the time: values jump to huge, tiny, inf or NaN
    out = bytearray(seed.data)
    for _ in range(flips):
        row = int(rng.integers(parts.vertex.count))
        at = parts.body + row * size + int(rng.integers(size))
        bit = int(rng.integers(8)) if rng.random() < 0.5 else int(_pick(rng, (6, 7)))
        out[at] ^= 1 << bit
    data = bytes(out)
    values = _binary_values(list(parts.lines), data[parts.body:], parts)
    return Mutation(f"{flips} bits flipped in the vertex rows", data, values=values)


def _float_fields(parts: PlyParts) -> list[tuple[str, str]]:
    return [(n, t) for t, n in parts.vertex.properties
            if _CODES.get(t) in ("f4", "f8")]


def m_special(rng, seed: Seed) -> Mutation | None:
    """Inject NaN, +-inf, subnormals, +-max, -0.0 into cells of float columns."""
    if seed.kind != "ply" or len(seed.ply.elements) != 1:
        return None
    parts = seed.ply
    fields = _float_fields(parts)
    if not fields or parts.vertex.count == 0:
        return None
    k = int(_pick(rng, (1, 2, 5, 20, 200)))
    if parts.format == "ascii":
        return _special_ascii(rng, seed, fields, k)
    dtype = parts.vertex.dtype(parts.order)
    table = np.frombuffer(seed.data, dtype, parts.vertex.count, parts.body).copy()
    for _ in range(k):
        name, kind = _pick(rng, fields)
        row = int(rng.integers(parts.vertex.count))
        pool, code = (SPECIAL32, "u4") if _CODES[kind] == "f4" else (SPECIAL64, "u8")
        bits = np.array([_pick(rng, pool)], parts.order + code)
        table[name][row] = bits.view(dtype[name])[0]
    data = seed.data[:parts.body] + table.tobytes()
    values = _binary_values(list(parts.lines), data[parts.body:], parts)
    return Mutation(f"{k} special values injected", data, values=values)


def _special_ascii(rng, seed: Seed, fields, k: int) -> Mutation:
    parts = seed.ply
    rows = seed.data[parts.body:].split(b"\n")
    names = [n for _, n in parts.vertex.properties]
    for _ in range(k):
        name, kind = _pick(rng, fields)
        row = int(rng.integers(parts.vertex.count))
        tokens = rows[row].split(b" ")
        tokens[names.index(name)] = _pick(rng, (b"nan", b"inf", b"-inf", b"1e-45", b"-1e-45",
                                                b"3.4028235e38", b"-3.4028235e38", b"1e999",
                                                b"-0.0", b"1.1754944e-38", b"NaN", b"-inf"))
        rows[row] = b" ".join(tokens)
    data = seed.data[:parts.body] + b"\n".join(rows)
    values = {}
    grid = [r.split(b" ") for r in rows[:parts.vertex.count]]
    for j, (kind, name) in enumerate(parts.vertex.properties):
        column = np.array([float(r[j]) for r in grid], np.float64)
        values[name] = column.astype(_CODES[kind]).astype(np.float64)
    return Mutation(f"{k} special tokens injected", data, values=values)


def m_column(rng, seed: Seed) -> Mutation | None:
    """Whole columns of extreme finite values (or a mix of two or three of them)."""
    if seed.kind != "ply" or len(seed.ply.elements) != 1 or seed.ply.format == "ascii":
        return None
    parts = seed.ply
    fields = _float_fields(parts)
    if not fields or parts.vertex.count == 0:
        return None
    dtype = parts.vertex.dtype(parts.order)
    table = np.frombuffer(seed.data, dtype, parts.vertex.count, parts.body).copy()
    chosen = []
    for _ in range(int(_pick(rng, (1, 1, 3, 6)))):
        name, _kind = _pick(rng, fields)
        pool = EXTREMES if rng.random() < 0.8 else (np.nan, np.inf, -np.inf)  # none finite
        mix = np.array([_pick(rng, pool) for _ in range(int(rng.integers(1, 4)))])
        table[name] = rng.choice(mix, parts.vertex.count)
        chosen.append(f"{name}={mix.tolist()}")
    if rng.random() < 0.2 and all(n in dtype.names for n in ("x", "y", "z")):
        for n in ("x", "y", "z"):               # collapsed positions: the scene has no extent
            table[n] = 0.5
        chosen.append("x=y=z=0.5")
    data = seed.data[:parts.body] + table.tobytes()
    values = _binary_values(list(parts.lines), data[parts.body:], parts)
    return Mutation(f"columns {'; '.join(chosen)}", data, values=values)


def m_ascii_token(rng, seed: Seed) -> Mutation | None:
    if seed.kind != "ply" or seed.ply.format != "ascii":
        return None
    parts = seed.ply
    rows = seed.data[parts.body:].split(b"\n")
    row = int(rng.integers(max(1, parts.vertex.count)))
    tokens = rows[row].split(b" ")
    how = _pick(rng, ("token", "token", "extra", "missing", "blank", "tabs", "join",
                      "spaces"))
    if how == "token":
        tokens[int(rng.integers(len(tokens)))] = _pick(rng, ASCII_TOKENS)
    elif how == "extra":
        tokens.append(b"1")
    elif how == "missing":
        tokens.pop()
    elif how == "tabs":
        tokens = [b"\t".join(tokens)]
    elif how == "spaces":
        tokens = [b"  " + b"   ".join(tokens) + b" "]
    rows[row] = b" ".join(tokens)
    if how == "blank":
        rows.insert(row, b"")
    elif how == "join" and row + 1 < len(rows):
        rows[row:row + 2] = [rows[row] + b" " + rows[row + 1]]
    return Mutation(f"ASCII row {row}: {how}", seed.data[:parts.body] + b"\n".join(rows))


def m_property_tokens(rng, seed: Seed) -> Mutation | None:
    """Property and element lines with a word too many or too few, or odd words."""
    if seed.kind != "ply":
        return None
    lines = list(seed.ply.lines)
    i = _pick(rng, seed.ply.line_of(lambda ln: ln.startswith((b"property", b"element"))))
    words = lines[i].split(b" ")
    how = _pick(rng, ("extra", "missing", "only-keyword", "upper", "plus-count", "list"))
    if how == "extra":
        words.append(b"extra")
    elif how == "missing":
        words.pop()
    elif how == "only-keyword":
        words = words[:1]
    elif how == "upper":
        words[0] = words[0].upper()
    elif how == "plus-count" and words[0] == b"element":
        words[-1] = b"+" + words[-1]
    else:
        words[1:1] = [b"list", _pick(rng, (b"uchar", b"int", b"float", b"uint"))]
    lines[i] = b" ".join(words)
    return Mutation(f"line {i + 1}: {how}", _with_lines(seed, lines))


def m_wide(rng, seed: Seed) -> Mutation | None:
    """A file of many properties (hundreds to thousands) and few rows."""
    width = int(_pick(rng, (100, 1000, 5000)))  # test_hostile times 16,000
    rows = int(_pick(rng, (1, 3, 40)))
    names = [f"p{j}" for j in range(width)]
    if rng.random() < 0.5:   # with the 3DGS properties and f_rest_* at the front
        names[:62] = [*("x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"),
                      *(f"f_rest_{k}" for k in range(45)), "opacity", "scale_0", "scale_1",
                      "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    lines = [b"ply", b"format binary_little_endian 1.0", b"element vertex %d" % rows,
             *(b"property float " + n.encode() for n in names), b"end_header"]
    body = rng.normal(0, 1, (rows, width)).astype("<f4")
    values = {n: body[:, j].astype(np.float64) for j, n in enumerate(names)}
    return Mutation(f"{width} properties, {rows} rows", b"\n".join(lines) + b"\n"
                    + body.tobytes(), values=values)


def m_splice(rng, seed: Seed) -> Mutation | None:
    """The header of this seed on the body of another."""
    other = _pick(rng, [s for s in seeds() if s.kind == "ply"])
    if seed.kind != "ply":
        return Mutation(f"{other.name}'s header on this SPZ",
                        other.data[:other.ply.body] + seed.data)
    return Mutation(f"header on {other.name}'s body",
                    seed.data[:seed.ply.body] + other.data[other.ply.body:])


# ------------------------------------------------------------------------------ SPZ
def _recompress(seed: Seed, payload: bytes, container: str | None = None) -> bytes:
    container = container or seed.layout
    if container == "gzip":
        return gzip.compress(payload, compresslevel=1, mtime=0)
    import zstandard

    return zstandard.ZstdCompressor(level=1, write_content_size=True).compress(payload)


SPZ_FIELDS = {  # struct offset and size of each payload header field, and values to try
    "magic": (0, "<I", (0, 0x5053474F, 0x4E475350)),
    "version": (4, "<I", (0, 1, 2, 3, 4, 255, 2**32 - 1)),
    "count": (8, "<I", (0, 1, 2, 7000, 10_000_000, 10_000_001, 2**31, 2**32 - 1)),
    "sh_degree": (12, "<B", (0, 1, 2, 3, 4, 255)),
    "fractional_bits": (13, "<B", (0, 1, 12, 23, 24, 25, 255)),
    "flags": (14, "<B", (0, 1, 2, 255)),
    "reserved": (15, "<B", (1, 255)),
}


def _spz_values(payload: bytes) -> np.ndarray | None:
    """The table the numpy reference codec decodes from ``payload`` (None if refused)."""
    from splatlab import SplatFormatError
    from splatlab.core import spz

    try:
        return spz.decode_reference(spz.parse_payload(payload))
    except SplatFormatError:
        return None


def m_spz_header(rng, seed: Seed) -> Mutation | None:
    if seed.kind != "spz":
        return None
    payload = bytearray(seed.payload)
    name = _pick(rng, list(SPZ_FIELDS))
    at, code, options = SPZ_FIELDS[name]
    value = _pick(rng, options)
    if name == "count" and rng.random() < 0.5:
        value = max(0, struct.unpack_from("<I", payload, 8)[0] + int(rng.integers(-2, 3)))
    struct.pack_into(code, payload, at, value)
    expected = _spz_values(bytes(payload)) if name in ("flags", "reserved") else None
    return Mutation(f"SPZ {name} -> {value}", _recompress(seed, bytes(payload)),
                    spz_values=expected)


def m_spz_payload(rng, seed: Seed) -> Mutation | None:
    if seed.kind != "spz":
        return None
    payload = seed.payload
    how = _pick(rng, ("cut", "extend", "flip", "flip", "short-header"))
    if how == "cut":
        cut = int(rng.integers(16, len(payload)))
        return Mutation(f"SPZ payload cut at {cut}", _recompress(seed, payload[:cut]))
    if how == "extend":
        return Mutation("SPZ payload extended", _recompress(seed, payload + bytes(100)),
                        spz_values=_spz_values(payload))
    if how == "short-header":
        cut = int(rng.integers(0, 16))
        return Mutation(f"SPZ payload of {cut} bytes", _recompress(seed, payload[:cut]))
    data, where = _flip(rng, payload, 16, len(payload), int(_pick(rng, (1, 8, 100))))
    return Mutation(f"SPZ payload bits flipped ({len(where)})", _recompress(seed, data),
                    spz_values=_spz_values(data))


def m_spz_container(rng, seed: Seed) -> Mutation | None:
    if seed.kind != "spz":
        return None
    import zstandard

    payload = seed.payload
    how = _pick(rng, ("swap", "plain", "no-size", "wrong-size", "two-frames", "skippable",
                      "gzip-name", "gzip-crc", "two-members", "empty", "magic-only",
                      "bomb", "level"))
    if how == "swap":
        other = "gzip" if seed.layout == "zstd" else "zstd"
        return Mutation(f"payload in {other}", _recompress(seed, payload, other),
                        spz_values=_spz_values(payload))
    if how == "plain":
        return Mutation("payload without a container", payload)
    if how == "no-size":
        data = zstandard.ZstdCompressor(write_content_size=False).compress(payload)
        return Mutation("zstd frame without its size", data, spz_values=_spz_values(payload))
    if how == "wrong-size":
        frame = bytearray(zstandard.ZstdCompressor(write_content_size=True).compress(payload))
        # the frame header descriptor is byte 4; the size field follows (its width varies)
        frame[6] ^= 0x10
        return Mutation("zstd frame declaring another size", bytes(frame))
    if how == "two-frames":
        data = _recompress(seed, payload, "zstd") + _recompress(seed, payload, "zstd")
        return Mutation("two zstd frames", data, spz_values=_spz_values(payload))
    if how == "skippable":
        data = struct.pack("<II", 0x184D2A50, 4) + b"skip" + _recompress(seed, payload, "zstd")
        return Mutation("skippable frame first", data)
    if how == "gzip-name":
        raw = gzip.compress(payload, mtime=0)
        data = raw[:3] + bytes([raw[3] | 0x08]) + raw[4:10] + b"name.spz\x00" + raw[10:]
        return Mutation("gzip with a file name", data, spz_values=_spz_values(payload))
    if how == "gzip-crc":
        raw = bytearray(gzip.compress(payload, mtime=0))
        raw[-8] ^= 0xFF
        return Mutation("gzip with a wrong CRC", bytes(raw))
    if how == "two-members":
        data = gzip.compress(payload, mtime=0) + gzip.compress(b"more", mtime=0)
        return Mutation("two gzip members", data)
    if how == "empty":
        return Mutation("empty stream", _recompress(seed, b""))
    if how == "magic-only":
        return Mutation("container magic only", seed.data[:int(_pick(rng, (2, 4, 5)))])
    if how == "bomb":   # declares 10 million SH-3 points: 1.5 GB; holds 4 MiB of zeros
        head = struct.pack("<IIIBBBB", 0x5053474E, 2, 10_000_000, 3, 12, 0, 0)
        return Mutation("SPZ bomb, truncated", _recompress(seed, head + bytes(1 << 22)))
    level = int(_pick(rng, (-5, 3, 19)))
    data = zstandard.ZstdCompressor(level=level).compress(payload)
    return Mutation(f"zstd level {level}", data, spz_values=_spz_values(payload))


# ------------------------------------------------------------------------- any file
def m_bytes(rng, seed: Seed) -> Mutation | None:
    """Byte-level damage anywhere: flips, a deleted or repeated chunk, inserted bytes."""
    data = seed.data
    how = _pick(rng, ("flip", "delete", "repeat", "insert", "empty", "one"))
    if how == "flip":
        out, where = _flip(rng, data, 0, len(data), int(_pick(rng, (1, 3, 16))))
        return Mutation(f"bits flipped at {where[:4]}", out)
    a = int(rng.integers(len(data)))
    b = min(len(data), a + int(rng.integers(1, 64)))
    if how == "delete":
        return Mutation(f"bytes {a}:{b} deleted", data[:a] + data[b:])
    if how == "repeat":
        return Mutation(f"bytes {a}:{b} repeated", data[:b] + data[a:b] + data[b:])
    if how == "insert":
        return Mutation(f"bytes inserted at {a}",
                        data[:a] + bytes(rng.integers(0, 256, b - a, dtype=np.uint8)) + data[a:])
    if how == "empty":
        return Mutation("empty file", b"")
    return Mutation("first byte only", data[:1])


MUTATORS: dict[str, Mutator] = {
    "count": m_count, "rows": m_rows, "type": m_type, "name": m_name,
    "property": m_drop_or_add_property, "newline": m_newline, "whitespace": m_whitespace,
    "comment": m_comment, "element": m_element, "header-lines": m_header_lines,
    "truncate": m_truncate, "append": m_append, "bitflip-header": m_bitflip_header,
    "bitflip-body": m_bitflip_body, "special": m_special, "column": m_column,
    "ascii-token": m_ascii_token, "splice": m_splice, "spz-header": m_spz_header,
    "property-tokens": m_property_tokens, "wide": m_wide,
    "spz-payload": m_spz_payload, "spz-container": m_spz_container, "bytes": m_bytes,
}
"""Every mutator by name; each returns None where it does not apply to a seed."""
WEIGHTS = {"wide": 0.25}
"""How often a mutator is picked against the others (1): wide files take seconds a case."""

FILE_NAMES = ("case{ext}",) * 12 + ("with space{ext}", "ünïcode{ext}", "two\nlines{ext}",
                                    "-dash{ext}", "case", "case.bin", "tab\there{ext}")


@dataclass
class Case:
    """One generated case: number, seed, mutator, mutation, and the name of its file."""

    number: int
    seed: Seed
    mutator: str
    mutation: Mutation
    file_name: str
    cli: list[str] | None = None


def make_case(number: int, seed_value: int = 0) -> Case:
    """Case ``number`` of the run seeded ``seed_value``: the same on every call."""
    rng = np.random.default_rng([seed_value, number])
    pool = seeds()
    mutation = None
    while mutation is None:          # a mutator, then a seed it applies to (20 tries)
        names = list(MUTATORS)
        weights = np.array([WEIGHTS.get(n, 1.0) for n in names])
        name = names[int(rng.choice(len(names), p=weights / weights.sum()))]
        for _ in range(20):
            seed = _pick(rng, pool)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")       # a signalling NaN cast to float64, say
                mutation = MUTATORS[name](rng, seed)
            if mutation is not None:
                break
    if rng.random() < 0.1:  # a second, byte-level mutation on top
        stacked = m_bytes(rng, Seed(seed.name, mutation.data)) if mutation.data else None
        if stacked is not None:
            mutation = Mutation(f"{mutation.description}; then {stacked.description}",
                                stacked.data)
            name += "+bytes"
    file_name = _pick(rng, FILE_NAMES).format(ext=seed.suffix)
    cli = _pick(rng, CLI_COMMANDS) if number % CLI_EVERY == CLI_EVERY - 1 else None
    return Case(number, seed, name, mutation, file_name, cli)


CLI_COMMANDS = (
    ["info", "{case}"], ["info", "--json", "{case}"], ["stats", "{case}"],
    ["stats", "--json", "--quantiles", "histogram", "{case}"], ["stats", "--csv", "{case}"],
    ["diagnose", "{case}"], ["diagnose", "--json", "{case}"], ["gate", "{case}"],
    ["gate", "--as-is", "--intended", "{case}"], ["diff", "{seed}", "{case}"],
    ["diff", "--json", "{case}", "{seed}"], ["convert", "{case}", "{out}/converted.spz"],
    ["convert", "{case}", "{out}/converted.ply"],
    ["repair", "{case}", "-o", "{out}/repaired.ply", "--strategy", "auto"],
    ["scan", "{case}"],
)
"""Command lines a sampled case runs (one of them), with its paths filled in."""


# ================================================================================ oracle
@dataclass
class Failure:
    """A verb that broke the contract on a case, with what it takes to reproduce it."""

    case: int
    seed: str
    mutator: str
    mutation: str
    verb: str
    problem: str
    data: bytes = field(repr=False)
    file_name: str = "case"

    def __str__(self) -> str:
        return (f"case {self.case} ({self.seed}, {self.mutator}: {self.mutation}), {self.verb}:"
                f" {self.problem}")


KNOWN_OPEN: dict[str, Callable[[Failure], bool]] = {}
"""Failure classes found, reported and left open for a while (a name and a test of the
:class:`Failure`; the comment above an entry says where its fix goes); :func:`run` counts
them apart from the failures. Empty: every class found so far is fixed."""


def known_open(failure: Failure) -> str | None:
    """The :data:`KNOWN_OPEN` class of ``failure``, or None."""
    return next((name for name, test in KNOWN_OPEN.items() if test(failure)), None)


class CaseTimeout(BaseException):
    """Raised by the alarm in a case that runs far over its time (never caught by verbs)."""


def _allowed(error: BaseException) -> bool:
    """splatlab's own refusals: SplatFormatError, SplatFieldError, SubmissionRefused, or a
    ValueError subclass that splatlab defines."""
    from splatlab import SplatFieldError, SplatFormatError
    from splatlab.loadchain import SubmissionRefused

    if isinstance(error, SplatFormatError | SplatFieldError | SubmissionRefused):
        return True
    return isinstance(error, ValueError) and type(error).__module__.startswith("splatlab.")


def _message_problem(error: BaseException, paths: tuple[Path, ...]) -> str | None:
    """What is wrong with a refusal's message: not one line, or naming none of ``paths``."""
    from splatlab.core.ply import one_line

    text = str(error)
    if len(text.splitlines()) != 1 or "\r" in text or "\n" in text:
        return f"message is not one line: {text[:300]!r}"
    if not any(str(p) in text or one_line(str(p)) in text for p in paths):
        return f"message does not name the file: {text[:300]!r}"
    return None


class _Verbs:
    """Runs verbs of one case, noting outcomes and failures."""

    def __init__(self, case: Case, outcomes: Counter, failures: list[Failure]):
        self.case, self.outcomes, self.failures = case, outcomes, failures

    def fail(self, verb: str, problem: str) -> None:
        c = self.case
        self.failures.append(Failure(c.number, c.seed.name, c.mutator, c.mutation.description,
                                     verb, problem, c.mutation.data, c.file_name))

    def timed(self, verb: str, start: float) -> None:
        """Fail ``verb`` when it took more than :data:`CASE_SECONDS` of this process's CPU
        since ``start`` (``time.process_time``)."""
        spent = time.process_time() - start
        if spent > CASE_SECONDS:
            self.fail(verb, f"took {spent:.1f} s of CPU, more than {CASE_SECONDS:.0f} s")

    def run(self, verb: str, fn: Callable[[], object], names: tuple[Path, ...]) -> object:
        """``fn()``; on a refusal check its message, on anything else note a failure (a
        verb taking more than :data:`CASE_SECONDS` of CPU too). Returns the result, or None
        when it raised."""
        start = time.process_time()
        try:  # numpy's default floating-point handling: a stray warning is a finding
            with warnings.catch_warnings(record=True) as caught, np.errstate(
                    over="warn", invalid="warn", divide="warn", under="ignore"):
                warnings.simplefilter("always")
                result = fn()
        except CaseTimeout:
            raise
        except BaseException as e:  # noqa: BLE001 (anything a verb raises is judged here)
            if isinstance(e, KeyboardInterrupt):
                raise
            self.outcomes[f"{verb}: {type(e).__name__}"] += 1
            self.timed(verb, start)
            if not _allowed(e):
                tail = "".join(traceback.format_exception(e)[-3:]).strip().replace("\n", " | ")
                self.fail(verb, f"raised {type(e).__module__}.{type(e).__name__}: {tail[-600:]}")
            else:
                problem = _message_problem(e, names)
                if problem:
                    self.fail(verb, problem)
            return None
        self.outcomes[f"{verb}: ok"] += 1
        self.timed(verb, start)
        for w in caught:
            if issubclass(w.category, RuntimeWarning) and "splatlab" not in str(w.message):
                self.fail(verb, f"stray {w.category.__name__}: {w.message} ({w.filename}:"
                          f"{w.lineno})")
        return result


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal values, NaN equal to NaN (any payload), -0.0 equal to 0.0."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def _check_stats(v: _Verbs, splat, table, label: str) -> None:
    """The stats table against the library's plain numpy reference of every stored column
    and derived row (:mod:`splatlab.analysis.statistics_reference`)."""
    from splatlab.analysis.statistics_reference import disagreements, reference_stats

    for problem in disagreements(table, reference_stats(splat)):
        v.fail(label, problem)


def _check_histogram(v: _Verbs, exact, binned) -> None:
    """Moments equal to the exact table's; quantiles within a bin width of the exact ones."""
    moment = ["count", "finite", "nan", "posinf", "neginf", "mean", "std", "min", "max"]
    for name in exact.index:
        a, b = exact.loc[name], binned.loc[name]
        for key in moment:
            if not _same(a[key], b[key]):
                v.fail("stats-histogram", f"{name}: {key} {b[key]!r}, exact table {a[key]!r}")
        if not a["finite"]:
            continue
        with np.errstate(over="ignore"):
            width = (float(a["max"]) - float(a["min"])) / 4096
        for key in ("p01", "p50", "p99"):
            gap = abs(float(a[key]) - float(b[key]))
            if not gap <= width * (1 + 1e-9) + 4 * U * max(abs(float(a["min"])),
                                                            abs(float(a["max"]))):
                v.fail("stats-histogram", f"{name}: {key} {b[key]!r} is {gap:.3g} from the"
                       f" exact {a[key]!r}, more than a bin ({width:.3g})")


def _check_values(v: _Verbs, splat, mutation: Mutation) -> None:
    """Loaded values against the independent parse of the mutated bytes."""
    if mutation.values is not None:
        if sorted(splat.properties) != sorted(mutation.values):
            v.fail("load", f"properties {splat.properties}, expected {list(mutation.values)}")
            return
        for name, want in mutation.values.items():
            if not _same(splat.column(name), want):
                v.fail("load", f"{name}: loaded values differ from the bytes")
    if mutation.spz_values is not None:
        want = mutation.spz_values
        if splat.properties != list(want.dtype.names):
            v.fail("load", f"SPZ properties {splat.properties}, expected {want.dtype.names}")
            return
        for name in want.dtype.names:
            if not np.array_equal(splat.column(name).view(np.uint32),
                                  want[name].view(np.uint32)):
                v.fail("load", f"{name}: decoded bits differ from the reference codec")


def _check_diff(v: _Verbs, table, seed_splat, splat) -> None:
    """diff's changed counts and summaries against numpy."""
    from splatlab.analysis.statistics_reference import reference_row

    for name in table.index:
        if name in splat.properties and name in seed_splat.properties:
            a = np.asarray(seed_splat.column(name)).astype(np.float64)
            b = np.asarray(splat.column(name)).astype(np.float64)
            changed = int((~((a == b) | (np.isnan(a) & np.isnan(b)))).sum())
            if int(table.loc[name, "changed"]) != changed:
                v.fail("diff", f"{name}: changed {table.loc[name, 'changed']}, expected"
                       f" {changed}")
            for side, values in (("a", a), ("b", b)):
                ref = reference_row(values)
                got = table.loc[name, f"{side}_mean"]
                if ref["finite"] and not abs(float(got) - ref["mean"]) <= ref["tolerance"]:
                    v.fail("diff", f"{name}: {side}_mean {got!r}, float64 reference"
                           f" {ref['mean']!r}")
                got = table.loc[name, f"{side}_std"]
                if ref["finite"] and not abs(float(got) - ref["std"]) <= ref["tolerance"]:
                    v.fail("diff", f"{name}: {side}_std {got!r}, float64 reference"
                           f" {ref['std']!r}")


def _leftovers(folder: Path, expected: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in expected)


def check(case: Case, folder: Path, seed_path: Path, seed_splat, outcomes: Counter,
          failures: list[Failure]) -> None:
    """Run every verb on ``case`` (its file written into ``folder``) and judge each."""
    import splatlab
    from splatlab.analysis.scanning import scan_file
    from splatlab.loadchain import submission_problems

    v = _Verbs(case, outcomes, failures)
    path = folder / case.file_name
    path.write_bytes(case.mutation.data)
    out = folder / "out"
    out.mkdir()
    names = (path,)
    splat = v.run("load", lambda: splatlab.load(path), names)
    problems = v.run("submission_problems", lambda: submission_problems(path), names)
    v.run("diff-paths", lambda: splatlab.diff(seed_path, path), (path, seed_path))
    row = v.run("scan", lambda: scan_file(path), names)
    if row is not None and row["error"] is not None:
        problem = _message_problem(ValueError(row["error"]), names)
        if problem:
            v.fail("scan", f"error column: {problem}")
    if splat is None:
        return
    _check_values(v, splat, case.mutation)
    table = v.run("stats", lambda: splatlab.stats(splat), names)
    if table is not None:
        _check_stats(v, splat, table, "stats")
    binned = v.run("stats-histogram", lambda: splatlab.stats(splat, quantiles="histogram"),
                   names)
    if table is not None and binned is not None:
        _check_histogram(v, table, binned)
    report = v.run("diagnose", lambda: splatlab.diagnose(splat), names)
    if report is not None and table is not None and splat.is_gaussian and splat.count:
        flagged = {f.field for f in report if f.code == "SL101"}
        for name in splat.properties:
            if splat.column(name).dtype.kind == "f" and (table.loc[name, "nan"] > 0) != (
                    name in flagged):
                v.fail("diagnose", f"{name}: {int(table.loc[name, 'nan'])} NaN in stats,"
                       f" SL101 {'given' if name in flagged else 'not given'}")
    if problems is not None and splat.provenance.format.name == "ply":
        judged = v.run("submission_problems-splat", lambda: submission_problems(splat), names)
        if judged is not None and bool(judged) != bool(problems):
            v.fail("submission_problems", f"the file: {problems[:2]}; its Splat: {judged[:2]}")
    if case.number % 4 == 0:
        torch_table = v.run("stats-torch", lambda: splatlab.stats(splat, device="cpu"), names)
        if torch_table is not None:
            _check_stats(v, splat, torch_table, "stats-torch")
    if case.number % 5 == 0:   # the other declared encodings
        other = v.run("load-declared", lambda: splatlab.load(
            path, opacity_encoding="probability", scale_encoding="linear"), names)
        if other is not None:
            declared = v.run("stats-declared", lambda: splatlab.stats(other), names)
            if declared is not None:
                _check_stats(v, other, declared, "stats-declared")
            v.run("diagnose-declared", lambda: splatlab.diagnose(other), names)
            v.run("repair.auto-declared", lambda: splatlab.repair.auto(other), names)
    through = v.run("gate", lambda: splatlab.gate(splat), names)
    if through is not None and problems == [] and through.refused:
        v.fail("gate", f"refused through the submission path, which accepts the file:"
               f" {through.refused}")
    v.run("gate-as-is", lambda: splatlab.gate(splat, path="as-is"), names)
    repaired = v.run("repair.auto", lambda: splatlab.repair.auto(splat), names)
    differences = v.run("diff", lambda: splatlab.diff(seed_splat, splat), (path, seed_path))
    if differences is not None:
        _check_diff(v, differences, seed_splat, splat)
    _check_save(v, case, splat, out, names, problems)
    if repaired is not None:
        target = out / "repaired.ply"
        if v.run("save-repaired", lambda: splatlab.save(repaired[0], target), names):
            after = submission_problems(target)
            if problems == [] and after:
                v.fail("save-repaired", f"the input goes through the submission path, the"
                       f" repaired file does not: {after}")
            target.unlink()
        if _leftovers(out, set()):
            v.fail("save-repaired", f"left behind {_leftovers(out, set())}")


def _check_save(v: _Verbs, case: Case, splat, out: Path, names, problems) -> None:
    import splatlab

    for kind in ("ply", "spz", "compressed-ply", "splat"):
        target = out / f"saved{SUFFIXES[kind]}"
        saved = v.run(f"save-{kind}", lambda t=target, k=kind: splatlab.save(splat, t, format=k),
                      names)
        left = _leftovers(out, {target.name} if saved else set())
        if left:
            v.fail(f"save-{kind}", f"left behind {left}")
        if not saved:
            continue
        source = case.mutation.data
        same_format = splat.provenance.format.name == kind
        if same_format and target.read_bytes() != source and (
                kind == "ply" or splat.provenance.format.container == "zstd"):
            v.fail(f"save-{kind}", "an unchanged file was not written back byte-identical")
        back = v.run(f"reload-{kind}", lambda t=target: splatlab.load(t), (target,))
        if back is None:
            v.fail(f"save-{kind}", "splatlab refuses the file it has just written")
        if back is not None and kind == "ply":
            if back.properties != splat.properties or not all(
                    _same(back.column(n), splat.column(n)) for n in splat.properties):
                v.fail("reload-ply", "the saved PLY loads with other values")
        if back is not None and kind != "ply" and back.count != splat.count:
            v.fail(f"reload-{kind}", f"{back.count} rows back from {splat.count}")
        if back is not None and back.provenance.format.name != kind:
            v.fail(f"reload-{kind}", f"the saved file loads as {back.provenance.format.name}")
        if back is not None and kind == "spz" and problems == []:
            from splatlab.loadchain import spz_roundtrip

            received = v.run("spz_roundtrip", lambda: spz_roundtrip(splat), names)
            if received is not None and not all(
                    np.array_equal(received.column(n).view(np.uint32),
                                   back.column(n).view(np.uint32))
                    for n in received.properties):
                v.fail("save-spz", "the saved SPZ decodes to other values than spz_roundtrip")
        if problems == [] and kind == "ply":
            from splatlab.loadchain import submission_problems

            after = submission_problems(target)
            if after:
                v.fail("save-ply", f"the submission path accepts the input, not the copy:"
                       f" {after}")
        target.unlink()


def check_cli(case: Case, folder: Path, seed_path: Path, outcomes: Counter,
              failures: list[Failure]) -> None:
    """Run the case's command line in-process: exit 0, 2 or 3; on 2 one stderr line that
    names a file; never a traceback; no temporary file left in the output folder."""
    from splatlab.cli.main import main

    v = _Verbs(case, outcomes, failures)
    path = folder / case.file_name
    out = folder / "cli"
    out.mkdir()
    argv = [a.format(case=path, seed=seed_path, out=out) for a in case.cli]
    stdout, stderr = io.StringIO(), io.StringIO()
    verb = f"cli {case.cli[0]}"
    start = time.process_time()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), \
                warnings.catch_warnings():
            warnings.showwarning = _to_stderr   # as on a terminal (not pytest's recorder)
            status = main(argv)
    except CaseTimeout:
        raise
    except SystemExit as e:
        status = e.code
    except BaseException as e:  # noqa: BLE001
        v.fail(verb, f"main raised {type(e).__name__}: {e}")
        return
    outcomes[f"{verb}: exit {status}"] += 1
    v.timed(verb, start)
    err = stderr.getvalue()
    text = stdout.getvalue() + err
    if "Traceback" in text:
        v.fail(verb, f"a traceback in the output: {text[-300:]!r}")
    if status not in (0, 2, 3):
        v.fail(verb, f"exit {status}: {err.strip()[:300]!r}")
    if status == 2:
        lines = err.splitlines()
        if len(lines) != 1:
            v.fail(verb, f"exit 2 with {len(lines)} lines on stderr: {err[:400]!r}")
        elif not any(_names(lines[0], p) for p in (path, seed_path, out)):
            v.fail(verb, f"exit 2 with a line that names no file: {lines[0][:300]!r}")
    expected = {"converted.spz", "converted.ply", "repaired.ply", "repaired.ply.repair.json"}
    stray = [n for n in _leftovers(out, expected) if n.startswith(".") or n.endswith(".tmp")]
    if stray:
        v.fail(verb, f"left temporary files {stray}")


def _to_stderr(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` as Python's own: the formatted warning on ``sys.stderr``."""
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _names(line: str, path: Path) -> bool:
    from splatlab.core.ply import one_line

    return str(path) in line or one_line(str(path)) in line


# ================================================================================== runs
@dataclass
class FuzzReport:
    """What a run did: cases, outcomes by verb and class, mutators used, failures."""

    seed: int
    cases: int = 0
    seconds: float = 0.0
    outcomes: Counter = field(default_factory=Counter)
    mutators: Counter = field(default_factory=Counter)
    seeds: Counter = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    known: Counter = field(default_factory=Counter)
    slowest: tuple[float, int] = (0.0, -1)

    def sort_known(self, start: int = 0) -> None:
        """Move failures from ``start`` on that belong to a :data:`KNOWN_OPEN` class into
        :attr:`known` (counted by class)."""
        kept = []
        for f in self.failures[start:]:
            name = known_open(f)
            if name is None:
                kept.append(f)
            else:
                self.known[name] += 1
        self.failures[start:] = kept

    def summary(self) -> str:
        """A few lines for a log or a document."""
        lines = [f"{self.cases:,} cases in {self.seconds:.0f} s (seed {self.seed}),"
                 f" {len(self.failures)} failures; slowest case {self.slowest[1]}"
                 f" ({self.slowest[0]:.2f} s)"]
        lines += [f"  known open, not counted as failures: {name} ({n:,} cases)"
                  for name, n in self.known.items()]
        verbs: dict[str, Counter] = {}
        for key, n in self.outcomes.items():
            verb, outcome = key.split(": ", 1)
            verbs.setdefault(verb, Counter())[outcome] += n
        for verb in sorted(verbs):
            lines.append(f"  {verb}: " + ", ".join(f"{k} {n:,}" for k, n in
                                                    verbs[verb].most_common()))
        lines.append("  mutators: " + ", ".join(f"{k} {n:,}" for k, n in
                                                  self.mutators.most_common()))
        lines.append("  seeds: " + ", ".join(f"{k} {n:,}" for k, n in self.seeds.most_common()))
        lines += [f"  FAIL {f}" for f in self.failures[:50]]
        return "\n".join(lines)


def peak_resident_bytes() -> int:
    """The most resident memory this process has held since it started (``ru_maxrss``;
    it only grows, so the first case that passes a bound is the one found)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Raise :class:`CaseTimeout` after ``seconds`` (main thread only; else no limit)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def ring(signum, frame):
        raise CaseTimeout

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_case(case: Case, root: Path, report: FuzzReport) -> None:
    """Check one case (and its command line, when sampled) in a fresh folder under ``root``."""
    import splatlab

    folder = Path(tempfile.mkdtemp(prefix=f"c{case.number}-", dir=root))
    seed_path = root / f"seed-{case.seed.name}{case.seed.suffix}"
    if not seed_path.exists():
        seed_path.write_bytes(case.seed.data)
    seed_splat = splatlab.load(seed_path)
    report.cases += 1
    report.mutators[case.mutator] += 1
    report.seeds[case.seed.name] += 1
    # CPU time of this process: what a case costs, whatever else loads the machine (a case
    # blocked without using the CPU is stopped by the alarm, on the wall clock); each verb's
    # own time is bounded in _Verbs.run
    start, before = time.process_time(), len(report.failures)
    peak_before = peak_resident_bytes()
    try:
        with _alarm(6 * CASE_SECONDS), warnings.catch_warnings():
            warnings.simplefilter("ignore")       # the oracle's own arithmetic; verbs record
            check(case, folder, seed_path, seed_splat, report.outcomes, report.failures)
            if case.cli is not None:
                check_cli(case, folder, seed_path, report.outcomes, report.failures)
    except CaseTimeout:
        _Verbs(case, report.outcomes, report.failures).fail(
            "case", f"still running after {6 * CASE_SECONDS:.0f} s: stopped")
    elapsed = time.process_time() - start
    report.slowest = max(report.slowest, (elapsed, case.number))
    peak = peak_resident_bytes()
    if peak > PEAK_BYTES and peak > peak_before:
        _Verbs(case, report.outcomes, report.failures).fail(
            "case", f"took the process's peak memory to {peak / 1024 ** 3:.2f} GiB, more than"
                    f" {PEAK_BYTES / 1024 ** 3:.0f} GiB")
    report.sort_known(before)
    shutil.rmtree(folder, ignore_errors=True)


def run(seconds: float | None = 60.0, seed: int = 0, *, cases: int | None = None,
        first: int = 0, log: Callable[[str], None] | None = None) -> FuzzReport:
    """Fuzz for ``seconds`` (or ``cases`` cases) from case ``first`` of the run ``seed``.

    The sequence of cases is fixed by ``seed`` (case i is :func:`make_case` (i, seed)), so a
    run is deterministic up to where the time ends it. Returns the :class:`FuzzReport`.
    """
    report = FuzzReport(seed)
    seeds()   # built outside the clock
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="splatlab-fuzz-") as root:
        number = first
        while True:
            if cases is not None and report.cases >= cases:
                break
            if seconds is not None and time.perf_counter() - start >= seconds:
                break
            case = make_case(number, seed)
            run_case(case, Path(root), report)
            number += 1
            if log and report.cases % 500 == 0:
                log(f"{report.cases:,} cases, {len(report.failures)} failures,"
                    f" {time.perf_counter() - start:.0f} s")
    report.seconds = time.perf_counter() - start
    return report


def replay(data: bytes, file_name: str = "case.ply", seed_name: str = "trellis-le",
           cli: list[str] | None = None) -> list[Failure]:
    """Check one stored case (its bytes) against the seed named ``seed_name``; the failures."""
    seed = next(s for s in seeds() if s.name == seed_name)
    case = Case(-1, seed, "replay", Mutation("stored case", data), file_name, cli)
    report = FuzzReport(-1)
    with tempfile.TemporaryDirectory(prefix="splatlab-replay-") as root:
        run_case(case, Path(root), report)
    return report.failures


def save_failures(failures: list[Failure], folder: Path) -> None:
    """Write each failure's bytes (``case-N.ply``/``.spz``) and a line about it."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "failures.txt", "a") as log:
        for f in failures:
            suffix = Path(f.file_name).suffix or ".bin"
            (folder / f"case-{f.case}{suffix}").write_bytes(f.data)
            log.write(f"{f}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fuzz every splatlab verb (issue 15).")
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--first", type=int, default=0, help="first case number")
    parser.add_argument("--case", type=int, help="run this one case and print it")
    parser.add_argument("--save-failures", type=Path, help="write failing cases here")
    args = parser.parse_args(argv)
    if args.case is not None:
        case = make_case(args.case, args.seed)
        print(f"case {args.case}: {case.seed.name}, {case.mutator}: {case.mutation.description}"
              f", file {case.file_name!r}, cli {case.cli}")
        report = run(None, args.seed, cases=1, first=args.case)
    else:
        report = run(args.seconds, args.seed, first=args.first,
                     log=lambda line: print(line, file=sys.stderr, flush=True))
    print(report.summary())
    if args.save_failures and report.failures:
        save_failures(report.failures, args.save_failures)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
