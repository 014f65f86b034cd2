"""The subnet-17 submission path: what a validator receives from a miner's PLY.

The miner sends ``pyspz.compress(ply_bytes)``; the validation server runs
``pyspz.decompress(data, include_normals=False)`` and loads, gates and renders the PLY
that comes out (FACTS.md section 5). This module models both ends:

* :func:`submission_problems`: every reason ``compress`` or ``decompress`` would refuse
  (or misread) a file, from its header and size, exactly by the library's rules;
* :func:`spz_roundtrip`: the Splat the validator decodes, bit for bit.

Example:
    >>> import numpy as np
    >>> from splatlab import Splat
    >>> columns = {n: np.zeros(3, np.float32) for n in spz.ENCODED_PROPERTIES}
    >>> submission_problems(Splat.from_arrays(columns))
    []
    >>> submission_problems(Splat.from_arrays(columns, comments=("made by hand",)))[0]
    "line 3 must start 'element vertex ' (found 'comment made by hand')"
    >>> spz_roundtrip(Splat.from_arrays(columns)).column("opacity").tolist()
    [0.007843292318284512, 0.007843292318284512, 0.007843292318284512]
"""

from __future__ import annotations

import os
from collections import Counter
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np

from ..core import spz
from ..core.fields import missing_properties
from ..core.floats import values_as_data
from ..core.io import splat_from_spz
from ..core.ply import MAX_HEADER_BYTES, SplatFormatError
from ..core.splat import BlockMemo, Splat

FORMAT_LINE = b"format binary_little_endian 1.0"
VERTEX_PREFIX = b"element vertex "
PROPERTY_PREFIX = b"property float "


class SubmissionRefused(ValueError):
    """The submission path refuses a file; ``problems`` lists every reason.

    Example:
        >>> str(SubmissionRefused("a.ply", ["line 2 must be ..."]))
        'a.ply: cannot be submitted: line 2 must be ...'
    """

    def __init__(self, source: str | os.PathLike, problems: list[str]):
        self.source = str(source)
        self.problems = list(problems)
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{self.source}: cannot be submitted: {problems[0]}{more}")


def submission_problems(source: Splat | bytes | str | os.PathLike) -> list[str]:
    """Every reason ``pyspz.compress`` or ``pyspz.decompress`` would refuse the file.

    ``source`` is a path, the file's bytes, or a Splat (judged as :func:`splatlab.save`
    would write it as PLY). An empty list means the file goes through. The rules are the
    library's (FACTS.md section 5): lines split at ``\\n`` only; line 1 ``ply``; line 2
    exactly ``format binary_little_endian 1.0``; line 3 ``element vertex N`` with N in
    1..10,485,760 (more than 10,000,000 then fails to decompress); every further line to
    ``end_header`` starts ``property float ``; the 3DGS properties present; ``f_rest_*``
    from 0 in a count of 0, 9, 24 or 45; the body as long as the header says.

    Example:
        >>> submission_problems(b"ply\\nformat ascii 1.0\\n")[0]
        "line 2 must be 'format binary_little_endian 1.0' (found 'format ascii 1.0')"
    """
    if isinstance(source, Splat):
        header = source.header.raw
        body = source.count * source.header.vertex.dtype(source.header.byte_order).itemsize
        return _problems(header, body)
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        end = _header_end(data)
        return _problems(data[:end], len(data) - end)
    path = Path(source)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(MAX_HEADER_BYTES)
    except OSError as e:
        raise SplatFormatError(path, f"cannot open ({e.strerror})") from None
    end = _header_end(head)
    return _problems(head[:end], size - end)


def _header_end(data: bytes) -> int:
    """Offset just after the ``end_header`` line (the whole input when there is none)."""
    at = data.find(b"\nend_header\n")
    return len(data) if at < 0 else at + len(b"\nend_header\n")


def _show(line: bytes) -> str:
    return line.decode("ascii", "backslashreplace")


def _problems(header: bytes, body_size: int) -> list[str]:
    lines = header.split(b"\n")
    problems: list[str] = []
    if any(line.endswith(b"\r") for line in lines):
        problems.append("header lines end with CR LF; the library splits lines at LF only")
    if lines[0] != b"ply":
        problems.append(f"line 1 must be 'ply' (found {_show(lines[0])!r})")
    if len(lines) < 2 or lines[1] != FORMAT_LINE:
        found = _show(lines[1]) if len(lines) > 1 else "end of file"
        problems.append(f"line 2 must be '{FORMAT_LINE.decode()}' (found {found!r})")
    count = _vertex_count(lines, problems)
    names = _property_names(lines, problems)
    if names is None:
        return problems
    missing = missing_properties(names, spz.ENCODED_PROPERTIES)
    if missing:
        problems.append(f"missing properties {', '.join(missing)}")
    twice = sorted(n for n, k in Counter(names).items() if k > 1)
    if twice:
        problems.append(f"properties declared twice ({', '.join(twice)}): compress reads"
                        " every row at the wrong stride")
    rest = spz.sh_rest_count(names)
    if rest % 3:
        problems.append(f"{rest} f_rest properties are not a multiple of 3")
    elif rest // 3 not in spz.SH_DIM.values():
        problems.append(f"{rest} f_rest properties fit no SH degree (0, 9, 24 or 45):"
                        " compress writes an empty payload that decompress refuses")
    if count is not None:
        if count > spz.MAX_POINTS:
            problems.append(f"{count:,} gaussians: decompress refuses more than"
                            f" {spz.MAX_POINTS:,}")
        need = count * len(set(names)) * 4
        if body_size < need:
            problems.append(f"body holds {body_size:,} bytes, {count:,} rows need {need:,}")
    return problems


