"""Read mkkellogg's ``.ksplat`` (GaussianSplats3D): sections of bucketed, quantised splats.

Layout: a 4,096-byte main header (version 0.1+, ``u32`` section count at 4 and splat
count at 16, ``u16`` compression mode at 20: 0 float32, 1 float16 with 16-bit bucket
positions, 2 as 1 with byte SH; SH range at 36/40), one 1,024-byte header a section
(splat count, capacity, bucket size and count, block size, bucket storage, quantisation
range, full and partial buckets, SH degree), then each section's partial-bucket sizes,
bucket centres and splat rows (position, scale, rotation w x y z, RGBA bytes, SH).

Decoding does splat-transform 3.10.2's arithmetic (float64, one rounding to float32):
log scales ``log(s)`` (-10 for s <= 0); opacity ``logit(b / 255)`` clamped to
[1e-6, 1 - 1e-6] (bytes 0 and 255 give -13.8155 and +13.8155); rotations as stored.
Rows come in stored order (sections, then buckets).

Why our own decoder: gsply does not read ``.ksplat``. Every declared size is checked
against the file before anything is allocated from it.

Example:
    >>> from splatlab import data
    >>> read(data.path("sample.ksplat")).shape
    (2048,)
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from .compressed_ply import empty_table
from .fields import SH_C0, f_rest_names
from .floats import values_as_data
from .ply import SplatFormatError, file_bytes

MAIN_HEADER = 4096
SECTION_HEADER = 1024
MODES = {0: (12, 12, 16, 4, 4), 1: (6, 6, 8, 4, 2), 2: (6, 6, 8, 4, 1)}
"""Compression mode -> bytes of position, scale, rotation, colour, and of one SH value."""
SH_COUNT = (0, 9, 24, 45)
_DEFAULT_RANGE = {0: 1, 1: 32767, 2: 32767}
BLOCK_ROWS = 8192
"""Rows decoded at a time: their part of the table (some 2 MB) stays in the cache while each
field is written, where a whole column's writes would each miss it."""
_SECTION = struct.Struct("<IIIIfHxxIxxxxIIH")
"""count, capacity, bucket size, bucket count, block size, bucket storage size, quantisation
range, full buckets, partial buckets, SH degree."""


def looks_like(head: bytes) -> bool:
    """True when the first 24 bytes look like a ``.ksplat`` main header (version 0.1+, at
    least one section and one splat, a known compression mode).

    Example:
        >>> looks_like(struct.pack("<BBHIIIIH", 0, 1, 0, 1, 0, 0, 5, 0) + bytes(2))
        True
    """
    if len(head) < 24:
        return False
    major, minor, _, sections, _, _, count, mode = struct.unpack_from("<BBHIIIIH", head)
    return major == 0 and minor >= 1 and 0 < sections < 1 << 20 and count > 0 and mode in MODES


def read(path: str | os.PathLike) -> np.ndarray:
    """The decoded float32 table of a ``.ksplat`` file (stored order)."""
    path = Path(path)
    return decode_bytes(file_bytes(path), path)


@values_as_data
def decode_bytes(data: bytes, source: str | os.PathLike = "<bytes>") -> np.ndarray:
    """:func:`read` of ``.ksplat`` bytes held in memory."""
    if len(data) < MAIN_HEADER or not looks_like(data[:24]):
        raise SplatFormatError(source, f"not a .ksplat file ({len(data):,} bytes; a .ksplat"
                               " starts with a 4,096-byte header of version 0.1+)")
    sections, count, mode = (struct.unpack_from("<I", data, 4)[0],
                             struct.unpack_from("<I", data, 16)[0],
                             struct.unpack_from("<H", data, 20)[0])
    low, high = struct.unpack_from("<ff", data, 36)
    low, high = (low or -1.5), (high or 1.5)
    if MAIN_HEADER + sections * SECTION_HEADER > len(data):
        raise SplatFormatError(source, f"truncated .ksplat: {sections:,} section headers do"
                               f" not fit in {len(data):,} bytes")
    headers = [_SECTION.unpack_from(data, MAIN_HEADER + i * SECTION_HEADER)
               for i in range(sections)]
    if any(h[-1] > 3 for h in headers):
        raise SplatFormatError(source, ".ksplat section with SH degree above 3")
    if sum(h[0] for h in headers) != count:
        raise SplatFormatError(source, f".ksplat sections hold {sum(h[0] for h in headers):,}"
                               f" splats; the header declares {count:,}")
    at = MAIN_HEADER + sections * SECTION_HEADER
    for header in headers:     # every section's size checked before any allocation
        at = _section_end(data, at, header, mode, source)
    degree = max((h[-1] for h in headers if h[0]), default=0)
    out = empty_table(count, SH_COUNT[degree])
    at, done = MAIN_HEADER + sections * SECTION_HEADER, 0
    for header in headers:
        at = _decode_section(data, at, header, mode, (low, high), out, done, source)
        done += header[0]
    return out


