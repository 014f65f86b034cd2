"""Load a 3DGS file into a :class:`Splat`, save a Splat atomically and losslessly.

The format is told by a file's content, never by its name (:func:`detect_format`): PLY
(any layout), PlayCanvas compressed PLY, SPZ (404-Repo/spz's zstd container, Niantic's gzip
one, versions 1-3, and Niantic's version 4), SOG (a ``.sog`` zip or a folder with
``meta.json``), antimatter15 ``.splat`` and mkkellogg ``.ksplat``. Every format loads into
the same named INRIA fields (x y z, f_dc_*, f_rest_*, opacity as a logit, scale_* as logs,
rot_*), and the Splat's :class:`SourceFormat` records where they came from and whether they
are quantised. On saving, the name (or ``format=``) chooses: ``.spz`` writes SPZ version 2,
``.compressed.ply`` compressed PLY, ``.splat`` antimatter15's rows, anything else PLY.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from splatlab import data
    >>> out = Path(tempfile.mkdtemp())
    >>> s = load(data.path("trellis.ply"))
    >>> copy = save(s, out / "copy.ply")
    >>> copy.read_bytes() == data.path("trellis.ply").read_bytes()   # unchanged: same bytes
    True
    >>> load(save(s, out / "scene.spz")).provenance.format.label        # what pyspz.compress writes
    'SPZ v2 (zstd), quantised'
    >>> load(save(s, out / "scene.compressed.ply")).provenance.format.label
    'compressed PLY, quantised'
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from . import compressed_ply, dotsplat, ksplat, sog, spz
from .fields import f_rest_names, missing_properties
from .floats import values_as_data
from .ply import (
    PlyLayout,
    SplatFormatError,
    atomic_write,
    build_header,
    file_bytes,
    format_ascii_rows,
    iter_table_bytes,
    map_bytes,
    map_vertices,
    read_ascii_vertices,
    read_layout,
)
from .provenance import Provenance, RawParts, SourceFormat
from .splat import OpacityEncoding, ScaleEncoding, Splat

FORMATS = ("ply", "spz", "compressed-ply", "splat")
"""Formats :func:`save` writes."""
READS = ("ply", "compressed-ply", "spz", "sog", "splat", "ksplat")
"""Formats :func:`load` reads (what :func:`detect_format` returns)."""

_SIGNATURES = {
    b"glTF": "a glTF binary file (.glb)",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"VOX ": "a MagicaVoxel voxel file (.vox)",
    b"%PDF": "a PDF document",
}
_JSON_LIMIT = 64 << 20
_NOT_JSON = "a text starting like JSON that is not JSON"


def detect_format(path: str | os.PathLike) -> str:
    """The format of ``path`` from its content: one of :data:`READS`.

    Magic bytes first (``ply``, zstd, gzip, ``NGSP``, zip); a PLY is compressed PLY when its
    header shows a ``chunk`` element or ``packed_*`` properties (then it is that layout
    exactly, or refused); a zip or a folder is SOG when it holds a SOG ``meta.json``; a
    ``.ksplat`` by its 4,096-byte header; last, since it has no header at all, ``.splat``
    when the size is a multiple of 32 and the rows are plausible
    (:func:`splatlab.core.dotsplat.plausible`). A file whose kind is known but not read
    (glTF, voxels, a LOD manifest, an image, other JSON, a zip without ``meta.json``) is
    refused with one line naming what it is.

    Example:
        >>> from splatlab import data
        >>> detect_format(data.path("trellis.spz")), detect_format(data.path("trellis.ply"))
        ('spz', 'ply')
        >>> detect_format(data.path("sample.sog")), detect_format(data.path("sample.splat"))
        ('sog', 'splat')
    """
    return _detect(Path(path))[0]


def _detect(path: Path) -> tuple[str, PlyLayout | None]:
    """:func:`detect_format`, with the layout of a PLY (parsed once for detection and load)."""
    if path.is_dir():
        if (path / sog.META).is_file() and _json_kind(path / sog.META) == "sog":
            return "sog", None
        raise SplatFormatError(path, "is a folder, not a file (nor a SOG folder with"
                               " meta.json)")
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            size = os.fstat(f.fileno()).st_size
    except OSError as e:
        raise SplatFormatError(path, f"cannot open ({e.strerror})") from None
    if not head:
        raise SplatFormatError(path, "empty file")
    if head.startswith(b"ply"):
        layout = read_layout(path)
        if compressed_ply.looks_compressed(layout.header):
            return "compressed-ply", None
        return "ply", layout
    container = spz.detect_container(head)
    if (container == "zstd" or (container == "gzip" and head[2:3] == b"\x08")  # deflate
            or head[:4] == spz.MAGIC.to_bytes(4, "little")):
        return "spz", None
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_kind(path), None
    text = None      # what a file starting like JSON is, if it is not a .splat after all
    if head.lstrip()[:1] in (b"{", b"["):
        text = _json_kind(path)
        if text == "sog":
            return "sog", None
        if text != _NOT_JSON:
            raise _unsupported(path, text)
    for signature, what in _SIGNATURES.items():
        if head.startswith(signature):
            raise _unsupported(path, what)
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        raise _unsupported(path, "a WebP image (one image of a SOG? give its meta.json)")
    if size >= ksplat.MAIN_HEADER and ksplat.looks_like(head):
        return "ksplat", None
    if size and size % dotsplat.RECORD.itemsize == 0:   # a .splat may start with any byte
        rows = np.memmap(path, dotsplat.RECORD, mode="r")
        if dotsplat.plausible(rows):
            return "splat", None
    if text is not None:
        raise _unsupported(path, text)
    if container == "gzip":
        raise SplatFormatError(path, "corrupt gzip stream (its compression method is not"
                               " deflate, or it ends there): not an SPZ file, nor a .splat")
    raise SplatFormatError(path, "not a PLY, SPZ, SOG, .splat or .ksplat file"
                           f" (it starts {head[:8]!r})")


def _unsupported(path: Path, what: str) -> SplatFormatError:
    return SplatFormatError(path, f"{what}, not a 3DGS splat file splatlab reads")


def _json_kind(path: Path) -> str:
    """``"sog"`` for a SOG meta.json, else a phrase naming what the JSON is."""
    import json

    try:
        if path.stat().st_size > _JSON_LIMIT:
            return "a JSON text larger than 64 MiB"
        return _kind_of_json(json.loads(path.read_bytes()))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _NOT_JSON
    except OSError as e:
        raise SplatFormatError(path, f"cannot open ({e.strerror})") from None


def _kind_of_json(meta: object) -> str:
    if sog.is_meta(meta):
        return "sog"
    keys = set(meta) if isinstance(meta, dict) else set()
    if keys & {"lodLevels", "lods"} or {"tree", "filenames"} <= keys:
        return "a LOD manifest (lod-meta.json)"
    if keys & {"voxelResolution", "treeDepth", "leafDataCount"}:
        return "a voxel octree (.voxel.json)"
    if keys & {"asset", "accessors", "buffers"}:
        return "a glTF JSON file (.gltf)"
    return "a JSON text"


def _zip_kind(path: Path) -> str:
    import json
    import zipfile

    try:
        with zipfile.ZipFile(path) as bundle:
            names = bundle.namelist()
            if sog.META not in names:
                raise _unsupported(path, "a zip archive without meta.json (not a SOG bundle)")
            info = bundle.getinfo(sog.META)
            if info.file_size > _JSON_LIMIT:
                raise _unsupported(path, "a zip archive whose meta.json exceeds 64 MiB")
            try:
                kind = _kind_of_json(json.loads(bundle.read(info)))
            except (ValueError, UnicodeDecodeError, RecursionError):
                kind = "a zip archive whose meta.json is not JSON"
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise SplatFormatError(path, f"corrupt zip archive ({e})") from None
    if kind != "sog":
        raise _unsupported(path, kind if "zip" in kind else
                           f"a zip archive whose meta.json is {kind}")
    return "sog"


@values_as_data
def load(path: str | os.PathLike, *, opacity_encoding: OpacityEncoding = "logit",
         scale_encoding: ScaleEncoding = "log") -> Splat:
    """Read a 3DGS file of any format in :data:`READS`; PLY bodies are memory-mapped and
    read only when used.

    ``opacity_encoding`` declares how the stored opacity is encoded ("logit", the 3DGS
    standard, or "probability"); ``scale_encoding`` likewise ("log" or "linear"). An SPZ file
    gives exactly the properties ``pyspz.decompress(..., include_normals=False)`` gives;
    the other decoded formats give the values of splat-transform's decoder, in the order
    the file stores the gaussians, with INRIA's property names.
    Raises :class:`SplatFormatError` with a one-line message for a bad file.

    Example:
        >>> from splatlab import data
        >>> s = load(data.path("trellis.ply"))
        >>> s.count, s.is_gaussian
        (7040, True)
        >>> load(data.path("sample.ksplat")).provenance.format.label
        '.ksplat, quantised'
    """
    path = Path(path)
    kind, layout = _detect(path)
    if kind == "spz":
        return _load_spz(path, opacity_encoding, scale_encoding)
    if kind != "ply":
        table, origin, encoded = _DECODERS[kind](path)
        return decoded_splat(table, origin, source=path, encoded=encoded,
                             opacity_encoding=opacity_encoding, scale_encoding=scale_encoding)
    if layout.header.format == "ascii":
        table, rows, tail = read_ascii_vertices(layout)
        table.flags.writeable = False
        raw = RawParts(tail=tail, ascii_rows=rows)
    else:
        table = map_vertices(layout)
        raw = RawParts(pre=map_bytes(layout.path, len(layout.header.raw), layout.vertex_offset),
                       tail=map_bytes(layout.path, layout.tail_offset, layout.file_size))
    return Splat(table, layout.header, opacity_encoding=opacity_encoding,
                 scale_encoding=scale_encoding,
                 provenance=Provenance(layout.path, SourceFormat("ply"), raw))


def _read_compressed_ply(path: Path) -> tuple[np.ndarray, SourceFormat, np.ndarray | None]:
    table, mapped = compressed_ply.read_mapped(path)
    return table, SourceFormat("compressed-ply", quantised=True), mapped


def _read_sog(path: Path) -> tuple[np.ndarray, SourceFormat, bytes | None]:
    import zipfile

    table, meta = sog.read(path)
    container = "folder" if path.is_dir() or not zipfile.is_zipfile(path) else "zip"
    return table, SourceFormat("sog", container, meta["version"], quantised=True), None


def _read_splat(path: Path) -> tuple[np.ndarray, SourceFormat, bytes | None]:
    data = file_bytes(path)
    return (dotsplat.decode(dotsplat.records(data, path)), SourceFormat("splat", quantised=True),
            data)


def _read_ksplat(path: Path) -> tuple[np.ndarray, SourceFormat, bytes | None]:
    return ksplat.read(path), SourceFormat("ksplat", quantised=True), None


_DECODERS = {"compressed-ply": _read_compressed_ply, "sog": _read_sog, "splat": _read_splat,
             "ksplat": _read_ksplat}


def decoded_splat(table: np.ndarray, origin: SourceFormat, *, source: Path | None = None,
                  opacity_encoding: OpacityEncoding = "logit",
                  scale_encoding: ScaleEncoding = "log",
                  encoded: np.ndarray | bytes | None = None) -> Splat:
    """The Splat of a decoded float32 table (any format decoded on load), with a plain
    binary little-endian PLY header of its properties; ``encoded`` keeps the file's bytes,
    so that an unchanged Splat saved in its own format is written back as it was.

    Example:
        >>> t = np.zeros(2, [("x", "<f4")])
        >>> decoded_splat(t, SourceFormat("splat", quantised=True)).provenance.format.label
        '.splat, quantised'
    """
    table.flags.writeable = False
    header = build_header([(name, "float") for name in table.dtype.names], len(table), "<", [])
    return Splat(table, header, opacity_encoding=opacity_encoding, scale_encoding=scale_encoding,
                 provenance=Provenance(source, origin, RawParts(encoded=encoded)))


def _load_spz(path: Path, opacity_encoding: OpacityEncoding, scale_encoding: ScaleEncoding
              ) -> Splat:
    table, info, data = spz.read_decoded(path)
    return decoded_splat(table, _spz_origin(info), source=path, encoded=data,
                         opacity_encoding=opacity_encoding, scale_encoding=scale_encoding)


def _spz_origin(info: spz.SpzInfo) -> SourceFormat:
    return SourceFormat("spz", info.container, info.version, info.fractional_bits,
                        info.antialiased, quantised=True)


def splat_from_spz(packed: spz.SpzPacked, info: spz.SpzInfo, *, source: Path | None = None,
                   opacity_encoding: OpacityEncoding = "logit",
                   scale_encoding: ScaleEncoding = "log", encoded: bytes | None = None) -> Splat:
    """The Splat of a decoded SPZ payload, with the header ``pyspz.decompress`` writes."""
    return decoded_splat(spz.decode(packed), _spz_origin(info), source=source, encoded=encoded,
                         opacity_encoding=opacity_encoding, scale_encoding=scale_encoding)


def format_for_name(path: str | os.PathLike) -> str:
    """The format :func:`save` writes for a file name: ``.spz`` SPZ, ``.compressed.ply``
    compressed PLY, ``.splat`` antimatter15's rows, anything else PLY, except the name of
    a format splatlab reads but does not write (``.sog``, ``.ksplat``, ``.json``): that is
    refused, so that no PLY is ever written under a SOG's name.

    Example:
        >>> [format_for_name(n) for n in ("a.spz", "a.compressed.ply", "a.splat", "a.ply")]
        ['spz', 'compressed-ply', 'splat', 'ply']
        >>> format_for_name("scene.sog")
        Traceback (most recent call last):
        splatlab.core.ply.SplatFormatError: scene.sog: splatlab reads SOG but does not write it; \
