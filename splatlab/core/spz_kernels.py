"""Compiled loops behind :mod:`splatlab.core.spz` (numba): quantise into a payload, dequantise out.

Why compiled loops: numpy needs a temporary the size of a column for each step, and the SPZ
encode is about ten float passes a field (float32 products, the float64 C rounding, clamp,
NaN test, integer casts, packing), so the numpy reference (``spz.encode_reference``) is bound
by memory traffic: about 300 ms for 762,112 gaussians where the C++ library takes 143 ms.
Here each direction is one sweep over the rows that writes every output once:
:func:`quantize` fills the streams of a version-2 payload in a preallocated buffer (which
zstd then compresses as it is), :func:`dequantize` fills rows of the (N, F) float32 table of
``pyspz.decompress`` straight from the payload.

The arithmetic is the reference's, operation for operation and in the same precision
(float32 where the library computes in float, float64 for C's ``round``, half away from
zero), with the x86-64 cast of NaN or an out-of-range value to ``INT32_MIN``; so the bytes
and the decoded bits are the reference's (``tests/test_spz.py`` checks it). Opacity's
``exp`` is not here: the caller computes it in float64 with numpy, as the reference does,
and passes it rounded to float32, so no libm difference can change an alpha byte.

Every kernel checks its array sizes before it reads or writes (numba does not).
Signatures are explicit (read-only, any-layout float32 columns, so a strided view of a
Splat's table is read in place): each kernel is compiled once, on import, and cached.

Example:
    >>> import numpy as np
    >>> zero, one = np.zeros(1, np.float32), np.ones(1, np.float32)
    >>> streams = np.empty(19, np.uint8)    # 9 + 1 + 3 + 3 + 3 bytes a gaussian, no SH
    >>> quantize(zero, zero, zero, zero, zero, zero, one, zero, zero, zero, one,
    ...          zero, zero, zero, np.empty((1, 0), np.float32), 0, 12, streams)
    >>> streams.tolist()
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 128, 128, 128, 160, 160, 160, 128, 128, 128]
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import types

_COLUMN = types.Array(types.float32, 1, "A", readonly=True)
_ROWS = types.Array(types.float32, 2, "A", readonly=True)
_BYTES_OUT = types.Array(types.uint8, 1, "C")
_BYTES_IN = types.Array(types.uint8, 1, "C", readonly=True)
_TABLE = types.Array(types.float32, 1, "C", readonly=True)
_TABLE_OUT = types.Array(types.float32, 2, "C")

INT32_MIN = -(2**31)
COLOR_MULTIPLIER = np.float32(np.float32(0.15) * np.float32(255))
"""``COLOR_SCALE * 255`` in float32, as the library multiplies f_dc by it."""
ENCODED_BYTES = 19
"""Payload bytes a gaussian without SH: positions 9, alpha 1, colour 3, scale 3, rotation 3."""


@numba.njit(inline="always")
def _c_round(value):
    """C's ``round`` of a float32 (half away from zero), in float64 (exact)."""
    wide = np.float64(value)
    return math.copysign(math.floor(abs(wide) + 0.5), wide)


@numba.njit(inline="always")
def _to_byte(value):
    """``clamp(round(value), 0, 255)`` as a byte; NaN gives 0 as on x86-64."""
    rounded = _c_round(value)
    if rounded != rounded:
        return np.uint8(0)
    return np.uint8(min(max(rounded, 0.0), 255.0))


@numba.njit(inline="always")
def _to_int32(rounded):
    """x86-64's float-to-int32 cast (``cvttsd2si``): NaN and out-of-range give INT32_MIN."""
    if rounded >= -2147483648.0 and rounded < 2147483648.0:
        return np.int64(rounded)
    return np.int64(INT32_MIN)


@numba.njit(types.void(
    _COLUMN, _COLUMN, _COLUMN, _COLUMN, _COLUMN, _COLUMN, _COLUMN, _COLUMN, _COLUMN, _COLUMN,
    _COLUMN, _COLUMN, _COLUMN, _COLUMN, _ROWS, types.int64, types.int64, _BYTES_OUT),
    nogil=True, cache=True, error_model="numpy")
