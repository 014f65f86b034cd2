"""Read and write antimatter15's ``.splat``: 32-byte rows, no header, no SH.

A row: position (3 float32), linear scale (3 float32), colour and opacity (4 bytes,
``0.5 + SH_C0 * f_dc`` and ``sigmoid(opacity)``, times 255), rotation (4 bytes, w x y z,
``b / 255 * 2 - 1``, then normalised). Spherical harmonics beyond degree 0 are not stored.

Decoding does splat-transform 3.10.2's arithmetic (float64, one rounding to float32):
log scales ``log(s)``; opacity ``logit(b / 255)`` with ``b / 255`` clamped to
[1e-6, 1 - 1e-6] (so bytes 0 and 255 give -13.8155 and +13.8155); a zero rotation becomes
the identity. Fields agree with its decodes to float32 rounding of ``log``.

**Detection.** The format has no magic bytes, so a file is taken for ``.splat`` only when
nothing else matched (see :func:`splatlab.core.io.detect_format`), its size is a non-zero
multiple of 32, and :func:`plausible` holds for its rows: in at least 90 % of up to 4,096
rows sampled evenly over the file, the three positions are finite and within 1e7 and the
three scales finite, positive (linear scales) and below 1e7; and not every sampled rotation
is zero. Random bytes pass a row's test about 3 % of the time, text never. Since a file
failing it would not be recognised again, the writer refuses a splat whose rows fail it
(non-finite positions or scales in more than a tenth of the rows).

Writing packs as antimatter15's converter: colour and alpha ``clamp(round(v * 255))``,
rotation normalised then ``clamp(round(q * 128 + 128))``, scales ``exp(log scale)``; rows
in the given order (antimatter15 sorts by size and opacity; we keep rows matched).

Why our own codec: gsply does not read or write ``.splat``; a 32-byte record is one numpy
structured dtype.

Example:
    >>> import numpy as np
    >>> cols = {n: np.zeros(2, np.float32) for n in ENCODED_PROPERTIES}
    >>> cols["rot_0"] = np.ones(2, np.float32)
    >>> table = decode(np.frombuffer(encode(cols), RECORD))
    >>> table["rot_0"].tolist(), table["scale_0"].tolist()   # w = 255 / 255 * 2 - 1 of the rest
    ([0.9999769330024719, 0.9999769330024719], [0.0, 0.0])
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .compressed_ply import empty_table
from .fields import SH_C0
from .floats import values_as_data
from .ply import SplatFormatError, file_bytes

RECORD = np.dtype([("position", "<f4", 3), ("scale", "<f4", 3), ("rgba", "u1", 4),
                   ("rotation", "u1", 4)])
"""One 32-byte row."""
ENCODED_PROPERTIES = ("x", "y", "z", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2",
                      "rot_3", "opacity", "f_dc_0", "f_dc_1", "f_dc_2")
_SAMPLE_ROWS = 4096
_LIMIT = 1e7
_PLAUSIBLE_SHARE = 0.9
_BLOCK_ROWS = 16384


def plausible(rows: np.ndarray) -> bool:
    """True when sampled rows look like ``.splat`` rows (see the module docstring).

    Example:
        >>> rows = np.zeros(2, RECORD)
        >>> plausible(rows)              # zero scales are not linear scales
        False
        >>> rows["scale"], rows["rotation"][:, 0] = 0.01, 255
        >>> plausible(rows)
        True
    """
    if len(rows) == 0:
        return False
    step = max(1, len(rows) // _SAMPLE_ROWS)
    sample = rows[::step]
    with np.errstate(invalid="ignore", over="ignore"):
        position = sample["position"].astype(np.float64)
        scale = sample["scale"].astype(np.float64)
        good = ((np.abs(position) < _LIMIT).all(axis=1)
                & ((scale > 0) & (scale < _LIMIT)).all(axis=1))
    return bool(good.mean() >= _PLAUSIBLE_SHARE and sample["rotation"].any())


def read(path: str | os.PathLike) -> np.ndarray:
    """The decoded float32 table of a ``.splat`` file.

    Example:
        >>> from splatlab import data
        >>> read(data.path("sample.splat")).shape
        (2048,)
    """
    path = Path(path)
    return decode(records(file_bytes(path), path))


def records(data: bytes, source: str | os.PathLike = "<bytes>") -> np.ndarray:
    """The 32-byte rows of ``data``, refused unless its size is a non-zero multiple of 32."""
    if not data or len(data) % RECORD.itemsize:
        raise SplatFormatError(source, f".splat size {len(data):,} bytes is not a non-zero"
                               " multiple of 32")
    return np.frombuffer(data, RECORD)


@values_as_data
def decode(rows: np.ndarray) -> np.ndarray:
    """The float32 table of ``.splat`` rows (splat-transform's arithmetic), decoded a block
    of rows at a time (the block's part of the table stays in the cache)."""
    out = empty_table(len(rows), 0)
    for start in range(0, len(rows), _BLOCK_ROWS):
        _decode_block(rows[start:start + _BLOCK_ROWS], out[start:start + _BLOCK_ROWS])
    return out


def _decode_block(rows: np.ndarray, out: np.ndarray) -> None:
    for axis, name in enumerate("xyz"):
        out[name] = rows["position"][:, axis]
        out[f"scale_{axis}"] = np.log(rows["scale"][:, axis].astype(np.float64))
    rgba = rows["rgba"]
    for axis in range(3):
        out[f"f_dc_{axis}"] = (rgba[:, axis] / 255 - 0.5) / SH_C0
    alpha = np.clip(rgba[:, 3] / 255, 1e-6, 1 - 1e-6)
    out["opacity"] = np.log(alpha / (1 - alpha))
    q = rows["rotation"] / 255 * 2 - 1
    length = np.sqrt((q * q).sum(axis=1))
    zero = length == 0
    q = np.where(zero[:, None], np.array([1.0, 0, 0, 0]), q / np.where(zero, 1, length)[:, None])
    for i in range(4):
        out[f"rot_{i}"] = q[:, i]


def _byte(values: np.ndarray) -> np.ndarray:
    return np.nan_to_num(np.clip(np.round(values), 0, 255), nan=0).astype(np.uint8)


@values_as_data  # NaN and inf clamp as the bytes allow
def encode(columns: dict[str, np.ndarray]) -> bytes:
    """The ``.splat`` bytes of named float columns (SH beyond degree 0 is dropped).

    Raises ValueError when a property of :data:`ENCODED_PROPERTIES` is missing.
    """
    missing = [n for n in ENCODED_PROPERTIES if n not in columns]
    if missing:
        raise ValueError(f".splat needs properties {', '.join(missing)}")
    col = {n: np.asarray(columns[n], np.float64) for n in ENCODED_PROPERTIES}
    rows = np.zeros(len(col["x"]), RECORD)
    rows["position"] = np.stack([col[n] for n in "xyz"], axis=1)
    rows["scale"] = np.exp(np.stack([col[f"scale_{i}"] for i in range(3)], axis=1))
    colour = np.stack([0.5 + SH_C0 * col[f"f_dc_{i}"] for i in range(3)], axis=1)
    rows["rgba"][:, :3] = _byte(colour * 255)
    rows["rgba"][:, 3] = _byte(255 / (1 + np.exp(-col["opacity"])))
    q = np.nan_to_num(np.stack([col[f"rot_{i}"] for i in range(4)], axis=1), nan=0.0,
                      posinf=0.0, neginf=0.0)
    length = np.sqrt((q * q).sum(axis=1))
    q = q / np.where(length == 0, 1, length)[:, None]
    rows["rotation"] = _byte(q * 128 + 128)
    if not plausible(rows):
        raise ValueError("more than a tenth of the rows have non-finite or huge positions, or"
                         " scales that are not finite and positive: a .splat has no header,"
                         " so such a file would not be recognised as one")
    return rows.tobytes()


__all__ = ["ENCODED_PROPERTIES", "RECORD", "decode", "encode", "plausible", "read", "records"]
