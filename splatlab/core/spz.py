"""Read and write SPZ, the compressed 3DGS format subnet-17 miners submit (FACTS.md section 5).

An SPZ file is a 16-byte header and quantised attribute streams (the *payload*), inside
one of three containers:

* ``zstd``: one zstd frame around the payload, as 404-Repo/spz (``pyspz``) writes it: the
  bytes a validator receives;
* ``gzip``: Niantic's spz, versions 1-3 (version 1 stores float16 positions, version 3
  smallest-three rotations in 4 bytes); version 2 is written;
* ``zstd streams``: Niantic's version 4, a 32-byte plaintext header (:data:`STREAMS_HEADER`),
  a table of (compressed, decompressed) sizes and one zstd frame a stream, the streams
  those of version 3 (:func:`parse_streams`; :func:`to_streams_bytes` writes it for samples
  and tests, what splat-transform 3.10.2 writes by default).

Against splat-transform 3.10.2's decoder (``tests/test_formats.py``, versions 3 and 4): the
same values to 2 float32 steps (it computes in float64 where the C++ library computes in
float32), except alpha bytes 0 and 255, which splat-transform clamps to logit(1e-6) =
-13.8155 and +13.8155 where the library, and we, give -inf and +inf. gsply 0.4.6's reader
differs from both by up to 0.013 in opacity.

Decoding gives exactly the float32 values of ``pyspz.decompress(..., include_normals=False)``
(the same float32 arithmetic, checked bit for bit against the real library's outputs in
``tests/test_spz.py``), in its property order ``x y z f_dc_0..2 f_rest_* opacity scale_0..2
rot_0..3``. Encoding gives the payload ``pyspz.compress`` writes, byte for byte.

Why our own codec: no maintained Python package reproduces the 404 zstd container, and
the one that reads Niantic's (gsply) rounds with numpy (half to even) where the C++ rounds
half away from zero, so its bytes differ from the library the validator runs.

Two implementations: :func:`encode_reference` and :func:`decode_reference` are numpy, one
array operation a step, and are the definition; :func:`encode` and :func:`decode` run the
compiled loops of :mod:`splatlab.spz_kernels` (one sweep over the rows, several times
faster) and give the same payload bytes and decoded bits (``tests/test_spz.py`` checks it;
``tests/test_formats.py`` for versions 3 and 4; version 1 decodes on the reference).
``encode`` writes the header and streams into
one buffer, which :func:`to_bytes` compresses as it is; ``decode`` fills the float32 table
straight from the payload. Decompression is one call bounded by what the header justifies.

Where the C++ is undefined (a float-to-integer cast of NaN or of a value out of range) we
do what its x86-64 build does: the cast gives ``INT32_MIN``, so a NaN opacity, colour,
scale or rotation becomes byte 0 (opacity -inf, log scale -10) and a NaN or huge position
becomes 0.

Example:
    >>> import numpy as np
    >>> columns = {name: np.zeros(2, np.float32) for name in ENCODED_PROPERTIES}
    >>> columns["rot_0"] = np.ones(2, np.float32)        # identity rotations
    >>> columns["scale_0"] = np.full(2, -20, np.float32)  # below the log-scale clamp
    >>> decoded = decode(parse_payload(encode(columns).to_payload()))
    >>> [float(decoded[n][0]) for n in ("opacity", "scale_0", "rot_0", "rot_1")]
    [0.007843292318284512, -10.0, 0.9999769330024719, 0.003921627998352051]
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .compiled import numba_available
from .fields import GROUPS, f_rest_names, missing_properties
from .floats import values_as_data
from .ply import SplatFormatError, file_bytes, map_bytes

MAGIC = 0x5053474E
"""``NGSP`` read as a little-endian uint32: the first four bytes of every payload."""
HEADER = struct.Struct("<IIIBBBB")
"""magic, version, point count, SH degree, fractional bits, flags, reserved."""
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_MAGIC = b"\x1f\x8b"
CONTAINERS = ("zstd", "gzip")
MAX_POINTS = 10_000_000
"""``pyspz.decompress`` refuses more points than this."""
COMPRESS_MAX_POINTS = 10 * 1024 * 1024
"""``pyspz.compress`` refuses a PLY declaring more vertices than this."""
FRACTIONAL_BITS = 12
"""Fixed-point fraction of positions the library writes (1/4096 = about 0.24 mm)."""
FLAG_ANTIALIASED = 0x1
STREAMS_HEADER = struct.Struct("<IIIBBBBI12x")
"""Niantic version 4's plaintext header: magic, version, point count, SH degree, fractional
bits, flags, number of streams, offset of the table of streams; 12 reserved bytes."""
STREAMS_VERSION = 4
STREAMS_CONTAINER = "zstd streams"
"""The container name of version 4 (plaintext header, one zstd frame a stream)."""
COLOR_SCALE = np.float32(0.15)
"""f_dc is stored as byte(f_dc * 0.15 * 255 + 127.5): colours clamp at about +-3.33."""
SH_DIM = {0: 0, 1: 3, 2: 8, 3: 15}
"""Coefficients a colour channel for each SH degree."""
ENCODED_PROPERTIES = ("x", "y", "z", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2",
                      "rot_3", "opacity", "f_dc_0", "f_dc_1", "f_dc_2")
"""Properties ``pyspz.compress`` needs; ``f_rest_*`` are optional, everything else is dropped."""
_INT32_MIN = -(2**31)
_READ_BLOCK = 1 << 22
_ONE_SHOT_RATIO = 16
"""Decompress a zstd frame in one call only where it declares at most this many payload bytes
a compressed byte (real payloads: about 1.3), so that a frame lying about its size cannot
make us allocate what its data does not hold; others go through the streaming reader."""


@dataclass(frozen=True)
class SpzPacked:
    """An SPZ payload as its quantised streams (uint8 arrays, one row a gaussian).

    ``positions`` (N, 3, 3) 24-bit fixed point (version 1: (N, 3, 2) float16 bytes),
    ``alphas`` (N,), ``colors`` (N, 3), ``scales`` (N, 3), ``rotations`` (N, 3)
    (version 3: (N, 4) smallest-three), ``sh`` (N, dim, 3) coefficient-major.
    ``buffer``: the uint8 array of header and streams that the streams are views of, when
    :func:`encode` or :func:`parse_payload` made them (None otherwise; it is used only
    while the streams still are its views, see :meth:`payload_buffer`).
    """

    version: int
    sh_degree: int
    fractional_bits: int
    antialiased: bool
    positions: np.ndarray
    alphas: np.ndarray
    colors: np.ndarray
    scales: np.ndarray
    rotations: np.ndarray
    sh: np.ndarray
    buffer: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def count(self) -> int:
        return len(self.alphas)

    def payload_buffer(self) -> np.ndarray | None:
        """:attr:`buffer` when it holds this header and the streams are its views, in the
        library's order and at their offsets (so it is this payload, without a copy), else
        None."""
        buffer = self.buffer
        if not (isinstance(buffer, np.ndarray) and buffer.dtype == np.uint8
                and buffer.ndim == 1 and buffer.flags.c_contiguous):
            return None
        start, at = buffer.__array_interface__["data"][0], HEADER.size
        for name, shape in _stream_sizes(self.version, self.count, self.sh_degree):
            stream = getattr(self, name)
            size = int(np.prod(shape))
            if not (isinstance(stream, np.ndarray) and stream.dtype == np.uint8
                    and stream.shape == shape and stream.flags.c_contiguous):
                return None
            if size and stream.__array_interface__["data"][0] != start + at:
                return None
            at += size
        if len(buffer) != at or buffer[:HEADER.size].tobytes() != self.header_bytes():
            return None
        return buffer

    def header_bytes(self) -> bytes:
        """The 16-byte header of this payload."""
        flags = FLAG_ANTIALIASED if self.antialiased else 0
        return HEADER.pack(MAGIC, self.version, self.count, self.sh_degree,
                           self.fractional_bits, flags, 0)

    def to_payload(self) -> bytes:
        """Header and streams in the library's order: positions, alphas, colours, scales,
        rotations, SH."""
        buffer = self.payload_buffer()
        if buffer is not None:
            return buffer.tobytes()
        streams = (self.positions, self.alphas, self.colors, self.scales, self.rotations,
                   self.sh)
        return self.header_bytes() + b"".join(np.ascontiguousarray(s).tobytes() for s in streams)


@dataclass(frozen=True)
class SpzInfo:
    """What an SPZ file's header and container say about it."""

    container: str
    version: int
    count: int
    sh_degree: int
    fractional_bits: int
    antialiased: bool