def quantize(x: np.ndarray, y: np.ndarray, z: np.ndarray, scale_0: np.ndarray,
             scale_1: np.ndarray, scale_2: np.ndarray, rot_0: np.ndarray, rot_1: np.ndarray,
             rot_2: np.ndarray, rot_3: np.ndarray, exp_neg_opacity: np.ndarray,
             f_dc_0: np.ndarray, f_dc_1: np.ndarray, f_dc_2: np.ndarray, f_rest: np.ndarray,
             dim: int, fractional_bits: int, streams: np.ndarray) -> None:
    """Write the streams of a version-2 payload (everything after its 16-byte header).

    Columns are float32 (N,); ``exp_neg_opacity`` is ``float32(exp(float64(-opacity)))``;
    ``f_rest`` is (N, 3 * dim) in property order (``f_rest_{c*dim + j}``), SH coefficient
    j of channel c; ``streams`` holds exactly (19 + 3 * dim) * N bytes. Raises ValueError
    on any other size.

    Example:
        >>> import numpy as np
        >>> v = np.float32([0.5 / 4096, -0.5 / 4096, 3000])   # ties round away from zero
        >>> sh = np.float32([[0.5 / 128] * 9] * 3)             # 0.5 + 128 -> 129 -> byte 128
        >>> streams = np.empty(28 * 3, np.uint8)
        >>> quantize(v, v, v, v, v, v, v, v, v, v, v, v, v, v, sh, 3, 12, streams)
        >>> streams[:9].tolist(), streams[-9:].tolist()
        ([1, 0, 0, 1, 0, 0, 1, 0, 0], [128, 128, 128, 128, 128, 128, 128, 128, 128])
    """
    n = x.shape[0]
    rest = 3 * dim
    for column in (y, z, scale_0, scale_1, scale_2, rot_0, rot_1, rot_2, rot_3,
                   exp_neg_opacity, f_dc_0, f_dc_1, f_dc_2):
        if column.shape[0] != n:
            raise ValueError("SPZ columns differ in length")
    if f_rest.shape[0] != n or f_rest.shape[1] != rest or dim < 0:
        raise ValueError("f_rest is not (N, 3 * dim)")
    if streams.shape[0] != (ENCODED_BYTES + rest) * n:
        raise ValueError("streams buffer is not (19 + 3 * dim) * N bytes")
    alphas, colors, scales = 9 * n, 10 * n, 13 * n
    rotations, sh = 16 * n, 19 * n
    fixed_one = np.float32(1 << fractional_bits)
    color = COLOR_MULTIPLIER
    half = np.float32(127.5)
    for i in range(n):
        at = 9 * i
        for value in (x[i], y[i], z[i]):
            fixed = _to_int32(_c_round(value * fixed_one)) & 0xFFFFFF
            streams[at] = fixed & 0xFF
            streams[at + 1] = (fixed >> 8) & 0xFF
            streams[at + 2] = fixed >> 16
            at += 3
        sigmoid = np.float32(1) / (np.float32(1) + exp_neg_opacity[i])
        streams[alphas + i] = _to_byte(sigmoid * np.float32(255))
        at = colors + 3 * i
        streams[at] = _to_byte(f_dc_0[i] * color + half)
        streams[at + 1] = _to_byte(f_dc_1[i] * color + half)
        streams[at + 2] = _to_byte(f_dc_2[i] * color + half)
        at = scales + 3 * i
        streams[at] = _to_byte((scale_0[i] + np.float32(10)) * np.float32(16))
        streams[at + 1] = _to_byte((scale_1[i] + np.float32(10)) * np.float32(16))
        streams[at + 2] = _to_byte((scale_2[i] + np.float32(10)) * np.float32(16))
        qx, qy, qz, qw = rot_1[i], rot_2[i], rot_3[i], rot_0[i]   # x, y, z, w as the library
        norm = np.float32(math.sqrt(((qx * qx + qy * qy) + qz * qz) + qw * qw))
        sign = np.float32(-127.5) if qw / norm < np.float32(0) else np.float32(127.5)
        at = rotations + 3 * i
        streams[at] = _to_byte((qx / norm) * sign + half)
        streams[at + 1] = _to_byte((qy / norm) * sign + half)
        streams[at + 2] = _to_byte((qz / norm) * sign + half)
        at = sh + rest * i
        for j in range(dim):
            bucket = 8 if j < 3 else 16          # 5 bits for degree 1, 4 for the rest
            for c in range(3):
                scaled = np.float32(_c_round(f_rest[i, c * dim + j] * np.float32(128)))
                shifted = _to_int32(np.float64(scaled + np.float32(128))) + bucket // 2
                q = shifted // bucket if shifted >= 0 else -((-shifted) // bucket)  # C division
                streams[at + 3 * j + c] = min(max(q * bucket, 0), 255)


