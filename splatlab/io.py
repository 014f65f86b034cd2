"""Load a PLY into a :class:`Splat`, save a Splat atomically and losslessly.

Example:
    >>> s = load("scene.ply")                      # doctest: +SKIP
    >>> save(s, "copy.ply")                        # byte-identical copy  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from . import __version__
from .ply import (
    SplatFormatError,
    atomic_write,
    format_ascii_rows,
    iter_table_bytes,
    map_bytes,
    map_vertices,
    read_ascii_vertices,
    read_layout,
)
from .splat import OpacityEncoding, RawParts, ScaleEncoding, Splat

MODIFIED_COMMENT = "modified by splatlab"


def load(path: str | os.PathLike, opacity: OpacityEncoding = "logit",
         scales: ScaleEncoding = "log") -> Splat:
    """Read a PLY file; binary bodies are memory-mapped and read only when a field is used.

    ``opacity`` declares how the stored opacity is encoded ("logit", the 3DGS
    standard, or "probability"); ``scales`` likewise ("log" or "linear").
    Raises :class:`SplatFormatError` with a one-line message for a bad file.

    Example:
        >>> s = load("hamburger.ply")    # doctest: +SKIP
        >>> s.count, s.is_gaussian       # doctest: +SKIP
        (52709, True)
    """
    layout = read_layout(path)
    if layout.header.format == "ascii":
        table, rows, tail = read_ascii_vertices(layout)
        table.flags.writeable = False
        raw = RawParts(tail=tail, ascii_rows=rows)
    else:
        table = map_vertices(layout)
        raw = RawParts(pre=map_bytes(layout.path, len(layout.header.raw), layout.vertex_offset),
                       tail=map_bytes(layout.path, layout.tail_offset, layout.file_size))
    return Splat(table, layout.header, source=layout.path, opacity=opacity, scales=scales,
                 raw=raw)


def save(splat: Splat, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write ``splat`` to ``path`` atomically (temporary file, fsync, rename).

    An unchanged Splat is written byte-identical to the file it came from;
    changed fields keep their dtype, byte order and position, and a header
    comment records the change. Refuses to replace an existing file unless
    ``overwrite=True``.

    Example:
        >>> save(s.replace(opacity=s.opacity + 1), "out.ply")  # doctest: +SKIP
        PosixPath('out.ply')
    """
    path = Path(path)
    if overwrite and splat.source is not None and path.exists() and os.path.samefile(
            path, splat.source):
        splat = splat.detached()
    atomic_write(path, _file_parts(splat), overwrite=overwrite)
    return path


def _file_parts(splat: Splat) -> Iterator[bytes]:
    header = splat.header
    if splat.modified:
        header = header.with_comment(f"{MODIFIED_COMMENT} {__version__}", MODIFIED_COMMENT)
    yield header.raw
    raw = splat.raw_parts
    yield _as_bytes(raw.pre)
    if header.format == "ascii":
        if raw.ascii_rows is not None and not splat.modified:
            yield raw.ascii_rows
        else:
            yield format_ascii_rows(_merged_table(splat), header.newline)
    else:
        dtype = header.vertex.dtype(header.byte_order)
        yield from iter_table_bytes(splat.table, dtype, splat.overrides)
    yield _as_bytes(raw.tail)


def _merged_table(splat: Splat) -> np.ndarray:
    table = np.array(splat.table)
    for name, values in splat.overrides.items():
        table[name] = values
    return table


def _as_bytes(part: np.ndarray | bytes) -> bytes | memoryview:
    return part if isinstance(part, bytes) else memoryview(np.ascontiguousarray(part)).cast("B")


__all__ = ["load", "save", "SplatFormatError"]
