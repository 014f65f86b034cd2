"""Read and write PlayCanvas's compressed PLY (what splat-transform and SuperSplat write).

A compressed PLY is a binary little-endian PLY of two or three elements:

* ``chunk``: one row a chunk of 256 gaussians, float32 min/max of position, log scale and
  (optionally) colour over the chunk;
* ``vertex``: four uint32 a gaussian, ``packed_position`` (11-10-11 bits, lerped between
  the chunk's min and max), ``packed_rotation`` (2 bits naming the largest component, three
  10-bit others, smallest-three), ``packed_scale`` (11-10-11) and ``packed_color``
  (8-8-8-8: r, g, b lerped in the chunk's colour range, alpha = sigmoid(opacity));
* ``sh`` (optional): uchar ``f_rest_0..`` (9, 24 or 45), value ``(n - 0.5) * 8`` with
  n = byte / 256 (+ 0.5 a half step, 0 and 255 mapping to the ends).

A file whose header has a ``chunk`` element or ``packed_*`` vertex properties is never
read as a plain point cloud: either it is this layout exactly, or it is refused.

Decoding does splat-transform 3.10.2's arithmetic (``decompress-ply``): float64 from the
float32 chunk bounds, one rounding to float32 at the end; so every field agrees with its
decodes, in stored order, to within float32 rounding of ``log``. Opacity bytes 0 and 255
decode to -inf and +inf, as splat-transform decodes them (``-log(1/a - 1)``).

Why our own codec: gsply 0.4.6 reads this layout, but it clamps opacity to [-10, 10]
where the reference gives +-inf (183 gaussians of the hamburger fixture), so it hides
the saturation a forensic reader must see; and our numpy decode is one array operation a
field (tests/test_formats.py checks it against the reference decodes; bench/bench_formats.py
measures it beside gsply).

Writing packs as splat-transform's ``CompressedChunk`` does (chunk bounds over the chunk's
rows, log scales bounded to [-20, 20], ``floor(v * (2^bits - 1) + 0.5)``), in Morton order
of the positions by default (as splat-transform, which sorts so that a chunk is compact in
space) or in the given order with ``order="keep"`` (rows stay matched to the input; chunk
bounds are then wider, so positions lose more). Non-finite values are written as
splat-transform's arithmetic leaves them: NaN packs as 0, +-inf as the chunk's ends.

Example:
    >>> import numpy as np
    >>> columns = {n: np.zeros(3, np.float32) for n in ENCODED_PROPERTIES}
    >>> columns["x"] = np.array([0.0, 0.5, 1.0], np.float32)
    >>> columns["rot_0"] = np.ones(3, np.float32)
    >>> table = decode_bytes(encode(columns, order="keep"))
    >>> table["x"].tolist(), float(table["rot_0"][0])   # w from three 10-bit half steps
    ([0.0, 0.5002442598342896, 1.0], 0.9999992847442627)
"""

from __future__ import annotations

import os

import numpy as np

from .compiled import numba_available
from .fields import GROUPS, SH_C0, f_rest_names, missing_properties
from .floats import values_as_data
from .ply import PlyHeader, SplatFormatError, map_bytes, parse_header, read_layout

CHUNK_SIZE = 256
"""Gaussians a chunk."""
CHUNK_PROPERTIES = ("min_x", "min_y", "min_z", "max_x", "max_y", "max_z",
                    "min_scale_x", "min_scale_y", "min_scale_z",
                    "max_scale_x", "max_scale_y", "max_scale_z")
COLOR_PROPERTIES = ("min_r", "min_g", "min_b", "max_r", "max_g", "max_b")
"""Optional chunk colour range (without it, colours are unorm bytes in [0, 1])."""
PACKED_PROPERTIES = ("packed_position", "packed_rotation", "packed_scale", "packed_color")
SH_COUNTS = (9, 24, 45)
SCALE_BOUND = 20.0
"""splat-transform bounds a chunk's log-scale range to [-20, 20] ("sometimes values are at
infinity"): log scales beyond it come back clamped."""
ENCODED_PROPERTIES = ("x", "y", "z", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2",
                      "rot_3", "opacity", "f_dc_0", "f_dc_1", "f_dc_2")
"""Properties the writer needs; ``f_rest_0..`` (9, 24 or 45) are optional."""


