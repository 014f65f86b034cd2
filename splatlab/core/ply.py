"""Read and write PLY files of any layout, on top of plyfile's header parser.

A PLY file is split into four byte ranges: the header, the elements stored before
``vertex`` (rare), the ``vertex`` table, and everything after it (faces, lists,
trailing bytes).  Only the vertex table is decoded; the other ranges are kept as
raw bytes so that an unchanged file is written back byte-identical.

Example:
    >>> from splatlab import data
    >>> layout = read_layout(data.path("trellis.ply"))
    >>> layout.header.format, layout.vertex_count
    ('binary_little_endian', 7040)
"""

from __future__ import annotations

import errno
import io
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plyfile

MAX_HEADER_BYTES = 1 << 20
"""Largest header accepted (1 MiB): a bigger one is surely not a 3DGS file."""

_BYTE_ORDER = {"binary_little_endian": "<", "binary_big_endian": ">", "ascii": "="}
_FORMAT_OF_ORDER = {"<": "binary_little_endian", ">": "binary_big_endian"}
_PLY_TYPE_OF_CODE = {"i1": "char", "u1": "uchar", "i2": "short", "u2": "ushort", "i4": "int",
                     "u4": "uint", "f4": "float", "f8": "double"}
_MAGIC = re.compile(rb"ply(\r\n|\n|\r)")
_END_HEADER = {  # by the newline of the magic line: a CR header's end_header ends at its CR,
    # even when the body's first byte is 0x0A (which must not be eaten as a line end)
    b"\r": re.compile(rb"\rend_header\r"),
    b"\n": re.compile(rb"\nend_header\r?\n"),
    b"\r\n": re.compile(rb"\nend_header\r?\n"),
}
_WRITE_CHUNK_ROWS = 1 << 16
_HEADER_BLOCK = 4096


class SplatFormatError(ValueError):
    r"""A file is not one splatlab can read; the message names the file, on one line.

    Control characters in the path or the problem (a newline in a file name) are shown
    escaped, so that the message stays one line.

    Example:
        >>> str(SplatFormatError("a.ply", "empty file"))
        'a.ply: empty file'
        >>> print(SplatFormatError("two" + chr(10) + "lines.ply", "empty file"))
        two\nlines.ply: empty file
    """

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(one_line(f"{self.path}: {problem}"))