def _section_end(data: bytes, at: int, header: tuple, mode: int, source) -> int:
    """Where a section starting at ``at`` ends; refused unless it fits the file."""
    count, max_rows, _, buckets, _, storage, _, _, partial, degree = header
    row_bytes = sum(MODES[mode][:4]) + SH_COUNT[degree] * MODES[mode][4]
    bucket_bytes = storage * buckets + 4 * partial
    end = at + bucket_bytes + row_bytes * max_rows
    if count > max_rows or end > len(data) or (mode and 12 * buckets > bucket_bytes):
        raise SplatFormatError(source, f"truncated or inconsistent .ksplat section: {count:,}"
                               f" splats of {row_bytes} bytes need {end - at:,} bytes at"
                               f" {at:,}, the file has {len(data):,}")
    return end


def _decode_section(data: bytes, at: int, header: tuple, mode: int, sh_range: tuple,
                    out: np.ndarray, done: int, source) -> int:
    (count, max_rows, capacity, buckets, block, storage, q_range, full, partial,
     degree) = header
    q_range = q_range or _DEFAULT_RANGE[mode]
    rest = SH_COUNT[degree]
    bucket_bytes = storage * buckets + 4 * partial
    end = _section_end(data, at, header, mode, source)
    if count == 0:
        return end
    row_fields = [("position", "<f4" if mode == 0 else "<u2", 3),
                  ("scale", "<f4" if mode == 0 else "<f2", 3),
                  ("rotation", "<f4" if mode == 0 else "<f2", 4), ("rgba", "u1", 4)]
    if rest:
        row_fields.append(("sh", {0: "<f4", 1: "<f2", 2: "u1"}[mode], rest))
    rows = np.frombuffer(data, np.dtype(row_fields), count, at + bucket_bytes)
    centres = bucket = None
    if mode:
        centres = np.frombuffer(data, "<f4", 3 * buckets, at + 4 * partial).reshape(buckets, 3)
        sizes = np.frombuffer(data, "<u4", partial, at).astype(np.int64)
        bucket = np.repeat(np.arange(full + partial),
                           np.concatenate([np.full(full, capacity, np.int64), sizes]))[:count]
        if len(bucket) < count or (bucket.size and bucket.max() >= buckets):
            raise SplatFormatError(source, ".ksplat buckets do not hold the section's rows")
    spacing = block / 2.0 / q_range
    for start in range(0, count, BLOCK_ROWS):   # a block of the table stays in the cache
        stop = min(count, start + BLOCK_ROWS)
        _decode_rows(rows[start:stop], None if bucket is None else bucket[start:stop], centres,
                     q_range, spacing, mode, rest, sh_range, out[done + start:done + stop])
    return end