@numba.njit(inline="always")
def _all_but_rotation(streams, i, n, dim, sh, position_scale, color_table, alpha_table,
                      scale_table, sh_table, row):
    """Row ``i``'s position, colour, SH, opacity and scales into ``row``: the same in every
    version (the rotation and where the SH stream starts, ``sh``, differ). The row is
    written in column order (a third faster than channel by channel: the SH stream is
    coefficient-major, the row channel-major, and sequential stores win)."""
    alphas, colors, scales = 9 * n, 10 * n, 13 * n
    rest = 3 * dim
    at = 6 + rest
    for k in range(3):
        b = 9 * i + 3 * k
        fixed = (np.int32(streams[b]) | (np.int32(streams[b + 1]) << 8)
                 | (np.int32(streams[b + 2]) << 16))
        if fixed & 0x800000:
            fixed -= 1 << 24
        row[k] = np.float32(fixed) * position_scale
    for k in range(3):
        row[3 + k] = color_table[streams[colors + 3 * i + k]]
    base = sh + rest * i
    for c in range(3):
        for j in range(dim):
            row[6 + c * dim + j] = sh_table[streams[base + 3 * j + c]]
    row[at] = alpha_table[streams[alphas + i]]
    for k in range(3):
        row[at + 1 + k] = scale_table[streams[scales + 3 * i + k]]


@numba.njit(types.void(_BYTES_IN, types.int64, types.int64, types.float32, _TABLE, _TABLE,
                       _TABLE, _TABLE, _TABLE, _TABLE_OUT, types.int64, types.int64),
            nogil=True, cache=True, error_model="numpy")
def dequantize(streams: np.ndarray, n: int, dim: int, position_scale: float,
               color_table: np.ndarray, alpha_table: np.ndarray, scale_table: np.ndarray,
               rotation_table: np.ndarray, sh_table: np.ndarray, out: np.ndarray,
               start: int, stop: int) -> None:
    """Decode rows ``start:stop`` of a version-2 payload's streams into the same rows of
    ``out``, (N, 14 + 3 * dim) float32 (a row reads only its own bytes of each stream, so
    the rows whose bytes are in can be decoded while the rest is still being inflated).

    Columns of ``out`` in ``pyspz.decompress``'s order: x y z, f_dc_0..2, f_rest_* (channel
    major), opacity, scale_0..2, rot_0..3 (w first, ``w = sqrt(max(0, 1 - |xyz|^2))``).
    A position is its signed 24-bit fixed point times ``position_scale``; the other
    values are table look-ups (256 float32 each). ``streams`` may run on past the N
    gaussians (as the library, the rest is ignored); a shorter one raises ValueError.

    Example:
        >>> import numpy as np
        >>> table = np.arange(256, dtype=np.float32)
        >>> out = np.empty((1, 14), np.float32)
        >>> streams = np.uint8([255, 255, 255, 0, 0, 8, 0, 0, 0] + [7] * 10)
        >>> dequantize(streams, 1, 0, np.float32(0.5), table, table, table,
        ...            np.full(256, 0.3, np.float32), table, out, 0, 1)
        >>> out[0, :3].tolist(), float(out[0, 6]), [round(float(v), 4) for v in out[0, 10:]]
        ([-0.5, 262144.0, 0.0], 7.0, [0.8544, 0.3, 0.3, 0.3])
    """
    rest = 3 * dim
    if dim < 0 or streams.shape[0] < (ENCODED_BYTES + rest) * n:
        raise ValueError("streams hold fewer than (19 + 3 * dim) * N bytes")
    if out.shape[0] != n or out.shape[1] != 14 + rest:
        raise ValueError("out is not (N, 14 + 3 * dim)")
    if not 0 <= start <= stop <= n:
        raise ValueError("rows start:stop are not within 0:N")
    for table in (color_table, alpha_table, scale_table, rotation_table, sh_table):
        if table.shape[0] != 256:
            raise ValueError("a byte table needs 256 entries")
    rotations, sh = 16 * n, 19 * n
    at = 6 + rest
    for i in range(start, stop):
        row = out[i]
        _all_but_rotation(streams, i, n, dim, sh, position_scale, color_table, alpha_table,
                          scale_table, sh_table, row)
        qx = rotation_table[streams[rotations + 3 * i]]
        qy = rotation_table[streams[rotations + 3 * i + 1]]
        qz = rotation_table[streams[rotations + 3 * i + 2]]
        w = np.float32(1) - ((qx * qx + qy * qy) + qz * qz)
        row[at + 4] = np.float32(math.sqrt(max(w, np.float32(0))))
        row[at + 5] = qx
        row[at + 6] = qy
        row[at + 7] = qz