name the file .ply, .spz, .compressed.ply or .splat (or pass format=)
    """
    name = Path(path).name.lower()
    if name.endswith(".spz"):
        return "spz"
    if name.endswith(".compressed.ply"):
        return "compressed-ply"
    if name.endswith(".splat"):
        return "splat"
    for suffix, title in _READ_ONLY_NAMES.items():
        if name.endswith(suffix):
            raise SplatFormatError(path, f"splatlab reads {title} but does not write it; name"
                                   " the file .ply, .spz, .compressed.ply or .splat (or pass"
                                   " format=)")
    return "ply"


_READ_ONLY_NAMES = {".sog": "SOG", ".ksplat": ".ksplat", ".json": "SOG (meta.json)"}
"""File names of formats :func:`load` reads and :func:`save` does not write."""


@values_as_data
def save(splat: Splat, path: str | os.PathLike, *, overwrite: bool = False,
         format: str | None = None, container: str = "zstd", comment: str | None = None,
         order: str = "morton") -> Path:
    """Write ``splat`` to ``path`` atomically (temporary file, fsync, rename).

    ``format`` is one of :data:`FORMATS` (default: :func:`format_for_name`). PLY: an
    unchanged Splat is written byte-identical to the file it came from, changed fields
    keep their dtype, byte order and position, and the header is left as it was
    (``comment`` adds one comment line; the submission path then refuses the file).
    SPZ: version 2 in ``container`` (``"zstd"`` as pyspz, ``"gzip"`` as Niantic).
    Compressed PLY: as splat-transform packs it, rows in ``order`` (``"morton"`` as
    splat-transform, or ``"keep"``). ``.splat``: antimatter15's rows, in the Splat's order.
    An unchanged Splat loaded from the same format (and SPZ container) keeps its bytes.
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
    kind = format or format_for_name(path)
    if kind not in FORMATS:
        raise ValueError(f"unknown format {kind!r}; splatlab writes {', '.join(FORMATS)}")
    if comment is not None and kind != "ply":
        raise ValueError(f"{kind} has no place for a comment")
    if overwrite and splat.source is not None and path.exists() and os.path.samefile(
            path, splat.source):
        splat = splat.detached()
    if kind == "spz":
        parts = iter([spz_bytes(splat, container)])
    elif kind == "compressed-ply":
        parts = iter([_encoded_bytes(splat, kind, lambda c: compressed_ply.encode(c, order=order),
                                     compressed_ply.ENCODED_PROPERTIES,
                                     compressed_ply.sh_rest_written(splat.properties))])
    elif kind == "splat":
        parts = iter([_encoded_bytes(splat, kind, dotsplat.encode,
                                     dotsplat.ENCODED_PROPERTIES, 0)])
    else:
        parts = _ply_parts(splat, comment)
    atomic_write(path, parts, overwrite=overwrite)
    return path