def one_line(text: str) -> str:
    r"""``text`` with control characters escaped (``\n``, ``\r``, ``\x1b``...): one line.

    Example:
        >>> print(one_line("a" + chr(9) + "b" + chr(10) + "c"))
        a\tb\nc
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass(frozen=True)
class PropertySpec:
    """One property line of a PLY header: name, PLY type and (for lists) the count type."""

    name: str
    type: str
    list_count_type: str | None = None

    @property
    def is_list(self) -> bool:
        return self.list_count_type is not None


@dataclass(frozen=True)
class ElementSpec:
    """One element of a PLY header: name, declared count and properties."""

    name: str
    count: int
    properties: tuple[PropertySpec, ...]

    def dtype(self, byte_order: str) -> np.dtype | None:
        """Record dtype of this element, or None when it holds list properties."""
        if any(p.is_list for p in self.properties):
            return None
        return np.dtype([(p.name, byte_order + _numpy_code(p.type)) for p in self.properties])


@dataclass(frozen=True)
class PlyHeader:
    """A parsed PLY header together with its exact bytes.

    Example:
        >>> header = parse_header(b"ply\\nformat ascii 1.0\\nelement vertex 0\\n"
        ...                       b"property float x\\nend_header\\n")
        >>> header.format, header.vertex.count
        ('ascii', 0)
    """

    raw: bytes
    format: str
    elements: tuple[ElementSpec, ...]
    comments: tuple[str, ...]
    obj_info: tuple[str, ...]

    @property
    def byte_order(self) -> str:
        return _BYTE_ORDER[self.format]

    @property
    def newline(self) -> bytes:
        return _MAGIC.match(self.raw).group(1)

    @property
    def vertex_index(self) -> int:
        return next(i for i, e in enumerate(self.elements) if e.name == "vertex")

    @property
    def vertex(self) -> ElementSpec:
        return self.elements[self.vertex_index]

    def with_vertex_count(self, count: int) -> PlyHeader:
        """Return this header declaring ``count`` vertices (other lines unchanged)."""
        pattern = re.compile(rb"^([ \t]*element[ \t]+vertex[ \t]+)[-+]?\d+")
        lines = self.raw.split(self.newline)  # the header's own line end, CR included
        at = next(i for i, ln in enumerate(lines) if pattern.match(ln))
        lines[at] = pattern.sub(rb"\g<1>" + str(count).encode(), lines[at])
        return parse_header(self.newline.join(lines))

    def with_comment(self, comment: str, replace_prefix: str) -> PlyHeader:
        """Return this header with ``comment`` after the format line.

        An earlier comment starting with ``replace_prefix`` is dropped, so repeated
        saves keep one such line.
        """
        nl = self.newline
        lines = self.raw.split(nl)
        lines = [ln for ln in lines
                 if not ln.strip().startswith(f"comment {replace_prefix}".encode())]
        at = next(i for i, ln in enumerate(lines) if ln.split()[:1] == [b"format"]) + 1
        lines.insert(at, f"comment {comment}".encode("ascii"))
        return parse_header(nl.join(lines))


@dataclass(frozen=True)
class PlyLayout:
    """Where each part of a PLY file lies; produced by :func:`read_layout`."""

    path: Path
    header: PlyHeader
    vertex_offset: int
    vertex_nbytes: int
    file_size: int

    @property
    def vertex_count(self) -> int:
        return self.header.vertex.count

    @property
    def tail_offset(self) -> int:
        return self.vertex_offset + self.vertex_nbytes


def _numpy_code(ply_type: str) -> str:
    return plyfile.PlyProperty("_", ply_type).val_dtype


def parse_header(raw: bytes, path: str | os.PathLike = "<bytes>") -> PlyHeader:
    """Parse header bytes (ending with the ``end_header`` line) into a :class:`PlyHeader`.

    Example:
        >>> parse_header(b"ply\\nformat binary_little_endian 1.0\\nelement vertex 2\\n"
        ...              b"property float x\\nend_header\\n").vertex.properties[0].name
        'x'
    """
    try:
        raw.decode("ascii")
    except UnicodeDecodeError:
        raise SplatFormatError(path, "header is not ASCII text") from None
    try:
        data = _plyfile_header(raw)
    except plyfile.PlyHeaderParseError as e:
        raise SplatFormatError(path, f"bad header (line {e.line}): {e.message}") from None
    except ValueError as e:  # plyfile's duplicate-name and bad-name errors
        raise SplatFormatError(path, f"bad header: {e}") from None
    fmt = "ascii" if data.text else _FORMAT_OF_ORDER[data.byte_order]
    elements = tuple(_element_spec(path, e) for e in data.elements)
    _check_elements(path, elements)
    return PlyHeader(raw, fmt, elements, tuple(data.comments), tuple(data.obj_info))


def _plyfile_header(raw: bytes) -> plyfile.PlyData:
    """plyfile's header parser. It is private API (``PlyData._parse_header``): pyproject bounds
    plyfile to the releases that have it, and a release without it fails here, plainly."""
    parse = getattr(plyfile.PlyData, "_parse_header", None)
    if parse is None:
        raise RuntimeError(f"plyfile {getattr(plyfile, '__version__', '?')} has no header parser"
                           " splatlab can use; install plyfile>=1.0,<1.2")
    return parse(io.BytesIO(raw))


def _element_spec(path, element: plyfile.PlyElement) -> ElementSpec:
    props = []
    for p in element.properties:
        if isinstance(p, plyfile.PlyListProperty):
            props.append(PropertySpec(p.name, _ply_type(p.val_dtype), _ply_type(p.len_dtype)))
        else:
            props.append(PropertySpec(p.name, _ply_type(p.val_dtype)))
    return ElementSpec(element.name, element.count, tuple(props))


def _ply_type(code: str) -> str:
    return _PLY_TYPE_OF_CODE[code]


def _check_elements(path, elements: tuple[ElementSpec, ...]) -> None:
    names = [e.name for e in elements]
    if "vertex" not in names:
        raise SplatFormatError(path, "no 'vertex' element in the header")
    if len(set(names)) != len(names):
        raise SplatFormatError(path, "an element name appears twice in the header")
    for e in elements:
        if e.count < 0:
            raise SplatFormatError(path, f"element '{e.name}' has a negative count ({e.count})")
    vertex = elements[names.index("vertex")]
    listed = [p.name for p in vertex.properties if p.is_list]
    if listed:
        raise SplatFormatError(
            path, f"list property '{listed[0]}' inside 'vertex' is not supported"
        )
    if not vertex.properties:
        raise SplatFormatError(path, "element 'vertex' has no properties")


def _read_header_bytes(path: Path, size: int) -> bytes:
    if size == 0:
        raise SplatFormatError(path, "empty file")
    with open(path, "rb") as f:
        head = f.read(_HEADER_BLOCK)
        magic = _MAGIC.match(head)
        if not magic:
            raise SplatFormatError(path, "not a PLY file (does not start with 'ply')")
        end_header = _END_HEADER[magic.group(1)]
        match = end_header.search(head)
        # read on while no end_header, or while a CR ends the buffer (CRLF split in two)
        while (match is None or match.end() == len(head)) and len(head) <= MAX_HEADER_BYTES:
            block = f.read(_HEADER_BLOCK)
            if not block:
                break
            head += block
            match = end_header.search(head, max(0, len(head) - len(block) - 16))
    if match is None or match.end() > MAX_HEADER_BYTES:
        if size > MAX_HEADER_BYTES:
            raise SplatFormatError(path, "header larger than 1 MiB (no 'end_header' found)")
        raise SplatFormatError(path, "missing 'end_header'")
    return head[: match.end()]


def read_layout(path: str | os.PathLike) -> PlyLayout:
    """Parse the header of ``path`` and check it against the file size.

    Reads only the header: nothing is allocated from the declared counts, so a
    header claiming 10**12 vertices fails at once.

    Example:
        >>> from splatlab import data
        >>> read_layout(data.path("trellis.ply")).vertex_count
        7040
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise SplatFormatError(path, f"cannot open ({e.strerror})") from None
    if path.is_dir():
        raise SplatFormatError(path, "is a folder, not a file")
    raw = _read_header_bytes(path, size)
    header = parse_header(raw, path)
    if header.format == "ascii":
        return PlyLayout(path, header, len(raw), -1, size)
    offset = len(raw)
    for element in header.elements[: header.vertex_index]:
        dtype = element.dtype(header.byte_order)
        if dtype is None:
            raise SplatFormatError(
                path, f"element '{element.name}' with list properties before 'vertex'"
                " is not supported"
            )
        offset += element.count * dtype.itemsize
    vertex = header.vertex
    nbytes = vertex.count * vertex.dtype(header.byte_order).itemsize
    if offset + nbytes > size:
        raise SplatFormatError(
            path, f"truncated body: header declares {vertex.count:,} vertices"
            f" ({offset + nbytes - len(raw):,} bytes) but the body holds {size - len(raw):,} bytes"
        )
    layout = PlyLayout(path, header, offset, nbytes, size)
    _check_tail(layout)
    return layout