@numba.njit(types.void(_BYTES_IN, types.int64, types.int64, types.float32, _TABLE, _TABLE,
                       _TABLE, _TABLE, _TABLE_OUT, types.int64, types.int64),
            nogil=True, cache=True, error_model="numpy", parallel=True)
def dequantize_smallest_three(streams: np.ndarray, n: int, dim: int, position_scale: float,
                              color_table: np.ndarray, alpha_table: np.ndarray,
                              scale_table: np.ndarray, sh_table: np.ndarray,
                              out: np.ndarray, start: int, stop: int) -> None:
    """:func:`dequantize` for versions 3 and 4, whose rotations are 4 bytes of Niantic's
    smallest-three (two bits naming the largest component, then three of a sign bit and 9
    bits of magnitude over sqrt(1/2), read from the low bits for components 3, 2, 1, 0).

    Example:
        >>> import numpy as np
        >>> table = np.zeros(256, np.float32)
        >>> out = np.empty((1, 14), np.float32)
        >>> streams = np.uint8([0] * 16 + [0, 0, 0, 0xC0])     # largest: w; x, y, z zero
        >>> dequantize_smallest_three(streams, 1, 0, np.float32(1), table, table, table,
        ...                           table, out, 0, 1)
        >>> out[0, 10:].tolist()
        [1.0, 0.0, 0.0, 0.0]
    """
    rest = 3 * dim
    if dim < 0 or streams.shape[0] < (ENCODED_BYTES + 1 + rest) * n:
        raise ValueError("streams hold fewer than (20 + 3 * dim) * N bytes")
    if out.shape[0] != n or out.shape[1] != 14 + rest:
        raise ValueError("out is not (N, 14 + 3 * dim)")
    if not 0 <= start <= stop <= n:
        raise ValueError("rows start:stop are not within 0:N")
    for table in (color_table, alpha_table, scale_table, sh_table):
        if table.shape[0] != 256:
            raise ValueError("a byte table needs 256 entries")
    rotations, sh = 16 * n, 20 * n
    at = 6 + rest
    step = math.sqrt(0.5)
    for i in numba.prange(start, stop):   # rows are independent: both cores
        row = out[i]
        _all_but_rotation(streams, i, n, dim, sh, position_scale, color_table, alpha_table,
                          scale_table, sh_table, row)
        r = rotations + 4 * i
        comp = (np.uint32(streams[r]) | (np.uint32(streams[r + 1]) << 8)
                | (np.uint32(streams[r + 2]) << 16) | (np.uint32(streams[r + 3]) << 24))
        largest = np.int64(comp >> 30)
        total = np.float32(0)
        for c in range(3, -1, -1):   # x y z w are columns at+5, at+6, at+7, at+4
            if c == largest:
                continue
            value = np.float32(step * np.float64(comp & 511) / 511.0)
            if (comp >> 9) & 1:
                value = -value
            row[at + 4 + (c + 1) % 4] = value
            total = np.float32(total + value * value)
            comp >>= 10
        row[at + 4 + (largest + 1) % 4] = np.float32(
            math.sqrt(max(np.float32(1) - total, np.float32(0))))