def _vertex_count(lines: list[bytes], problems: list[str]) -> int | None:
    line = lines[2] if len(lines) > 2 else b""
    if not line.startswith(VERTEX_PREFIX):
        problems.append(f"line 3 must start 'element vertex ' (found {_show(line)!r})")
        return None
    digits = line[len(VERTEX_PREFIX):].strip()
    sign = -1 if digits.startswith(b"-") else 1
    digits = digits.lstrip(b"+-")
    run = len(digits) - len(digits.lstrip(b"0123456789"))
    if run == 0:
        problems.append(f"vertex count {_show(line[len(VERTEX_PREFIX):])!r} is not a number")
        return None
    count = sign * int(digits[:run])
    if not 1 <= count <= spz.COMPRESS_MAX_POINTS:
        problems.append(f"vertex count {count:,} outside 1..{spz.COMPRESS_MAX_POINTS:,}")
        return None
    return count


def _property_names(lines: list[bytes], problems: list[str]) -> list[str] | None:
    try:
        end = lines.index(b"end_header", 3)
    except ValueError:
        problems.append("no 'end_header' line")
        return None
    names = []
    for number, line in enumerate(lines[3:end], start=4):
        if not line.startswith(PROPERTY_PREFIX):
            problems.append(f"line {number} must start 'property float '"
                            f" (found {_show(line)!r})")
            continue
        names.append(_show(line[len(PROPERTY_PREFIX):]))
    return names


@values_as_data
def position_wraps(positions: np.ndarray) -> np.ndarray:
    """Mask of finite coordinates that wrap around in SPZ's 24-bit fixed point (|p| >= 2048).

    Example:
        >>> position_wraps(np.float32([2047.9, 2048.0, -2048.0, -2048.1])).tolist()
        [False, True, False, True]
    """
    fixed = np.asarray(positions, np.float32).astype(np.float64) * (1 << spz.FRACTIONAL_BITS)
    rounded = np.copysign(np.floor(np.abs(fixed) + 0.5), fixed)
    return np.isfinite(rounded) & ((rounded < -(1 << 23)) | (rounded >= 1 << 23))


@values_as_data
def log_scale_clamps(log_scales: np.ndarray) -> np.ndarray:
    """Mask of log scales SPZ clamps to [-10, 5.9375] (more than half a step outside).

    Example:
        >>> log_scale_clamps(np.float32([-10.03, -10.04, 5.96, 6.0])).tolist()
        [False, True, False, True]
    """
    low, high = spz.LOG_SCALE_RANGE
    s = np.asarray(log_scales, np.float32)
    with np.errstate(invalid="ignore"):
        return (s < low - 1 / 32) | (s > high + 1 / 32)


_ROUNDTRIPS = BlockMemo("roundtrips")


def remembered_roundtrips() -> AbstractContextManager[None]:
    """Inside the block, :func:`spz_roundtrip` of one Splat (one object) is computed once:
    a scan's row, its findings and its gate all ask for what the validator decodes.

    Example:
        >>> import numpy as np
        >>> s = Splat.from_arrays({n: np.zeros(3, np.float32) for n in spz.ENCODED_PROPERTIES})
        >>> with remembered_roundtrips():
        ...     spz_roundtrip(s) is spz_roundtrip(s)
        True
        >>> spz_roundtrip(s) is spz_roundtrip(s)
        False
    """
    return _ROUNDTRIPS.block()


def spz_roundtrip(splat: Splat, *, container: str = "zstd") -> Splat:
    """What the validator decodes from ``splat``: compress then decompress, bit for bit.

    The result has the properties, order and float32 values of
    ``pyspz.decompress(pyspz.compress(ply), include_normals=False)``; it keeps
    ``splat``'s source path so that messages name the file. Raises
    :class:`SubmissionRefused` when the path would refuse the file.

    Example:
        >>> import numpy as np
        >>> s = Splat.from_arrays({n: np.full(2, 3000.0, np.float32) for n in
        ...                        spz.ENCODED_PROPERTIES})
        >>> spz_roundtrip(s).column("x").tolist()   # beyond +-2048 positions wrap
        [-1096.0, -1096.0]
    """
    return _ROUNDTRIPS(splat, ("submission.roundtrip", container),
                       lambda: _roundtrip(splat, container=container))


@values_as_data
def _roundtrip(splat: Splat, *, container: str = "zstd") -> Splat:
    problems = submission_problems(splat)
    if problems:
        raise SubmissionRefused(splat.source or "<splat>", problems)
    packed = spz.encode({name: splat.column(name) for name in splat.properties})
    info = spz.SpzInfo(container, packed.version, packed.count, packed.sh_degree,
                       packed.fractional_bits, packed.antialiased)
    return splat_from_spz(packed, info, source=splat.source,
                          opacity_encoding=splat.opacity_encoding,
                          scale_encoding=splat.scale_encoding)


__all__ = ["SubmissionRefused", "log_scale_clamps", "position_wraps", "remembered_roundtrips",
           "spz_roundtrip", "submission_problems"]