def _check_tail(layout: PlyLayout) -> None:
    """Warn about trailing bytes, refuse a truncated fixed-size element after vertex."""
    header = layout.header
    after = header.elements[header.vertex_index + 1:]
    dtypes = [e.dtype(header.byte_order) for e in after]
    if any(d is None for d in dtypes):
        return  # list elements: sizes known only by parsing; kept as raw bytes
    expected = sum(e.count * d.itemsize for e, d in zip(after, dtypes))
    available = layout.file_size - layout.tail_offset
    if available < expected:
        raise SplatFormatError(
            layout.path, f"truncated body: elements after 'vertex' need {expected:,} bytes,"
            f" {available:,} present"
        )
    if available > expected:
        warnings.warn(
            f"{layout.path}: {available - expected:,} trailing bytes after the declared body"
            " (kept as they are)", stacklevel=3,
        )


def map_vertices(layout: PlyLayout) -> np.ndarray:
    """Memory-map the vertex table of a binary PLY (read-only, nothing read yet)."""
    dtype = layout.header.vertex.dtype(layout.header.byte_order)
    if layout.vertex_count == 0:
        return np.zeros(0, dtype)
    return np.memmap(layout.path, dtype=dtype, mode="r", offset=layout.vertex_offset,
                     shape=(layout.vertex_count,))


def file_bytes(path: Path) -> bytes:
    """The whole file, or :class:`SplatFormatError` naming it ("cannot open (reason)").

    Example:
        >>> file_bytes(Path("no-such.ply"))
        Traceback (most recent call last):
        splatlab.core.ply.SplatFormatError: no-such.ply: cannot open (No such file or directory)
    """
    try:
        return path.read_bytes()
    except OSError as e:
        raise SplatFormatError(path, f"cannot open ({e.strerror})") from None