def looks_compressed(header: PlyHeader) -> bool:
    """True when a PLY header shows the compressed layout's marks (a ``chunk`` element or
    a ``packed_*`` vertex property): such a file is read as compressed PLY or refused.

    Example:
        >>> looks_compressed(parse_header(b"ply\\nformat binary_little_endian 1.0\\n"
        ...     b"element vertex 1\\nproperty uint packed_position\\nend_header\\n"))
        True
    """
    names = {p.name for p in header.vertex.properties}
    return (any(e.name == "chunk" for e in header.elements)
            or any(n.startswith("packed_") for n in names))


def check_header(header: PlyHeader, source: str | os.PathLike = "<bytes>") -> int:
    """Refuse a header that is not exactly the compressed layout; the SH count (0, 9...).

    Example:
        >>> try:
        ...     check_header(parse_header(b"ply\\nformat ascii 1.0\\nelement chunk 0\\n"
        ...         b"property float min_x\\nelement vertex 0\\nproperty float x\\nend_header\\n"))
        ... except SplatFormatError as e:
        ...     print(e)
        <bytes>: compressed PLY must be binary (little-endian), not ascii
    """
    def refuse(problem: str):
        return SplatFormatError(source, f"compressed PLY {problem}")

    if header.format != "binary_little_endian":
        raise SplatFormatError(source, "compressed PLY must be binary (little-endian), not"
                               f" {header.format}")
    elements = {e.name: e for e in header.elements}
    order = [e.name for e in header.elements]
    if order not in (["chunk", "vertex"], ["chunk", "vertex", "sh"]):
        raise refuse(f"has elements {', '.join(order)}; expected chunk, vertex[, sh]")
    chunk, vertex = elements["chunk"], elements["vertex"]
    chunk_names = [p.name for p in chunk.properties]
    if chunk_names not in (list(CHUNK_PROPERTIES), [*CHUNK_PROPERTIES, *COLOR_PROPERTIES]):
        raise refuse("'chunk' properties are not min/max of position, scale[, colour]")
    if any(p.type not in ("float", "float32") for p in chunk.properties):
        raise refuse("'chunk' properties must be float")
    if ([p.name for p in vertex.properties] != list(PACKED_PROPERTIES)
            or any(p.type not in ("uint", "uint32") for p in vertex.properties)):
        raise refuse("'vertex' must hold uint " + ", ".join(PACKED_PROPERTIES))
    expected_chunks = -(-vertex.count // CHUNK_SIZE)
    if chunk.count != expected_chunks:
        raise refuse(f"declares {chunk.count:,} chunks for {vertex.count:,} gaussians"
                     f" (256 a chunk: {expected_chunks:,})")
    sh = elements.get("sh")
    if sh is None:
        return 0
    names = [p.name for p in sh.properties]
    if (len(names) not in SH_COUNTS or names != list(f_rest_names(len(names)))
            or any(p.type not in ("uchar", "uint8") for p in sh.properties)):
        raise refuse("'sh' must hold 9, 24 or 45 uchar f_rest_* properties")
    if sh.count != vertex.count:
        raise refuse(f"'sh' has {sh.count:,} rows for {vertex.count:,} gaussians")
    return len(names)


def read(path: str | os.PathLike) -> np.ndarray:
    """The decoded float32 table of a compressed PLY file (stored order).

    Raises :class:`SplatFormatError` with one line for anything but the exact layout.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> cols = {n: np.full(2, 0.5, np.float32) for n in ENCODED_PROPERTIES}
        >>> path = Path(tempfile.mkdtemp()) / "a.compressed.ply"
        >>> _ = path.write_bytes(encode(cols))
        >>> read(path)["scale_0"].tolist()
        [0.5, 0.5]
    """
    return read_mapped(path)[0]


def read_mapped(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """:func:`read`, and the file's bytes memory-mapped (read-only uint8), which the decode
    reads in place: no copy of the file is made first (the pages come from the page cache
    as the decode threads reach them), and the mapping keeps the bytes to write back.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> cols = {n: np.zeros(3, np.float32) for n in ENCODED_PROPERTIES}
        >>> path = Path(tempfile.mkdtemp()) / "a.compressed.ply"
        >>> _ = path.write_bytes(encode(cols))
        >>> table, mapped = read_mapped(path)
        >>> len(table), mapped.tobytes() == path.read_bytes()
        (3, True)
    """
    layout = read_layout(path)
    rest = check_header(layout.header, layout.path)
    data = map_bytes(layout.path, 0, layout.file_size)
    return _decode_body(data, len(layout.header.raw), layout.header, rest, layout.path), data


def decode_bytes(data: bytes, source: str | os.PathLike = "<bytes>") -> np.ndarray:
    """:func:`read` of a compressed PLY held in memory."""
    end = data.find(b"end_header")
    if not data.startswith(b"ply") or end < 0:
        raise SplatFormatError(source, "not a PLY file (no 'end_header')")
    stop = data.index(b"\n", end) + 1
    header = parse_header(data[:stop], source)
    rest = check_header(header, source)
    return _decode_body(data, stop, header, rest, source)


def _decode_body(data: bytes | np.ndarray, at: int, header: PlyHeader, rest: int,
                 source: str | os.PathLike = "<bytes>") -> np.ndarray:
    elements = {e.name: e for e in header.elements}
    chunk_dtype = elements["chunk"].dtype("<")
    n = elements["vertex"].count
    sizes = [elements["chunk"].count * chunk_dtype.itemsize, 16 * n, rest * n]
    if len(data) < at + sum(sizes):
        raise SplatFormatError(source, f"truncated compressed PLY: {n:,} gaussians need"
                               f" {sum(sizes):,} body bytes, {len(data) - at:,} present")
    chunks = np.frombuffer(data, chunk_dtype, elements["chunk"].count, at)
    packed = np.frombuffer(data, "<u4", 4 * n, at + sizes[0]).reshape(n, 4)
    sh = np.frombuffer(data, np.uint8, rest * n, at + sizes[0] + sizes[1]).reshape(n, rest)
    return decode(chunks, packed, sh)


def _unorm(value: np.ndarray, shift: int, bits: int) -> np.ndarray:
    mask = (1 << bits) - 1
    return ((value >> np.uint32(shift)) & np.uint32(mask)).astype(np.float64) / mask


def _lerp(chunks: np.ndarray, low: str, high: str, t: np.ndarray) -> np.ndarray:
    rows = np.arange(len(t)) // CHUNK_SIZE
    a = chunks[low].astype(np.float64)[rows]
    b = chunks[high].astype(np.float64)[rows]
    return a * (1 - t) + b * t


SH_TABLE = ((np.where(np.arange(256) == 0, 0.0,
                      np.where(np.arange(256) == 255, 1.0, (np.arange(256) + 0.5) / 256))
             - 0.5) * 8).astype(np.float32)
"""Byte -> f_rest: ``(n - 0.5) * 8``, n = 0 for byte 0, 1 for 255, (b + 0.5) / 256 else."""


with np.errstate(divide="ignore"):
    ALPHA_TABLE = (-np.log(1 / (np.arange(256) / 255) - 1)).astype(np.float32)
"""Alpha byte -> opacity: ``-log(1 / a - 1)``, a = b / 255 (bytes 0 and 255: -inf, +inf)."""


def decoded_properties(rest: int) -> tuple[str, ...]:
    """Property order of the decoded table (INRIA's, as every decoded format here).

    Example:
        >>> decoded_properties(0)[-4:]
        ('rot_0', 'rot_1', 'rot_2', 'rot_3')
    """
    return (*GROUPS["positions"], *GROUPS["sh_dc"], *f_rest_names(rest), "opacity",
            *GROUPS["log_scales"], *GROUPS["quats"])


def empty_table(count: int, rest: int) -> np.ndarray:
    """A float32 table of ``count`` rows in :func:`decoded_properties` order."""
    return np.empty(count, [(name, "<f4") for name in decoded_properties(rest)])


def decode(chunks: np.ndarray, packed: np.ndarray, sh: np.ndarray) -> np.ndarray:
    """The float32 table of chunk rows, (N, 4) packed words and (N, K) SH bytes: the
    compiled loop of :mod:`splatlab.core.format_kernels`, bits equal to
    :func:`decode_reference`.

    Example:
        >>> chunks = np.zeros(1, [(n, "<f4") for n in CHUNK_PROPERTIES])
        >>> words = np.array([[0, 0, 0, 0xFF]], np.uint32)   # alpha byte 255
        >>> float(decode(chunks, words, np.zeros((1, 0), np.uint8))["opacity"][0])
        inf
    """
    if not numba_available():                   # no [fast] extra: the same bits, slower
        return decode_reference(chunks, packed, sh)
    n, rest = len(packed), sh.shape[1]
    names = chunks.dtype.names
    matrix = np.stack([chunks[name].astype(np.float32) for name in names], axis=1)
    out = np.empty((n, 14 + rest), np.float32)
    matrix, words = np.ascontiguousarray(matrix), np.ascontiguousarray(packed, np.uint32)
    _decode_in_parts(matrix, "min_r" in names, words, sh, out)
    return out.view(np.dtype([(name, "<f4") for name in decoded_properties(rest)])).reshape(n)


def _decode_in_parts(matrix: np.ndarray, has_colour: bool, words: np.ndarray,
                     sh: np.ndarray, out: np.ndarray) -> None:
    """``format_kernels.decode_compressed`` over a part of the rows a core, each part whole
    chunks, in threads (the kernel releases the GIL; numba's own parallel loops run slower
    than this with the threading layer this machine has)."""
    from . import format_kernels

    n = len(words)
    parts = min(os.cpu_count() or 1, max(1, n // (64 * CHUNK_SIZE)))
    bounds = [CHUNK_SIZE * (len(matrix) * p // parts) for p in range(parts)] + [n]

    def decode_part(p: int) -> None:
        a, b = min(bounds[p], n), min(bounds[p + 1], n)
        format_kernels.decode_compressed(matrix[a // CHUNK_SIZE:], has_colour, words[a:b],
                                         sh[a:b], SH_TABLE, ALPHA_TABLE, out[a:b])

    if parts == 1:
        decode_part(0)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(parts) as pool:
        list(pool.map(decode_part, range(parts)))


@values_as_data  # opacity bytes 0 and 255 give -inf and +inf, as the reference does
def decode_reference(chunks: np.ndarray, packed: np.ndarray, sh: np.ndarray) -> np.ndarray:
    """:func:`decode` in numpy, one array operation a step: the definition.

    Example:
        >>> chunks = np.zeros(1, [(n, "<f4") for n in CHUNK_PROPERTIES])
        >>> words = np.array([[0, 0, 0, 0xFF]], np.uint32)   # alpha byte 255
        >>> float(decode_reference(chunks, words, np.zeros((1, 0), np.uint8))["opacity"][0])
        inf
    """
    n, rest = len(packed), sh.shape[1]
    out = empty_table(n, rest)
    position, rotation, scale, color = (packed[:, i] for i in range(4))
    for axis, (name, shift, bits) in enumerate(zip("xyz", (21, 11, 0), (11, 10, 11))):
        out[name] = _lerp(chunks, f"min_{name}", f"max_{name}", _unorm(position, shift, bits))
        out[f"scale_{axis}"] = _lerp(chunks, f"min_scale_{name}", f"max_scale_{name}",
                                     _unorm(scale, shift, bits))
    has_colour = "min_r" in chunks.dtype.names
    for axis, (channel, shift) in enumerate(zip("rgb", (24, 16, 8))):
        c = _unorm(color, shift, 8)
        if has_colour:
            c = _lerp(chunks, f"min_{channel}", f"max_{channel}", c)
        out[f"f_dc_{axis}"] = (c - 0.5) / SH_C0
    alpha = _unorm(color, 0, 8)
    out["opacity"] = -np.log(1 / alpha - 1)
    out_rot = _decode_rotations(rotation)
    for i in range(4):
        out[f"rot_{i}"] = out_rot[:, i]
    for i in range(rest):
        out[f"f_rest_{i}"] = SH_TABLE[sh[:, i]]
    return out


def _decode_rotations(words: np.ndarray) -> np.ndarray:
    norm = 1.0 / (np.sqrt(2) * 0.5)
    abc = np.stack([(_unorm(words, s, 10) - 0.5) * norm for s in (20, 10, 0)], axis=1)
    m = np.sqrt(np.maximum(0, 1.0 - ((abc[:, 0] * abc[:, 0] + abc[:, 1] * abc[:, 1])
                                     + abc[:, 2] * abc[:, 2])))
    which = (words >> np.uint32(30)).astype(np.int64)
    # the three stored components fill the slots other than ``which``, in order
    slots = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])[which]
    out = np.empty((len(words), 4), np.float64)
    rows = np.arange(len(words))[:, None]
    out[rows, slots] = abc
    out[rows[:, 0], which] = m
    return out


# ---------------------------------------------------------------- writing
def morton_order(positions: np.ndarray) -> np.ndarray:
    """Row order along a Morton (Z-order) curve of the positions, 10 bits an axis over
    their bounding box (non-finite positions count as the box's low corner); stable.

    Example:
        >>> morton_order(np.array([[1, 1, 1], [0, 0, 0], [1, 0, 0]], np.float32)).tolist()
        [1, 2, 0]
    """
    p = np.asarray(positions, np.float64).reshape(-1, 3)
    finite = np.isfinite(p)
    low = np.where(finite, p, np.inf).min(axis=0, initial=np.inf)
    high = np.where(finite, p, -np.inf).max(axis=0, initial=-np.inf)
    low, high = np.where(np.isfinite(low), low, 0.0), np.where(np.isfinite(high), high, 0.0)
    span = np.where(high > low, high - low, 1.0)
    cells = np.where(finite, (np.where(finite, p, 0.0) - low) / span * 1023, 0.0)
    cells = cells.clip(0, 1023).astype(np.uint64)
    code = np.zeros(len(p), np.uint64)
    for bit in range(10):
        for axis in range(3):
            code |= ((cells[:, axis] >> np.uint64(bit)) & np.uint64(1)) << np.uint64(
                3 * bit + axis)
    return np.argsort(code, kind="stable")


def _chunk_bounds(values: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-chunk min and max over finite values (0 for a chunk with none), float32."""
    chunks = -(-count // CHUNK_SIZE)
    finite = np.zeros(chunks * CHUNK_SIZE, bool)
    finite[:count] = np.isfinite(values)
    padded = np.zeros(chunks * CHUNK_SIZE)
    padded[:count] = np.where(finite[:count], values, 0.0)
    finite, padded = finite.reshape(chunks, CHUNK_SIZE), padded.reshape(chunks, CHUNK_SIZE)
    low = np.where(finite, padded, np.inf).min(axis=1, initial=np.inf)
    high = np.where(finite, padded, -np.inf).max(axis=1, initial=-np.inf)
    empty = ~finite.any(axis=1)
    return (np.where(empty, 0.0, low).astype(np.float32),
            np.where(empty, 0.0, high).astype(np.float32))


def _normalise(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """splat-transform's ``normalize`` (0 below the range, 1 above, 0 for a tiny range)."""
    rows = np.arange(len(x)) // CHUNK_SIZE
    a, b = low.astype(np.float64)[rows], high.astype(np.float64)[rows]
    span = b - a
    t = np.divide(x - a, span, out=np.zeros_like(x), where=span >= 0.00001)
    return np.where(x <= a, 0.0, np.where(x >= b, 1.0, t))


def _pack_unorm(value: np.ndarray, bits: int) -> np.ndarray:
    top = (1 << bits) - 1
    return np.nan_to_num(np.clip(np.floor(value * top + 0.5), 0, top), nan=0).astype(np.uint32)


def _pack_rotations(quats: np.ndarray) -> np.ndarray:
    q = np.nan_to_num(quats.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    length = np.sqrt((q * q).sum(axis=1))
    zero = length == 0
    q = np.where(zero[:, None], np.array([0.0, 0, 0, 1]), q / np.where(zero, 1, length)[:, None])
    largest = np.argmax(np.abs(q), axis=1)   # the first of equal magnitudes, as the reference
    rows = np.arange(len(q))
    q = np.where((q[rows, largest] < 0)[:, None], -q, q)
    slots = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])[largest]
    others = q[rows[:, None], slots] * (np.sqrt(2) * 0.5) + 0.5
    words = largest.astype(np.uint32)
    for i in range(3):
        words = (words << np.uint32(10)) | _pack_unorm(others[:, i], 10)
    return words


def _header(chunks: int, count: int, rest: int) -> bytes:
    lines = ["ply", "format binary_little_endian 1.0", "comment Generated by splatlab",
             f"element chunk {chunks}",
             *(f"property float {p}" for p in (*CHUNK_PROPERTIES, *COLOR_PROPERTIES)),
             f"element vertex {count}", *(f"property uint {p}" for p in PACKED_PROPERTIES)]
    if rest:
        lines += [f"element sh {count}", *(f"property uchar {n}" for n in f_rest_names(rest))]
    return ("\n".join([*lines, "end_header"]) + "\n").encode("ascii")


def sh_rest_written(properties) -> int:
    """How many ``f_rest_*`` the writer keeps: 45, 24 or 9 when that many are present from
    f_rest_0 on (splat-transform's bands), else 0.

    Example:
        >>> sh_rest_written([f"f_rest_{i}" for i in range(30)])
        24
    """
    present = set(properties)
    return next((k for k in reversed(SH_COUNTS)
                 if all(n in present for n in f_rest_names(k))), 0)


@values_as_data  # NaN and inf are packed as the reference's arithmetic leaves them
def encode(columns: dict[str, np.ndarray], *, order: str = "morton") -> bytes:
    """The compressed PLY file of named float columns.

    ``order`` is ``"morton"`` (rows sorted along a Morton curve, as splat-transform) or
    ``"keep"``. Raises ValueError when a property of :data:`ENCODED_PROPERTIES` is missing.

    Example:
        >>> cols = {n: np.zeros(300, np.float32) for n in ENCODED_PROPERTIES}
        >>> data = encode(cols)
        >>> data[:3], decode_bytes(data).shape
        (b'ply', (300,))
    """
    missing = missing_properties(columns, ENCODED_PROPERTIES)
    if missing:
        raise ValueError(f"compressed PLY needs properties {', '.join(missing)}")
    count = len(np.asarray(columns["x"]))
    if order not in ("morton", "keep"):
        raise ValueError(f"order must be 'morton' or 'keep', not {order!r}")
    f32 = {n: np.asarray(v, np.float32) for n, v in columns.items()}
    rows = (morton_order(np.stack([f32[n] for n in GROUPS["positions"]], axis=1))
            if order == "morton" else np.arange(count))
    col = {n: v[rows].astype(np.float64) for n, v in f32.items()}
    chunk_count = -(-count // CHUNK_SIZE)
    chunk = np.zeros(chunk_count, [(p, "<f4") for p in (*CHUNK_PROPERTIES, *COLOR_PROPERTIES)])
    words = np.zeros((count, 4), np.uint32)
    shifts = ((21, 11), (11, 10), (0, 11))
    for axis, name in enumerate("xyz"):
        low, high = _chunk_bounds(col[name], count)
        chunk[f"min_{name}"], chunk[f"max_{name}"] = low, high
        t = _normalise(col[name], low, high)
        words[:, 0] |= _pack_unorm(t, shifts[axis][1]) << np.uint32(shifts[axis][0])
        low, high = _chunk_bounds(col[f"scale_{axis}"], count)
        low, high = (np.clip(b, -SCALE_BOUND, SCALE_BOUND).astype(np.float32) for b in (low, high))
        chunk[f"min_scale_{name}"], chunk[f"max_scale_{name}"] = low, high
        t = _normalise(col[f"scale_{axis}"], low, high)
        words[:, 2] |= _pack_unorm(t, shifts[axis][1]) << np.uint32(shifts[axis][0])
    for axis, channel in enumerate("rgb"):
        c = (col[f"f_dc_{axis}"] * SH_C0 + 0.5).astype(np.float32).astype(np.float64)
        low, high = _chunk_bounds(c, count)
        chunk[f"min_{channel}"], chunk[f"max_{channel}"] = low, high
        words[:, 3] |= _pack_unorm(_normalise(c, low, high), 8) << np.uint32(24 - 8 * axis)
    alpha = 1 / (1 + np.exp(-col["opacity"]))
    words[:, 3] |= _pack_unorm(alpha, 8)
    words[:, 1] = _pack_rotations(np.stack([col[n] for n in GROUPS["quats"]], axis=1))
    rest = sh_rest_written(columns)
    sh = np.zeros((count, rest), np.uint8)
    for i, name in enumerate(f_rest_names(rest)):
        sh[:, i] = np.nan_to_num(np.clip(np.trunc((col[name] / 8 + 0.5) * 256), 0, 255),
                                 nan=0).astype(np.uint8)
    return b"".join([_header(chunk_count, count, rest), chunk.tobytes(),
                     words.astype("<u4").tobytes(), sh.tobytes()])


__all__ = ["ALPHA_TABLE", "CHUNK_PROPERTIES", "CHUNK_SIZE", "COLOR_PROPERTIES",
           "ENCODED_PROPERTIES", "PACKED_PROPERTIES", "SCALE_BOUND", "SH_TABLE", "check_header",
           "decode", "decode_bytes", "decode_reference", "decoded_properties", "empty_table",
           "encode", "looks_compressed", "morton_order", "read", "sh_rest_written"]