def _encoded_bytes(splat: Splat, kind: str, encode, needed: tuple[str, ...], rest: int
                   ) -> np.ndarray | bytes:
    """The file of ``splat`` in a format written whole (its own bytes when unchanged)."""
    origin, raw = splat.provenance.format, splat.provenance.raw
    if not splat.modified and origin.name == kind and raw.encoded is not None:
        return raw.encoded
    title = SourceFormat(kind).title
    missing = missing_properties(splat.properties, needed)
    if missing:
        raise SplatFormatError(splat.source or "<splat>", f"cannot write {title}: no"
                               f" {', '.join(missing)}")
    if kind == "splat" and splat.count == 0:
        raise SplatFormatError(splat.source or "<splat>", "cannot write .splat: 0 gaussians"
                               " make an empty file, which no reader takes")
    names = [*needed, *f_rest_names(rest)]
    try:
        return encode({name: splat.column(name) for name in names})
    except ValueError as e:
        raise SplatFormatError(splat.source or "<splat>", f"cannot write {title}: {e}") from None


@values_as_data
def spz_bytes(splat: Splat, container: str = "zstd") -> bytes:
    """The SPZ file of ``splat``: what ``pyspz.compress`` (zstd) or Niantic's spz (gzip)
    makes of its PLY.

    Example:
        >>> from splatlab import data
        >>> spz_bytes(data.trellis_like())[:4].hex()
        '28b52ffd'
    """
    origin, raw = splat.provenance.format, splat.provenance.raw
    if (not splat.modified and origin.name == "spz" and origin.container == container
            and raw.encoded is not None):
        return bytes(raw.encoded)     # the file as loaded (memory-mapped)
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
    raw = splat.provenance.raw
    yield _as_bytes(raw.pre)
    if header.format == "ascii":
        if raw.ascii_rows is not None and not splat.modified:
            yield raw.ascii_rows
        else:
            yield format_ascii_rows(splat.table, header.newline)
    else:
        dtype = header.vertex.dtype(header.byte_order)
        yield from iter_table_bytes(splat.stored_table, dtype, splat.overrides)
    yield _as_bytes(raw.tail)


def _as_bytes(part: np.ndarray | bytes) -> bytes | memoryview:
    if isinstance(part, bytes):
        return part
    return memoryview(np.ascontiguousarray(part).reshape(-1).view(np.uint8))


__all__ = ["FORMATS", "READS", "SplatFormatError", "decoded_splat", "detect_format",
           "format_for_name", "load", "save", "splat_from_spz", "spz_bytes"]