def _decode_rows(rows: np.ndarray, bucket: np.ndarray | None, centres: np.ndarray | None,
                 q_range: int, spacing: float, mode: int, rest: int, sh_range: tuple,
                 view: np.ndarray) -> None:
    position = rows["position"].astype(np.float64)
    if bucket is not None:
        position = (position - q_range) * spacing + centres[bucket].astype(np.float64)
    for axis, name in enumerate("xyz"):
        view[name] = position[:, axis]
        scale = rows["scale"][:, axis].astype(np.float64)
        view[f"scale_{axis}"] = np.log(np.where(scale > 0, scale, 1.0)) + np.where(
            scale > 0, 0.0, -10.0)
    for i in range(4):
        view[f"rot_{i}"] = rows["rotation"][:, i]
    for axis in range(3):
        view[f"f_dc_{axis}"] = (rows["rgba"][:, axis] / 255.0 - 0.5) / SH_C0
    alpha = np.clip(rows["rgba"][:, 3] / 255.0, 1e-6, 1 - 1e-6)
    view["opacity"] = np.log(alpha / (1 - alpha))
    names = f_rest_names(len([n for n in view.dtype.names if n.startswith("f_rest_")]))
    written = set()
    if rest:
        values = rows["sh"].astype(np.float64)
        if mode == 2:
            values = sh_range[0] + values / 255 * (sh_range[1] - sh_range[0])
        for i, column in enumerate(_sh_columns(rest)):  # as the reference, by this section's
            view[names[column]] = values[:, i]          # count (a lower degree shifts them)
            written.add(column)
    for column in set(range(len(names))) - written:
        view[names[column]] = 0


def _sh_columns(rest: int) -> list[int]:
    """The f_rest index of each stored SH value: band by band, channel-major in a band."""
    columns = []
    for i in range(rest):
        if i < 9:
            channel, coefficient = i // 3, i % 3
        elif i < 24:
            channel, coefficient = (i - 9) // 5, (i - 9) % 5 + 3
        else:
            channel, coefficient = (i - 24) // 7, (i - 24) % 7 + 8
        columns.append(channel * (rest // 3) + coefficient)
    return columns


def _sh_rest_of(columns: dict[str, np.ndarray]) -> int:
    present = {k for k in columns if k.startswith("f_rest_")}
    return next((k for k in (45, 24, 9) if all(f"f_rest_{i}" in present for i in range(k))), 0)


@values_as_data
def encode(columns: dict[str, np.ndarray]) -> bytes:
    """A ``.ksplat`` of one section in compression mode 0 (float32 values, no buckets):
    a small writer for samples and tests, in the layout :func:`read` reads.

    Example:
        >>> cols = {n: np.zeros(3, np.float32) for n in ("x", "y", "z", "scale_0", "scale_1",
        ...         "scale_2", "rot_0", "rot_1", "rot_2", "rot_3", "opacity", "f_dc_0",
        ...         "f_dc_1", "f_dc_2")}
        >>> decode_bytes(encode(cols)).shape
        (3,)
    """
    n = len(np.asarray(columns["x"]))
    rest = _sh_rest_of(columns)
    degree = SH_COUNT.index(rest)
    fields = [("position", "<f4", 3), ("scale", "<f4", 3), ("rotation", "<f4", 4),
              ("rgba", "u1", 4)] + ([("sh", "<f4", rest)] if rest else [])
    rows = np.zeros(n, np.dtype(fields))
    rows["position"] = np.stack([columns[a] for a in "xyz"], axis=1)
    rows["scale"] = np.exp(np.stack([np.asarray(columns[f"scale_{i}"], np.float64)
                                     for i in range(3)], axis=1))
    rows["rotation"] = np.stack([columns[f"rot_{i}"] for i in range(4)], axis=1)
    colour = [0.5 + SH_C0 * np.asarray(columns[f"f_dc_{i}"], np.float64) for i in range(3)]
    alpha = 1 / (1 + np.exp(-np.asarray(columns["opacity"], np.float64)))
    rows["rgba"] = np.nan_to_num(np.clip(np.round(np.stack([*colour, alpha], axis=1) * 255),
                                         0, 255), nan=0).astype(np.uint8)
    for i, column in enumerate(_sh_columns(rest)):
        rows["sh"][:, i] = columns[f"f_rest_{column}"]
    main = bytearray(MAIN_HEADER)
    struct.pack_into("<BBHIIIIH", main, 0, 0, 1, 0, 1, n, 1, n, 0)
    struct.pack_into("<ff", main, 36, -1.5, 1.5)
    section = bytearray(SECTION_HEADER)
    _SECTION.pack_into(section, 0, n, n, n, 0, 1.0, 0, 1, 0, 0, degree)
    return bytes(main) + bytes(section) + rows.tobytes()


__all__ = ["MAIN_HEADER", "MODES", "SECTION_HEADER", "decode_bytes", "encode", "looks_like",
           "read"]
