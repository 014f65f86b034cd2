"""Load a 3DGS file into a :class:`Splat`, save a Splat atomically and losslessly.

The format is told by a file's content, never by its name: PLY (any layout) and SPZ
(404-Repo/spz's zstd container or Niantic's gzip one, versions 1-3). On saving, the
name's extension (or ``format=``) chooses: ``.spz`` writes SPZ version 2, anything
else PLY.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from splatlab import data
    >>> out = Path(tempfile.mkdtemp())
    >>> s = load(data.path("trellis.ply"))
    >>> copy = save(s, out / "copy.ply")
    >>> copy.read_bytes() == data.path("trellis.ply").read_bytes()   # unchanged: same bytes
    True
    >>> load(save(s, out / "scene.spz")).source_format.label        # what pyspz.compress writes
    'SPZ v2 (zstd), quantised'
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from . import spz
from .floats import values_as_data
from .ply import (
    SplatFormatError,
    atomic_write,
    build_header,
    format_ascii_rows,
    iter_table_bytes,
    map_bytes,
    map_vertices,
    read_ascii_vertices,
    read_layout,
)
from .splat import OpacityEncoding, RawParts, ScaleEncoding, SourceFormat, Splat

FORMATS = ("ply", "spz")
"""Formats :func:`save` writes."""

_SIGNATURES = {
    b"glTF": "a binary glTF (.glb) file",
    b"PK\x03\x04": "a zip archive (a SOG bundle?)",
    b"\x89PNG": "a PNG image",
    b"RIFF": "a RIFF file (WebP image?)",
    b"{": "a JSON text (a SOG meta.json or a LOD manifest?)",
}


def detect_format(path: str | os.PathLike) -> str:
    """``"ply"`` or ``"spz"``, from the first bytes of ``path``.

    Raises :class:`SplatFormatError` naming what the file looks like otherwise.

    Example:
        >>> from splatlab import data
        >>> detect_format(data.path("trellis.spz")), detect_format(data.path("trellis.ply"))
        ('spz', 'ply')
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except IsADirectoryError:
        raise SplatFormatError(path, "is a folder, not a file") from None
    except OSError as e:
        raise SplatFormatError(path, f"cannot open ({e.strerror})") from None
    if not head:
        raise SplatFormatError(path, "empty file")
    if head.startswith(b"ply"):
        return "ply"
    if spz.detect_container(head) is not None or head[:4] == spz.MAGIC.to_bytes(4, "little"):
        return "spz"
    for signature, what in _SIGNATURES.items():
        if head.startswith(signature):
            raise SplatFormatError(path, f"not a 3DGS file splatlab reads: {what}")
    raise SplatFormatError(path, f"not a PLY or SPZ file (it starts {head!r})")


@values_as_data
def load(path: str | os.PathLike, opacity: OpacityEncoding = "logit",
         scales: ScaleEncoding = "log") -> Splat:
    """Read a PLY or SPZ file; PLY bodies are memory-mapped and read only when used.

    ``opacity`` declares how the stored opacity is encoded ("logit", the 3DGS
    standard, or "probability"); ``scales`` likewise ("log" or "linear"). An SPZ file
    gives exactly the properties ``pyspz.decompress(..., include_normals=False)`` gives.
    Raises :class:`SplatFormatError` with a one-line message for a bad file.

    Example:
        >>> from splatlab import data
        >>> s = load(data.path("trellis.ply"))
        >>> s.count, s.is_gaussian
        (7040, True)
    """
    if detect_format(path) == "spz":
        return _load_spz(Path(path), opacity, scales)
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
                 raw=raw, source_format=SourceFormat("ply"))


def _load_spz(path: Path, opacity: OpacityEncoding, scales: ScaleEncoding) -> Splat:
    packed, info, data = spz.read(path)
    return splat_from_spz(packed, info, source=path, opacity=opacity, scales=scales,
                          encoded=data)