def map_bytes(path: Path, start: int, stop: int) -> np.ndarray:
    """Memory-map a byte range of a file as uint8 (empty array for an empty range)."""
    if stop <= start:
        return np.zeros(0, np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r", offset=start, shape=(stop - start,))


def read_ascii_vertices(layout: PlyLayout) -> tuple[np.ndarray, bytes, bytes]:
    """Parse the vertex rows of an ASCII PLY.

    Returns the table (native byte order), the exact bytes of the vertex rows, and
    the bytes after them (other elements), both kept for byte-exact rewriting.
    """
    path, header = layout.path, layout.header
    with open(path, "rb") as f:
        f.seek(layout.vertex_offset)
        body = f.read()
    lines = body.splitlines(keepends=True)
    before = sum(e.count for e in header.elements[: header.vertex_index])
    vertex = header.vertex
    if len(lines) < before + vertex.count:
        raise SplatFormatError(
            path, f"truncated body: header declares {vertex.count:,} vertex rows,"
            f" {max(0, len(lines) - before):,} present"
        )
    if before:
        raise SplatFormatError(path, "ASCII files with elements before 'vertex' are not supported")
    rows = lines[: vertex.count]
    dtype = vertex.dtype("=")
    table = np.zeros(vertex.count, dtype)
    tokens = [row.split() for row in rows]
    width = len(vertex.properties)
    for i, row in enumerate(tokens):
        if len(row) != width:
            raise SplatFormatError(
                path, f"unparsable ASCII row {i} of 'vertex': expected {width} values,"
                f" found {len(row)}"
            )
    if vertex.count:
        grid = np.array(tokens, dtype=object)
        for j, prop in enumerate(vertex.properties):
            table[prop.name] = _parse_ascii_column(path, grid[:, j], dtype[prop.name], prop.name)
    used = sum(len(r) for r in rows)
    return table, body[:used], body[used:]


def _parse_ascii_column(path, column: np.ndarray, dtype: np.dtype, name: str) -> np.ndarray:
    try:
        text = column.astype(str)
    except UnicodeDecodeError:  # a byte outside ASCII: name the first such row
        bad = next(i for i, token in enumerate(column) if not token.isascii())
        raise SplatFormatError(path, f"ASCII row {bad} of 'vertex': property '{name}' holds"
                               f" bytes that are not ASCII text ({column[bad]!r})") from None
    try:
        values = text.astype(np.float64 if dtype.kind == "f" else np.int64)
    except (ValueError, OverflowError):  # OverflowError: an integer beyond int64
        bad = next((i for i, t in enumerate(text) if not _parses(t, dtype)), None)
        if bad is not None:
            raise SplatFormatError(path, f"unparsable ASCII row {bad} of 'vertex': property"
                                   f" '{name}' = {_token(column[bad])}") from None
        if dtype.kind in "iu":  # every token is a Python int: one lies beyond int64
            bad = next((i for i, t in enumerate(text) if not _fits(int(t), np.int64)), 0)
            raise SplatFormatError(path, f"ASCII row {bad} of 'vertex': {name} ="
                                   f" {_token(column[bad])} does not fit {dtype}") from None
        raise SplatFormatError(path, f"unparsable ASCII values of property '{name}'"
                               " in 'vertex'") from None
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        out = (values < info.min) | (values > info.max)
        if out.any():
            bad = int(np.argmax(out))
            raise SplatFormatError(path, f"ASCII row {bad} of 'vertex': {name} ="
                                   f" {_token(column[bad])} does not fit {dtype}")
    return values.astype(dtype)


def _token(raw: bytes) -> str:
    """A token as the file holds it, quoted (``'0x1p3'``, ``'\\x00'``), for messages."""
    return repr(raw.decode("ascii", "backslashreplace"))


def _parses(token: str, dtype: np.dtype) -> bool:
    try:
        (float if dtype.kind == "f" else int)(token)
    except ValueError:
        return False
    return True


def _fits(value: int, dtype: type) -> bool:
    info = np.iinfo(dtype)
    return info.min <= value <= info.max


def format_ascii_rows(table: np.ndarray, newline: bytes) -> bytes:
    """Format a vertex table as ASCII PLY rows (shortest round-trip float text)."""
    if len(table) == 0:
        return b""
    columns = [table[name].astype(str) for name in table.dtype.names]
    rows = [" ".join(values) for values in zip(*columns)]
    return (newline.decode().join(rows) + newline.decode()).encode("ascii")


def build_header(vertex_types: list[tuple[str, str]], count: int, byte_order: str,
                 comments: list[str]) -> PlyHeader:
    """Write a new header for one ``vertex`` element.

    Example:
        >>> build_header([("x", "float")], 3, "<", ["made by hand"]).vertex.count
        3
    """
    fmt = _FORMAT_OF_ORDER.get(byte_order, "ascii")
    lines = ["ply", f"format {fmt} 1.0", *(f"comment {c}" for c in comments),
             f"element vertex {count}", *(f"property {t} {n}" for n, t in vertex_types),
             "end_header", ""]
    return parse_header("\n".join(lines).encode("ascii"))


def ply_type_of(dtype: np.dtype) -> str:
    """The PLY type name for a numpy scalar dtype (``float32`` -> ``'float'``)."""
    return _ply_type(np.dtype(dtype).newbyteorder("=").str[1:])


def iter_table_bytes(table: np.ndarray, dtype: np.dtype,
                     overrides: dict[str, np.ndarray]) -> Iterator[bytes]:
    """Yield the binary records of ``table`` in ``dtype``, with ``overrides`` columns replaced.

    Works in chunks so that a memory-mapped table is never copied whole. The records go out
    as plain bytes (a uint8 view): the buffer protocol of a structured array refuses field
    names it cannot spell in its format string (``a:b``, say), and any name is a PLY name.
    """
    for start in range(0, len(table), _WRITE_CHUNK_ROWS):
        stop = start + _WRITE_CHUNK_ROWS
        chunk = table[start:stop]
        if overrides or chunk.dtype != dtype:
            chunk = chunk.astype(dtype)
            for name, values in overrides.items():
                chunk[name] = values[start:stop]
        yield memoryview(np.ascontiguousarray(chunk).view(np.uint8))


def atomic_write(path: Path, parts: Iterator[bytes], overwrite: bool) -> None:
    """Write ``parts`` to a temporary file beside ``path``, fsync, then move it into place.

    All or nothing: a failure (a full disk, a quota, a read-only folder) removes the
    temporary file and raises the ``OSError`` with ``path`` as its file name and
    "nothing written" in its message; whatever was at ``path`` is as it was. Without
    ``overwrite`` anything at ``path``, a dangling symlink too, is refused, and the file
    is published with a hard link, which fails when another writer got there first: of two
    writers one wins and the other gets ``FileExistsError``. With ``overwrite`` a symlink at
    ``path`` is replaced by the file, never written through, so the file it points to (an
    input, say) is untouched. The new file gets the mode of the file it replaces, else the
    usual ``0o666 & ~umask``.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "a.txt"
        >>> atomic_write(target, iter([b"one"]), overwrite=False)
        >>> atomic_write(target, iter([b"two"]), overwrite=False)
        Traceback (most recent call last):
        FileExistsError: .../a.txt: exists (pass overwrite=True to replace it)
        >>> sorted(p.name for p in target.parent.iterdir()), target.read_bytes()
        (['a.txt'], b'one')
    """
    if os.path.lexists(path) and not overwrite:
        raise _exists(path)
    mode = (path.stat().st_mode & 0o7777 if path.exists() and not path.is_symlink()
            else default_file_mode())
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise not_written(path, e) from None
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            for part in parts:
                f.write(part)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            _publish_new(Path(tmp), path)
        _sync_folder(path.parent)
    except FileExistsError:
        Path(tmp).unlink(missing_ok=True)
        raise
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise not_written(path, e) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _publish_new(tmp: Path, path: Path) -> None:
    """Give ``tmp`` the name ``path`` only if nothing has it: a hard link is atomic and
    refuses an existing name, where a rename would replace it. On a file system without
    hard links, a check and a rename (a narrow race)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise _exists(path) from None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        if os.path.lexists(path):
            raise _exists(path) from None
        os.replace(tmp, path)
    else:
        tmp.unlink()


def _sync_folder(folder: Path) -> None:
    """fsync a folder so that a rename in it survives a crash (where the system allows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _exists(path: Path) -> FileExistsError:
    return FileExistsError(f"{path}: exists (pass overwrite=True to replace it)")


def not_written(path: Path, error: OSError) -> OSError:
    """``error`` again (same class and errno), naming ``path`` and saying nothing was left.

    Example:
        >>> str(not_written(Path("out.ply"), OSError(28, "No space left on device")))
        "[Errno 28] No space left on device (nothing written): 'out.ply'"
    """
    what = error.strerror or str(error)
    return type(error)(error.errno, f"{what} (nothing written)", str(path))


def default_file_mode() -> int:
    """Permissions a new file gets under the current umask (``mkstemp`` alone gives 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