# ---------------------------------------------------------------- quantisers (float32 in)
def _c_round(x: np.ndarray) -> np.ndarray:
    """C's ``round`` of float32 values (half away from zero), exactly, as float64."""
    x = x.astype(np.float64)
    return np.copysign(np.floor(np.abs(x) + 0.5), x)


def _to_byte(x: np.ndarray) -> np.ndarray:
    """``clamp(round(x), 0, 255)`` cast to uint8; NaN gives 0 as on x86-64."""
    r = np.clip(_c_round(x), 0.0, 255.0)
    return np.nan_to_num(r, nan=0.0).astype(np.uint8)


def _to_int32(r: np.ndarray) -> np.ndarray:
    """A float-to-int32 cast as x86-64 does it: NaN and out-of-range give INT32_MIN."""
    ok = (r >= -(2.0**31)) & (r < 2.0**31)
    return np.where(ok, np.nan_to_num(r, nan=0.0), _INT32_MIN).astype(np.int64)


def _f32(columns: dict[str, np.ndarray], names: tuple[str, ...]) -> np.ndarray:
    return np.stack([np.asarray(columns[n], np.float32) for n in names], axis=1)


def _quantize_positions(p: np.ndarray, fractional_bits: int) -> np.ndarray:
    fixed = _to_int32(_c_round(p * np.float32(1 << fractional_bits))) & 0xFFFFFF
    return np.stack([fixed & 0xFF, (fixed >> 8) & 0xFF, fixed >> 16], axis=-1).astype(np.uint8)


def _exp_neg(opacity: np.ndarray) -> np.ndarray:
    """``float32(exp(-opacity))`` computed in float64 (numpy's exp, both paths use it)."""
    with np.errstate(over="ignore"):
        return np.exp(-opacity.astype(np.float64)).astype(np.float32)


def _quantize_alphas(opacity: np.ndarray) -> np.ndarray:
    sigmoid = np.float32(1) / (np.float32(1) + _exp_neg(opacity))
    return _to_byte(sigmoid * np.float32(255))


def _quantize_rotations(rot_wxyz: np.ndarray) -> np.ndarray:
    q = rot_wxyz[:, [1, 2, 3, 0]]  # x, y, z, w as the library holds them
    sq = q * q
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = np.sqrt(((sq[:, 0] + sq[:, 1]) + sq[:, 2]) + sq[:, 3])
        unit = q / norm[:, None]
    sign = np.where(unit[:, 3] < 0, np.float32(-127.5), np.float32(127.5))
    return _to_byte(unit[:, :3] * sign[:, None] + np.float32(127.5))