def splat_from_spz(packed: spz.SpzPacked, info: spz.SpzInfo, *, source: Path | None = None,
                   opacity: OpacityEncoding = "logit", scales: ScaleEncoding = "log",
                   encoded: bytes | None = None) -> Splat:
    """The Splat of a decoded SPZ payload, with the header ``pyspz.decompress`` writes."""
    table = spz.decode(packed)
    table.flags.writeable = False
    header = build_header([(name, "float") for name in table.dtype.names], len(table), "<", [])
    origin = SourceFormat("spz", info.container, info.version, info.fractional_bits,
                          info.antialiased, quantised=True)
    return Splat(table, header, source=source, opacity=opacity, scales=scales,
                 raw=RawParts(encoded=encoded), source_format=origin)


@values_as_data
def save(splat: Splat, path: str | os.PathLike, *, overwrite: bool = False,
         format: str | None = None, container: str = "zstd", comment: str | None = None
         ) -> Path:
    """Write ``splat`` to ``path`` atomically (temporary file, fsync, rename).

    ``format`` is ``"ply"`` or ``"spz"`` (default: ``"spz"`` for a ``.spz`` name, else
    ``"ply"``). PLY: an unchanged Splat is written byte-identical to the file it came
    from, changed fields keep their dtype, byte order and position, and the header is
    left as it was (``comment`` adds one comment line; the submission path then refuses
    the file). SPZ: version 2 in ``container`` (``"zstd"`` as pyspz, ``"gzip"`` as
    Niantic); an unchanged Splat loaded from SPZ in that container keeps its bytes.
    Refuses to replace an existing file unless ``overwrite=True``.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from splatlab import data
        >>> s = load(data.path("trellis.ply"))
        >>> out = save(s.replace(opacity=s.opacity + 1), Path(tempfile.mkdtemp()) / "out.ply")
        >>> bool((load(out).opacity == s.opacity + 1).all())
        True
    """
    path = Path(path)
    kind = format or ("spz" if path.suffix.lower() == ".spz" else "ply")
    if kind not in FORMATS:
        raise ValueError(f"unknown format {kind!r}; splatlab writes {', '.join(FORMATS)}")
    if overwrite and splat.source is not None and path.exists() and os.path.samefile(
            path, splat.source):
        splat = splat.detached()
    if kind == "spz":
        if comment is not None:
            raise ValueError("SPZ has no place for a comment")
        atomic_write(path, iter([spz_bytes(splat, container)]), overwrite=overwrite)
    else:
        atomic_write(path, _ply_parts(splat, comment), overwrite=overwrite)
    return path


@values_as_data
def spz_bytes(splat: Splat, container: str = "zstd") -> bytes:
    """The SPZ file of ``splat``: what ``pyspz.compress`` (zstd) or Niantic's spz (gzip)
    makes of its PLY.

    Example:
        >>> from splatlab import data
        >>> spz_bytes(data.trellis_like())[:4].hex()
        '28b52ffd'
    """
    origin, raw = splat.source_format, splat.raw_parts
    if (not splat.modified and origin.name == "spz" and origin.container == container
            and raw.encoded is not None):
        return raw.encoded
    if not 0 < splat.count <= spz.MAX_POINTS:   # no reader (pyspz.decompress, ours) takes it
        raise SplatFormatError(splat.source or "<splat>", f"cannot write SPZ: {splat.count:,}"
                               f" gaussians; SPZ readers take 1 to {spz.MAX_POINTS:,}")
    try:
        packed = spz.encode({name: splat.column(name) for name in splat.properties},
                            antialiased=origin.antialiased)
    except ValueError as e:
        raise SplatFormatError(splat.source or "<splat>", f"cannot write SPZ: {e}") from None
    return spz.to_bytes(packed, container)


def _ply_parts(splat: Splat, comment: str | None) -> Iterator[bytes]:
    header = splat.header
    if comment is not None:
        header = header.with_comment(comment, comment)
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
    if isinstance(part, bytes):
        return part
    return memoryview(np.ascontiguousarray(part).reshape(-1).view(np.uint8))


__all__ = ["FORMATS", "SplatFormatError", "detect_format", "load", "save", "splat_from_spz",
           "spz_bytes"]