def _quantize_sh(sh: np.ndarray) -> np.ndarray:
    """(N, dim, 3) coefficients to bytes: 5 bits for degree 1, 4 for the rest."""
    r = (_c_round(sh * np.float32(128)).astype(np.float32) + np.float32(128)).astype(np.float64)
    q = _to_int32(r)
    bucket = np.full(sh.shape[1], 16, np.int64)
    bucket[:3] = 8
    shifted = q + bucket[None, :, None] // 2
    truncated = np.where(shifted >= 0, shifted // bucket[None, :, None],
                         -((-shifted) // bucket[None, :, None]))  # C division
    return np.clip(truncated * bucket[None, :, None], 0, 255).astype(np.uint8)


def sh_rest_count(properties: list[str] | tuple[str, ...]) -> int:
    """How many ``f_rest_*`` the library takes: the run f_rest_0, f_rest_1... (at most 45).

    Example:
        >>> sh_rest_count(["f_rest_0", "f_rest_1", "f_rest_3"])
        2
    """
    present = set(properties)
    count = 0
    while count < 45 and f"f_rest_{count}" in present:
        count += 1
    return count


def degree_for_dim(dim: int) -> int:
    """The library's SH degree for ``dim`` coefficients a channel (it rounds down).

    Example:
        >>> degree_for_dim(8), degree_for_dim(2)
        (2, 0)
    """
    return 0 if dim < 3 else 1 if dim < 8 else 2 if dim < 15 else 3


def _sh_rest(columns: dict[str, np.ndarray]) -> int:
    """The number of ``f_rest_*`` the library encodes; ValueError for what it cannot."""
    missing = missing_properties(columns, ENCODED_PROPERTIES)
    if missing:
        raise ValueError(f"SPZ needs properties {', '.join(missing)}")
    rest = sh_rest_count(list(columns))
    if rest % 3 or rest // 3 not in SH_DIM.values():
        raise ValueError(f"{rest} f_rest properties fit no SH degree (0, 9, 24 or 45)")
    return rest


_KERNEL_COLUMNS = ("x", "y", "z", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2",
                   "rot_3", "opacity", "f_dc_0", "f_dc_1", "f_dc_2")
"""Argument order of :func:`splatlab.spz_kernels.quantize` (opacity as ``exp(-opacity)``)."""


@values_as_data
def encode(columns: dict[str, np.ndarray], *, antialiased: bool = False) -> SpzPacked:
    """Quantise named float columns into a version-2 payload exactly as ``pyspz.compress``.

    ``columns`` needs :data:`ENCODED_PROPERTIES`; ``f_rest_0..`` are used as the library
    uses them (see :func:`sh_rest_count`); values are taken as float32.
    Raises ValueError when a property is missing or the SH count fits no degree (the
    library then writes an empty payload that its own decompress refuses).
    The compiled loop writes header and streams into one buffer (the result's streams
    are views of it); bytes identical to :func:`encode_reference`.

    Example:
        >>> cols = {n: np.zeros(1, np.float32) for n in ENCODED_PROPERTIES}
        >>> encode(cols).alphas.tolist()    # sigmoid(0) * 255 = 127.5 rounds up
        [128]
    """
    if not numba_available():                   # no [fast] extra: the same bytes, slower
        return encode_reference(columns, antialiased=antialiased)
    rest = _sh_rest(columns)
    count = len(np.asarray(columns["x"]))
    main = [np.asarray(columns[n], np.float32) for n in _KERNEL_COLUMNS]
    sh = _f32(columns, f_rest_names(rest)) if rest else np.zeros((count, 0), np.float32)
    if any(c.ndim != 1 or len(c) != count for c in main) or sh.shape != (count, rest):
        return encode_reference(columns, antialiased=antialiased)  # raises as it does
    main[10] = _exp_neg(main[10])
    from . import spz_kernels

    degree = degree_for_dim(rest // 3)
    buffer = np.empty(payload_size(2, count, degree), np.uint8)
    flags = FLAG_ANTIALIASED if antialiased else 0
    HEADER.pack_into(buffer, 0, MAGIC, 2, count, degree, FRACTIONAL_BITS, flags, 0)
    spz_kernels.quantize(*main, sh, rest // 3, FRACTIONAL_BITS, buffer[HEADER.size:])
    return _split(buffer, 2, count, degree, FRACTIONAL_BITS, antialiased)


@values_as_data  # huge values overflow to inf, then clamp or wrap as in C++
def encode_reference(columns: dict[str, np.ndarray], *, antialiased: bool = False
                     ) -> SpzPacked:
    """:func:`encode` in numpy, one array operation a step: the definition the compiled
    path is tested against.

    Example:
        >>> cols = {n: np.full(2, 0.5 / 4096, np.float32) for n in ENCODED_PROPERTIES}
        >>> packed = encode_reference(cols)
        >>> packed.positions[0, 0].tolist(), packed.to_payload() == encode(cols).to_payload()
        ([1, 0, 0], True)
    """
    rest = _sh_rest(columns)
    dim = rest // 3
    count = len(np.asarray(columns["x"]))
    if rest:
        flat = _f32(columns, f_rest_names(rest))  # f_rest_{c*dim + j}
        sh = _quantize_sh(flat.reshape(count, 3, dim).transpose(0, 2, 1))
    else:
        sh = np.zeros((count, 0, 3), np.uint8)
    colour = _f32(columns, GROUPS["sh_dc"])
    return SpzPacked(
        version=2, sh_degree=degree_for_dim(dim), fractional_bits=FRACTIONAL_BITS,
        antialiased=antialiased,
        positions=_quantize_positions(_f32(columns, GROUPS["positions"]), FRACTIONAL_BITS),
        alphas=_quantize_alphas(np.asarray(columns["opacity"], np.float32)),
        colors=_to_byte(colour * (COLOR_SCALE * np.float32(255)) + np.float32(127.5)),
        scales=_to_byte((_f32(columns, GROUPS["log_scales"]) + np.float32(10)) * np.float32(16)),
        rotations=_quantize_rotations(_f32(columns, GROUPS["quats"])),
        sh=sh,
    )


# ---------------------------------------------------------------- dequantisers
def _byte_table(f) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return f(np.arange(256, dtype=np.float32)).astype(np.float32)


def _alpha_of(b: np.ndarray) -> np.ndarray:
    x = b / np.float32(255)
    with np.errstate(divide="ignore"):
        ratio = x / (np.float32(1) - x)
        return np.log(ratio.astype(np.float64)).astype(np.float32)  # logf, correctly rounded


ALPHA_TABLE = _byte_table(_alpha_of)
"""Byte -> stored opacity: log(a / (1 - a)), a = b / 255; byte 0 is -inf, 255 is +inf."""
COLOR_TABLE = _byte_table(lambda b: (b / np.float32(255) - np.float32(0.5)) / COLOR_SCALE)
SCALE_TABLE = _byte_table(lambda b: b / np.float32(16) - np.float32(10))
SH_TABLE = _byte_table(lambda b: (b - np.float32(128)) / np.float32(128))
ROTATION_TABLE = _byte_table(lambda b: b * np.float32(1 / 127.5) + np.float32(-1))
LOG_SCALE_RANGE = (float(SCALE_TABLE[0]), float(SCALE_TABLE[255]))
"""Log scales an SPZ can hold: [-10, 5.9375]; others clamp."""
POSITION_LIMIT = float(1 << 23) / (1 << FRACTIONAL_BITS)
"""Positions in [-2048, 2048) survive; others wrap around (24-bit fixed point)."""


def _decode_positions(packed: SpzPacked) -> np.ndarray:
    p = packed.positions
    if packed.version == 1:
        return np.ascontiguousarray(p).view("<f2").reshape(packed.count, 3).astype(np.float32)
    fixed = (p[..., 0].astype(np.int32) | (p[..., 1].astype(np.int32) << 8)
             | (p[..., 2].astype(np.int32) << 16))
    fixed = np.where(fixed & 0x800000, fixed - (1 << 24), fixed)
    scale = np.float32(1.0 / (1 << packed.fractional_bits))
    return fixed.astype(np.float32) * scale


def _decode_first_three(r: np.ndarray) -> np.ndarray:
    xyz = ROTATION_TABLE[r]
    sq = xyz * xyz
    w = np.sqrt(np.maximum(np.float32(0), np.float32(1) - ((sq[:, 0] + sq[:, 1]) + sq[:, 2])))
    return np.concatenate([w[:, None], xyz], axis=1)


def _decode_smallest_three(r: np.ndarray) -> np.ndarray:
    """Niantic version 3: two bits name the largest component, three 10-bit signed others."""
    comp = (r[:, 0].astype(np.uint32) | (r[:, 1].astype(np.uint32) << 8)
            | (r[:, 2].astype(np.uint32) << 16) | (r[:, 3].astype(np.uint32) << 24))
    largest = (comp >> 30).astype(np.int64)
    xyzw = np.zeros((len(r), 4), np.float32)
    total = np.zeros(len(r), np.float32)
    rows = np.arange(len(r))
    for i in (3, 2, 1, 0):
        active = largest != i
        magnitude = (comp & 511).astype(np.float64)
        value = (np.sqrt(0.5) * magnitude / 511.0).astype(np.float32)
        value = np.where((comp >> 9) & 1, -value, value)
        xyzw[:, i] = np.where(active, value, 0)
        total = np.where(active, total + value * value, total)
        comp = np.where(active, comp >> 10, comp)
    xyzw[rows, largest] = np.sqrt(np.maximum(np.float32(0), np.float32(1) - total))
    return xyzw[:, [3, 0, 1, 2]]


def decoded_properties(sh_degree: int) -> tuple[str, ...]:
    """Property order of ``pyspz.decompress(..., include_normals=False)``.

    Example:
        >>> decoded_properties(0)[:4], len(decoded_properties(3))
        (('x', 'y', 'z', 'f_dc_0'), 59)
    """
    return (*GROUPS["positions"], *GROUPS["sh_dc"], *f_rest_names(3 * SH_DIM[sh_degree]),
            "opacity", *GROUPS["log_scales"], *GROUPS["quats"])


def _structured(matrix: np.ndarray, sh_degree: int) -> np.ndarray:
    names = decoded_properties(sh_degree)
    return matrix.view(np.dtype([(name, "<f4") for name in names])).reshape(len(matrix))


def decode(packed: SpzPacked) -> np.ndarray:
    """The float32 table ``pyspz.decompress`` gives (a structured array, its property order).

    A payload of version 2, 3 or 4 in one buffer (what :func:`encode`,
    :func:`parse_payload` and :func:`parse_streams` make) is decoded by a compiled loop
    straight into the table; version 1, or streams assembled by hand, by
    :func:`decode_reference`; the bits are the same.

    Example:
        >>> cols = {n: np.full(1, 0.5, np.float32) for n in ENCODED_PROPERTIES}
        >>> float(decode(encode(cols))["scale_0"][0])
        0.5
    """
    if not numba_available():                   # no [fast] extra: the same bits, slower
        return decode_reference(packed)
    buffer = packed.payload_buffer() if packed.version != 1 else None
    if buffer is None:
        return decode_reference(packed)
    from . import spz_kernels

    n, dim = packed.count, SH_DIM[packed.sh_degree]
    matrix = np.empty((n, 14 + 3 * dim), np.float32)
    scale = np.float32(1.0 / (1 << packed.fractional_bits))
    if packed.version == 2:
        spz_kernels.dequantize(buffer[HEADER.size:], n, dim, scale, COLOR_TABLE, ALPHA_TABLE,
                               SCALE_TABLE, ROTATION_TABLE, SH_TABLE, matrix, 0, n)
    else:   # versions 3 and 4: smallest-three rotations
        spz_kernels.dequantize_smallest_three(buffer[HEADER.size:], n, dim, scale, COLOR_TABLE,
                                              ALPHA_TABLE, SCALE_TABLE, SH_TABLE, matrix, 0, n)
    return _structured(matrix, packed.sh_degree)


def decode_reference(packed: SpzPacked) -> np.ndarray:
    """:func:`decode` in numpy (every version): the definition the compiled path is tested
    against.

    Example:
        >>> packed = encode({n: np.full(1, 0.5, np.float32) for n in ENCODED_PROPERTIES})
        >>> float(decode_reference(packed)["scale_0"][0])
        0.5
    """
    n, dim = packed.count, SH_DIM[packed.sh_degree]
    names = decoded_properties(packed.sh_degree)
    matrix = np.empty((n, len(names)), np.float32)
    matrix[:, 0:3] = _decode_positions(packed)
    matrix[:, 3:6] = COLOR_TABLE[packed.colors]
    rest = 3 * dim
    if rest:  # f_rest_{c*dim + j} = sh[j, c]
        matrix[:, 6:6 + rest] = SH_TABLE[packed.sh].transpose(0, 2, 1).reshape(n, rest)
    at = 6 + rest
    matrix[:, at] = ALPHA_TABLE[packed.alphas]
    matrix[:, at + 1:at + 4] = SCALE_TABLE[packed.scales]
    rotations = (_decode_smallest_three(packed.rotations) if packed.version >= 3
                 else _decode_first_three(packed.rotations))
    matrix[:, at + 4:at + 8] = rotations
    return _structured(matrix, packed.sh_degree)


# ---------------------------------------------------------------- payload and containers
def _stream_sizes(version: int, count: int, sh_degree: int) -> list[tuple[str, tuple[int, ...]]]:
    position = (3, 2) if version == 1 else (3, 3)
    rotation = (4,) if version >= 3 else (3,)
    return [("positions", (count, *position)), ("alphas", (count,)), ("colors", (count, 3)),
            ("scales", (count, 3)), ("rotations", (count, *rotation)),
            ("sh", (count, SH_DIM[sh_degree], 3))]


def payload_size(version: int, count: int, sh_degree: int) -> int:
    """Bytes of a payload with this header.

    Example:
        >>> payload_size(2, 1, 0)    # 16 header + 9 + 1 + 3 + 3 + 3
        35
    """
    return HEADER.size + sum(int(np.prod(shape)) for _, shape in
                             _stream_sizes(version, count, sh_degree))


def parse_header(data: bytes, source: str | os.PathLike = "<bytes>",
                 versions: tuple[int, ...] = (1, 2, 3)) -> SpzInfo:
    """Check a payload's 16-byte header; refuse what the library refuses.

    Example:
        >>> parse_header(HEADER.pack(MAGIC, 2, 5, 0, 12, 0, 0)).count
        5
    """
    if len(data) < HEADER.size:
        raise SplatFormatError(source, f"SPZ payload of {len(data)} bytes has no 16-byte header")
    magic, version, count, degree, bits, flags, _ = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise SplatFormatError(source, f"not an SPZ payload (magic {magic:#010x},"
                               f" expected {MAGIC:#010x} 'NGSP')")
    if version not in versions:
        known = ", ".join(str(v) for v in versions)
        raise SplatFormatError(source, f"SPZ version {version} is not supported (reads {known})")
    if count > MAX_POINTS:
        raise SplatFormatError(source, f"SPZ header declares {count:,} points, more than the"
                               f" {MAX_POINTS:,} the library accepts")
    if count == 0:
        raise SplatFormatError(source, "SPZ header declares 0 points")
    if degree > 3:
        raise SplatFormatError(source, f"SPZ SH degree {degree} is not supported (0-3)")
    if version > 1 and bits > 24:
        raise SplatFormatError(source, f"SPZ fractional bits {bits} leave no integer part")
    return SpzInfo("", version, count, degree, bits, bool(flags & FLAG_ANTIALIASED))


def parse_payload(data: bytes, source: str | os.PathLike = "<bytes>",
                  versions: tuple[int, ...] = (1, 2, 3)) -> SpzPacked:
    """Split a decompressed payload into its streams (bytes after them are ignored, as the
    library ignores them).

    Example:
        >>> packed = parse_payload(HEADER.pack(MAGIC, 2, 1, 0, 12, 0, 0) + bytes(19))
        >>> packed.count, packed.positions.shape
        (1, (1, 3, 3))
    """
    info = parse_header(data, source, versions)
    need = payload_size(info.version, info.count, info.sh_degree)
    if len(data) < need:
        raise SplatFormatError(source, f"truncated SPZ payload: {info.count:,} points need"
                               f" {need:,} bytes, {len(data):,} present")
    return _split(np.frombuffer(data, np.uint8, need), info.version, info.count,
                  info.sh_degree, info.fractional_bits, info.antialiased)


def _split(buffer: np.ndarray, version: int, count: int, sh_degree: int, fractional_bits: int,
           antialiased: bool) -> SpzPacked:
    """The packed payload whose streams are views of ``buffer`` (header and streams)."""
    streams, at = {}, HEADER.size
    for name, shape in _stream_sizes(version, count, sh_degree):
        size = int(np.prod(shape))
        streams[name] = buffer[at:at + size].reshape(shape)
        at += size
    return SpzPacked(version, sh_degree, fractional_bits, antialiased, **streams, buffer=buffer)


def detect_container(head: bytes) -> str | None:
    """``"zstd"``, ``"gzip"``, or None, from a file's first bytes.

    Example:
        >>> detect_container(b"\\x28\\xb5\\x2f\\xfd..."), detect_container(b"ply\\n")
        ('zstd', None)
    """
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    return None


def _bounded_decompress(data: bytes, container: str, source) -> bytes:
    """Decompress only as far as the payload header justifies (no bomb can make us
    allocate more than its own declared streams): in one call where that is safe, else
    with :func:`_stream_decompress`, which also words every refusal."""
    payload = (_zstd_one_shot(data, source) if container == "zstd"
               else _gzip_one_shot(data, source))
    return _stream_decompress(data, container, source) if payload is None else payload


def _zstd_one_shot(data: bytes, source) -> bytes | None:
    """The payload in one call when the frame declares its size, that size is the one the
    header justifies and at most :data:`_ONE_SHOT_RATIO` times the frame; None otherwise
    or on any error (then the streaming reader decides and words the refusal)."""
    import zstandard

    try:
        declared = zstandard.get_frame_parameters(data).content_size
        if declared > _ONE_SHOT_RATIO * len(data):    # also CONTENTSIZE_UNKNOWN (2**64 - 1)
            return None
        decompressor = zstandard.ZstdDecompressor()
        head = _read_up_to(decompressor.stream_reader(data, read_across_frames=False),
                           HEADER.size)
        info = parse_header(head, source)
        if declared != payload_size(info.version, info.count, info.sh_degree):
            return None
        payload = decompressor.decompress(data)         # allocates ``declared`` bytes
    except (zstandard.ZstdError, SplatFormatError):
        return None
    return payload if len(payload) == declared else None


def _inflater():
    """python-isal's ``isal_zlib`` where it is installed (ISA-L's inflate: about half the
    time of zlib's on an SPZ payload), else the standard library's :mod:`zlib`. Both inflate
    the same bytes; only the speed differs."""
    try:
        from isal import isal_zlib
    except ImportError:
        return zlib
    return isal_zlib


def _payload_head(data: bytes, container: str) -> bytes | None:
    """The first 16 payload bytes of a zstd frame or gzip member (fewer when it holds
    fewer), or None when they cannot be inflated."""
    if container == "zstd":
        import zstandard

        try:
            reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=False)
            return _read_up_to(reader, HEADER.size)
        except zstandard.ZstdError:
            return None
    inflater = _inflater()
    try:
        return inflater.decompressobj(31).decompress(memoryview(data)[:1 << 16], HEADER.size)
    except (zlib.error, inflater.error):
        return None


def _gzip_one_shot(data: bytes, source) -> bytes | None:
    """The payload in one inflate call of at most the size the header justifies (the output
    grows with what is inflated); None when that is not a whole payload or on any error
    (then the streaming reader decides, reading further members as :mod:`gzip` does)."""
    inflater = _inflater()
    try:
        info = parse_header(_payload_head(data, "gzip") or b"", source)
        need = payload_size(info.version, info.count, info.sh_degree)
        payload = inflater.decompressobj(31).decompress(data, need)
    except (zlib.error, inflater.error, SplatFormatError):
        return None
    return payload if len(payload) == need else None


def _stream_decompress(data: bytes, container: str, source) -> bytes:
    """Decompress with a streaming reader, 4 MiB at a time, as far as the header says."""
    if container == "zstd":
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=False)
        errors: tuple[type[Exception], ...] = (zstandard.ZstdError,)
    else:
        reader = gzip.GzipFile(fileobj=_BytesReader(data))
        errors = (OSError, EOFError, zlib.error)
    try:
        head = _read_up_to(reader, HEADER.size)
        if len(head) < HEADER.size:
            raise SplatFormatError(source, f"truncated or empty {container} stream: it holds"
                                   f" {len(head)} bytes, less than the 16-byte SPZ header")
        info = parse_header(head, source)
        need = payload_size(info.version, info.count, info.sh_degree)
        body = _read_up_to(reader, need - len(head))
    except errors as e:
        raise SplatFormatError(source, f"corrupt {container} stream ({_one_line(e)})") from None
    payload = head + body
    if len(payload) < need:
        raise SplatFormatError(source, f"truncated SPZ: {info.count:,} points need {need:,}"
                               f" payload bytes, the {container} stream holds {len(payload):,}")
    return payload


class _BytesReader:
    """A minimal file object over bytes for :class:`gzip.GzipFile` (no copy)."""

    def __init__(self, data: bytes):
        self._view = memoryview(data)
        self._at = 0

    def read(self, size: int = -1) -> bytes:
        stop = len(self._view) if size is None or size < 0 else self._at + size
        chunk = self._view[self._at:stop]
        self._at += len(chunk)
        return bytes(chunk)


def _read_up_to(reader, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        block = reader.read(min(_READ_BLOCK, size - got))
        if not block:
            break
        parts.append(block)
        got += len(block)
    return b"".join(parts)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def read(path: str | os.PathLike) -> tuple[SpzPacked, SpzInfo, bytes]:
    """Read an SPZ file: its streams, what its header says, and the file's bytes.

    Raises :class:`SplatFormatError` with one line naming the file for anything the
    library would refuse.

    Example:
        >>> from splatlab import data
        >>> packed, info, _ = read(data.path("trellis.spz"))
        >>> info.container, info.version, packed.count
        ('zstd', 2, 7040)
    """
    path = Path(path)
    data = file_bytes(path)
    packed, info = read_bytes(data, path)
    return packed, info, data


def read_bytes(data: bytes | memoryview, source: str | os.PathLike = "<bytes>"
               ) -> tuple[SpzPacked, SpzInfo]:
    """Read SPZ bytes (either container).

    Example:
        >>> cols = {n: np.zeros(3, np.float32) for n in ENCODED_PROPERTIES}
        >>> read_bytes(to_bytes(encode(cols), "gzip"))[1].container
        'gzip'
    """
    head = bytes(data[:4])
    container = detect_container(head)
    if container is None:
        if head == MAGIC.to_bytes(4, "little"):
            packed = parse_streams(data, source)
            info = SpzInfo(STREAMS_CONTAINER, packed.version, packed.count, packed.sh_degree,
                           packed.fractional_bits, packed.antialiased)
            return packed, info
        raise SplatFormatError(source, "not an SPZ file (neither a zstd nor a gzip stream)")
    payload = _bounded_decompress(data, container, source)
    packed = parse_payload(payload, source)
    if container == "zstd" and packed.version == 3:
        raise SplatFormatError(source, "SPZ version 3 in a zstd frame: no tool writes that")
    info = SpzInfo(container, packed.version, packed.count, packed.sh_degree,
                   packed.fractional_bits, packed.antialiased)
    return packed, info


def read_decoded(path: str | os.PathLike) -> tuple[np.ndarray, SpzInfo, np.ndarray]:
    """:func:`read` and :func:`decode` in one: the decoded table, what the header says and
    the file's bytes, memory-mapped (read-only uint8: inflated in place, never copied); the
    bits of ``decode(read(path)[0])``, and its refusals.

    A payload of version 2 in one gzip member or zstd frame is decoded while it is
    inflated (:func:`_decode_while_inflating`); anything else, or anything that goes wrong
    on the way, takes :func:`read_bytes` then :func:`decode`.

    Example:
        >>> from splatlab import data
        >>> table, info, _ = read_decoded(data.path("trellis.spz"))
        >>> info.container, len(table), table.dtype.names[:3]
        ('zstd', 7040, ('x', 'y', 'z'))
    """
    path = Path(path)
    try:
        mapped = map_bytes(path, 0, path.stat().st_size)
    except OSError as e:
        raise SplatFormatError(path, f"cannot open ({e.strerror})") from None
    data = memoryview(mapped)
    decoded = _decode_while_inflating(data, path)
    if decoded is None:
        packed, info = read_bytes(data, path)
        decoded = decode(packed), info
    return (*decoded, mapped)


_INFLATE_STEP = 1 << 21
"""Compressed bytes a gzip inflate call takes (about twice as many come out), and payload
bytes a zstd read gives: the rows decoded a step."""


class _Filled:
    """How far another thread has filled a buffer, and whether it has stopped."""

    def __init__(self):
        import threading

        self._changed = threading.Condition()
        self._count, self._stopped = 0, False

    def advance(self, count: int) -> None:
        with self._changed:
            self._count = count
            self._changed.notify_all()

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify_all()

    def wait_for(self, count: int) -> int:
        """The bytes filled once there are at least ``count``, or all there will be."""
        with self._changed:
            self._changed.wait_for(lambda: self._count >= count or self._stopped)
            return self._count


def _decode_while_inflating(data: bytes | memoryview, source
                            ) -> tuple[np.ndarray, SpzInfo] | None:
    """The decoded table of a version-2 payload in one gzip member or zstd frame, the
    compiled loop decoding the rows whose bytes are in while another thread inflates the
    rest (inflate and the loop both release the GIL: on two cores the decode costs little
    more than the inflate). None where :func:`read_bytes` must decide: another container
    or version (version 3's loop runs on numba's threads, which beside the inflate would
    take its core: read then decoded it was as fast), a payload the file's size does not
    justify (at most :data:`_ONE_SHOT_RATIO` bytes a compressed byte, so a small file
    cannot make us allocate much), or a stream that is corrupt, short or in several
    members, or no numba (the [fast] extra): the overlap is the compiled loop's."""
    if not numba_available():
        return None
    container = detect_container(bytes(data[:4]))
    head = None if container is None else _payload_head(data, container)
    try:
        info = parse_header(head or b"", source)
    except SplatFormatError:
        return None
    if info.version != 2:   # 3: its decode already runs on both cores, after the inflate
        return None
    need = payload_size(info.version, info.count, info.sh_degree)
    if need > _ONE_SHOT_RATIO * len(data):
        return None
    from concurrent.futures import ThreadPoolExecutor

    from . import spz_kernels

    n, dim = info.count, SH_DIM[info.sh_degree]
    sizes = [int(np.prod(shape)) for _, shape in _stream_sizes(info.version, n, info.sh_degree)]
    last = max(i for i, size in enumerate(sizes) if size)
    last_at, last_row = HEADER.size + sum(sizes[:last]), sizes[last] // n
    buffer = np.empty(need, np.uint8)
    matrix = np.empty((n, 14 + 3 * dim), np.float32)
    scale = np.float32(1.0 / (1 << info.fractional_bits))
    filled, decoded = _Filled(), 0
    inflate = _inflate_zstd_into if container == "zstd" else _inflate_gzip_into
    with ThreadPoolExecutor(1) as pool:
        inflating = pool.submit(inflate, data, buffer, filled)
        while decoded < n:   # row i is in once the last stream holds it: the others precede
            ready = min(n, (filled.wait_for(last_at + last_row * (decoded + 1)) - last_at)
                        // last_row)
            if ready <= decoded:
                break
            spz_kernels.dequantize(buffer[HEADER.size:], n, dim, scale, COLOR_TABLE,
                                   ALPHA_TABLE, SCALE_TABLE, ROTATION_TABLE, SH_TABLE, matrix,
                                   decoded, ready)
            decoded = ready
        if not inflating.result() or decoded < n:
            return None
    info = SpzInfo(container, info.version, n, info.sh_degree, info.fractional_bits,
                   info.antialiased)
    return _structured(matrix, info.sh_degree), info


def _inflate_gzip_into(data: bytes | memoryview, buffer: np.ndarray, filled: _Filled) -> bool:
    """Inflate the first gzip member of ``data`` into ``buffer`` (no further than its
    size), telling ``filled`` as it goes; whether it filled it."""
    inflater = _inflater()
    stream, view = inflater.decompressobj(31), memoryview(data)
    at = got = 0
    try:
        while got < len(buffer):
            if stream.unconsumed_tail:
                block = stream.decompress(stream.unconsumed_tail, len(buffer) - got)
            elif stream.eof or at >= len(view):
                break
            else:
                block = stream.decompress(view[at:at + _INFLATE_STEP], len(buffer) - got)
                at += _INFLATE_STEP
            buffer[got:got + len(block)] = np.frombuffer(block, np.uint8)  # copy frees the GIL
            got += len(block)
            filled.advance(got)
    except (zlib.error, inflater.error):
        return False
    finally:
        filled.stop()
    return got == len(buffer)


def _inflate_zstd_into(data: bytes | memoryview, buffer: np.ndarray, filled: _Filled) -> bool:
    """Decompress the first zstd frame of ``data`` into ``buffer`` (no further than its
    size), telling ``filled`` as it goes; whether it filled it."""
    import zstandard

    out, got = memoryview(buffer), 0
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=False)
        while got < len(out):
            count = reader.readinto(out[got:got + _INFLATE_STEP])
            if not count:
                break
            got += count
            filled.advance(got)
    except zstandard.ZstdError:
        return False
    finally:
        filled.stop()
    return got == len(out)


def parse_streams(data: bytes, source: str | os.PathLike = "<bytes>") -> SpzPacked:
    """The streams of a Niantic version-4 file: a 32-byte plaintext header, a table of
    (compressed, decompressed) sizes, one zstd frame a non-empty stream.

    Each stream is decompressed to at most the size the header justifies, so a file lying
    about its sizes allocates nothing more.

    Example:
        >>> cols = {n: np.zeros(2, np.float32) for n in ENCODED_PROPERTIES}
        >>> parse_streams(to_streams_bytes(encode(cols))).version
        4
    """
    if len(data) < STREAMS_HEADER.size:
        raise SplatFormatError(source, f"SPZ v4 file of {len(data)} bytes has no 32-byte header")
    magic, version, count, degree, bits, flags, streams, toc = STREAMS_HEADER.unpack_from(data)
    parse_header(HEADER.pack(magic, version, count, degree, bits, flags, 0), source,
                 versions=(STREAMS_VERSION,))
    sizes = [(name, int(np.prod(shape))) for name, shape in _stream_sizes(version, count, degree)]
    sizes = [(name, size) for name, size in sizes if size]
    if streams != len(sizes):
        raise SplatFormatError(source, f"SPZ v4 header declares {streams} streams; {count:,}"
                               f" points of SH degree {degree} have {len(sizes)}")
    if toc < STREAMS_HEADER.size or toc + 16 * streams > len(data):
        raise SplatFormatError(source, f"SPZ v4 table of streams at byte {toc} lies outside the"
                               f" file ({len(data):,} bytes)")
    entries, at = [], toc + 16 * streams
    for i, (name, need) in enumerate(sizes):   # every size checked before any allocation
        compressed, size = struct.unpack_from("<QQ", data, toc + 16 * i)
        if size != need:
            raise SplatFormatError(source, f"SPZ v4 stream {name} declares {size:,} bytes;"
                                   f" {count:,} points need {need:,}")
        if at + compressed > len(data):
            raise SplatFormatError(source, f"truncated SPZ v4: stream {name} needs"
                                   f" {compressed:,} bytes at {at:,}, the file has {len(data):,}")
        entries.append((name, need, at, compressed))
        at += compressed
    import zstandard

    bounded = all(need <= _ONE_SHOT_RATIO * compressed for _, need, _, compressed in entries)
    payload = (memoryview(np.empty(HEADER.size + sum(need for _, need, _, _ in entries),
                                   np.uint8)) if bounded else None)   # every byte written
    offsets = np.cumsum([HEADER.size] + [need for _, need, _, _ in entries]).tolist()

    def inflate(i: int) -> bytes | None:
        name, need, at, compressed = entries[i]
        frame = memoryview(data)[at:at + compressed]
        reader = zstandard.ZstdDecompressor().stream_reader(frame, read_across_frames=False)
        try:
            if payload is not None:   # straight into the payload: sizes bounded by the file's
                target = memoryview(payload)[offsets[i]:offsets[i] + need]
                got = 0
                while got < need:
                    n = reader.readinto(target[got:])
                    if not n:
                        break
                    got += n
                block = None
            else:                     # grows with what the frame really holds
                block = _read_up_to(reader, need)
                got = len(block)
        except zstandard.ZstdError as e:
            raise SplatFormatError(source, f"corrupt zstd stream {name} in SPZ v4"
                                   f" ({_one_line(e)})") from None
        if got != need:
            raise SplatFormatError(source, f"truncated SPZ v4 stream {name}: {got:,} of"
                                   f" {need:,} bytes")
        return block

    from concurrent.futures import ThreadPoolExecutor

    largest_first = sorted(range(len(entries)), key=lambda i: -entries[i][1])
    with ThreadPoolExecutor(min(len(entries), os.cpu_count() or 1)) as pool:  # zstd frees the GIL
        inflated = dict(zip(largest_first, pool.map(inflate, largest_first)))
    blocks = [inflated[i] for i in range(len(entries))]
    header = HEADER.pack(magic, version, count, degree, bits, flags, 0)
    if payload is None:
        payload = b"".join([header, *blocks])
    else:
        payload[:HEADER.size] = header
    payload = np.frombuffer(payload, np.uint8)
    return _split(payload, version, count, degree, bits, bool(flags & FLAG_ANTIALIASED))


def to_streams_bytes(packed: SpzPacked, level: int = 1) -> bytes:
    """A Niantic version-4 file of ``packed``'s streams (its rotations must be
    smallest-three, as versions 3 and 4 store them; other versions are refused).

    Example:
        >>> cols = {n: np.zeros(1, np.float32) for n in ENCODED_PROPERTIES}
        >>> to_streams_bytes(encode(cols))[:8].hex()
        '4e47535004000000'
    """
    if packed.version == 2:
        packed = _with_smallest_three(packed)
    if packed.version not in (3, STREAMS_VERSION):
        raise ValueError(f"SPZ version {packed.version} streams cannot be written as version 4")
    import zstandard

    compressor = zstandard.ZstdCompressor(level=level, write_content_size=True)
    streams = [np.ascontiguousarray(getattr(packed, name)).tobytes()
               for name, shape in _stream_sizes(STREAMS_VERSION, packed.count, packed.sh_degree)
               if int(np.prod(shape))]
    frames = [compressor.compress(s) for s in streams]
    flags = FLAG_ANTIALIASED if packed.antialiased else 0
    header = STREAMS_HEADER.pack(MAGIC, STREAMS_VERSION, packed.count, packed.sh_degree,
                                 packed.fractional_bits, flags, len(frames), STREAMS_HEADER.size)
    toc = b"".join(struct.pack("<QQ", len(f), len(s)) for f, s in zip(frames, streams))
    return header + toc + b"".join(frames)


def _with_smallest_three(packed: SpzPacked) -> SpzPacked:
    """A version-2 payload with its rotations re-packed smallest-three (version 4)."""
    rotations = decode_reference(packed)[list(GROUPS["quats"])]
    wxyz = np.stack([rotations[n] for n in GROUPS["quats"]], axis=1)
    return SpzPacked(STREAMS_VERSION, packed.sh_degree, packed.fractional_bits,
                     packed.antialiased, packed.positions, packed.alphas, packed.colors,
                     packed.scales, _pack_smallest_three(wxyz), packed.sh)


def _pack_smallest_three(wxyz: np.ndarray) -> np.ndarray:
    """(N, 4) uint8 of Niantic's smallest-three: the largest |component| index in the top two
    bits, then the other three, each a sign bit and 9 bits of magnitude over sqrt(1/2)."""
    xyzw = wxyz[:, [1, 2, 3, 0]].astype(np.float64)
    xyzw /= np.maximum(np.linalg.norm(xyzw, axis=1, keepdims=True), 1e-30)
    largest = np.argmax(np.abs(xyzw), axis=1)
    rows = np.arange(len(xyzw))
    xyzw = np.where((xyzw[rows, largest] < 0)[:, None], -xyzw, xyzw)
    word = largest.astype(np.uint32)
    for i in range(4):
        keep = largest != i
        magnitude = np.clip(np.floor(np.abs(xyzw[:, i]) / np.sqrt(0.5) * 511 + 0.5), 0, 511)
        value = magnitude.astype(np.uint32) | ((xyzw[:, i] < 0).astype(np.uint32) << 9)
        word = np.where(keep, (word << np.uint32(10)) | value, word)
    return word.astype("<u4").view(np.uint8).reshape(len(xyzw), 4)


def to_bytes(packed: SpzPacked, container: str = "zstd", level: int | None = None) -> bytes:
    """The file bytes of ``packed`` in ``container`` (zstd as pyspz, gzip as Niantic's spz).

    ``level`` defaults to 1 for zstd (pyspz's) and 6 for gzip.

    Example:
        >>> cols = {n: np.zeros(1, np.float32) for n in ENCODED_PROPERTIES}
        >>> to_bytes(encode(cols))[:4] == ZSTD_MAGIC
        True
    """
    buffer = packed.payload_buffer()
    payload = packed.to_payload() if buffer is None else buffer  # no copy of encode's buffer
    if container == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=level or 1, write_content_size=True).compress(
            payload)
    if container == "gzip":
        return gzip.compress(payload, compresslevel=6 if level is None else level, mtime=0)
    raise ValueError(f"unknown SPZ container {container!r}; known: {', '.join(CONTAINERS)}")


__all__ = [
    "ALPHA_TABLE", "COLOR_SCALE", "COMPRESS_MAX_POINTS", "CONTAINERS", "ENCODED_PROPERTIES",
    "FRACTIONAL_BITS", "HEADER", "LOG_SCALE_RANGE", "MAGIC", "MAX_POINTS", "POSITION_LIMIT",
    "SH_DIM", "STREAMS_CONTAINER", "STREAMS_HEADER", "STREAMS_VERSION", "SpzInfo", "SpzPacked",
    "decode", "decode_reference", "decoded_properties",
    "degree_for_dim", "detect_container", "encode", "encode_reference", "parse_header",
    "parse_payload", "parse_streams", "payload_size", "read", "read_bytes", "read_decoded",
    "sh_rest_count",
    "to_bytes", "to_streams_bytes",
]
