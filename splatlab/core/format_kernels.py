"""Compiled loops behind :mod:`splatlab.core.compressed_ply` and :mod:`splatlab.core.sog`.

Why compiled loops: a decoded table has up to 59 float32 fields a gaussian, and numpy fills
a structured table one strided column at a time, with a temporary the size of a column for
each step (unpack, lerp, look-up); the numpy references (``compressed_ply.decode_reference``,
``sog.decode_reference``) take several times as long as gsply's numba readers. Here one
sweep over the rows writes each (N, F) float32 row once, in the decoded property order.

The arithmetic is the references', operation for operation and in the same precision
(float64 from the stored float32 numbers, one rounding to float32); what goes through a
transcendental function (opacity's ``log``, SOG's ``exp`` of positions) comes in as a table
computed by numpy (256 alpha bytes; 65,536 positions an axis), so no libm difference can
change a bit: the results are the references' bits (``tests/test_formats.py`` checks it).
Every kernel checks its array sizes before it reads or writes (numba does not).

Example:
    >>> import numpy as np
    >>> chunks = np.zeros((1, 18), np.float32)
    >>> chunks[0, 3:6] = 1.0                                  # max_x, max_y, max_z
    >>> out = np.empty((1, 14), np.float32)
    >>> words = np.array([[0xFFFFFFFF, 0, 0, 0]], np.uint32)
    >>> decode_compressed(chunks, True, words, np.zeros((1, 0), np.uint8),
    ...                   np.zeros(256, np.float32), np.zeros(256, np.float32), out)
    >>> out[0, :3].tolist()
    [1.0, 1.0, 1.0]
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import types

_CHUNKS = types.Array(types.float32, 2, "C", readonly=True)
_WORDS = types.Array(types.uint32, 2, "C", readonly=True)
_BYTES2 = types.Array(types.uint8, 2, "C", readonly=True)
_BYTES2_ANY = types.Array(types.uint8, 2, "A", readonly=True)
_TABLE = types.Array(types.float32, 1, "C", readonly=True)
_TABLE64 = types.Array(types.float64, 2, "C", readonly=True)
_OUT = types.Array(types.float32, 2, "C")
CHUNK_SIZE = 256
_SLOTS = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]], np.int64)
_SH_C0 = 0.28209479177387814


@numba.njit(inline="always")
def _unorm(value, shift, bits):
    mask = (1 << bits) - 1
    return np.float64((value >> shift) & mask) / mask


@numba.njit(types.void(_CHUNKS, types.boolean, _WORDS, _BYTES2_ANY, _TABLE, _TABLE, _OUT),
            nogil=True, cache=True, error_model="numpy")
def decode_compressed(chunks: np.ndarray, has_colour: bool, words: np.ndarray,
                      sh: np.ndarray, sh_table: np.ndarray, alpha_table: np.ndarray,
                      out: np.ndarray) -> None:
    """Decode compressed-PLY rows into ``out``, (N, 14 + K) float32 in the order x y z,
    f_dc_0..2, f_rest_0..K-1, opacity, scale_0..2, rot_0..3.

    ``chunks`` (C, 12 or 18) float32 in the header's property order; ``words`` (N, 4) the
    packed uint32; ``sh`` (N, K) bytes; ``sh_table`` and ``alpha_table`` the 256 decoded
    values of an SH byte and of an alpha byte.
    """
    n, rest = words.shape[0], sh.shape[1]
    if chunks.shape[0] * CHUNK_SIZE < n or chunks.shape[1] < (18 if has_colour else 12):
        raise ValueError("chunks do not cover the rows")
    if sh.shape[0] != n or out.shape[0] != n or out.shape[1] != 14 + rest:
        raise ValueError("sh or out do not match the rows")
    if sh_table.shape[0] != 256 or alpha_table.shape[0] != 256:
        raise ValueError("a byte table needs 256 entries")
    norm = 1.0 / (math.sqrt(2.0) * 0.5)
    at = 6 + rest
    for i in range(n):
        k = i // CHUNK_SIZE
        position, rotation, scale, colour = words[i, 0], words[i, 1], words[i, 2], words[i, 3]
        t = _unorm(position, 21, 11)
        out[i, 0] = np.float64(chunks[k, 0]) * (1 - t) + np.float64(chunks[k, 3]) * t
        t = _unorm(position, 11, 10)
        out[i, 1] = np.float64(chunks[k, 1]) * (1 - t) + np.float64(chunks[k, 4]) * t
        t = _unorm(position, 0, 11)
        out[i, 2] = np.float64(chunks[k, 2]) * (1 - t) + np.float64(chunks[k, 5]) * t
        t = _unorm(scale, 21, 11)
        out[i, at + 1] = np.float64(chunks[k, 6]) * (1 - t) + np.float64(chunks[k, 9]) * t
        t = _unorm(scale, 11, 10)
        out[i, at + 2] = np.float64(chunks[k, 7]) * (1 - t) + np.float64(chunks[k, 10]) * t
        t = _unorm(scale, 0, 11)
        out[i, at + 3] = np.float64(chunks[k, 8]) * (1 - t) + np.float64(chunks[k, 11]) * t
        for axis in range(3):
            t = _unorm(colour, 24 - 8 * axis, 8)
            if has_colour:
                t = (np.float64(chunks[k, 12 + axis]) * (1 - t)
                     + np.float64(chunks[k, 15 + axis]) * t)
            out[i, 3 + axis] = (t - 0.5) / _SH_C0
        out[i, at] = alpha_table[colour & 255]
        a = (_unorm(rotation, 20, 10) - 0.5) * norm
        b = (_unorm(rotation, 10, 10) - 0.5) * norm
        d = (_unorm(rotation, 0, 10) - 0.5) * norm
        m = math.sqrt(max(0.0, 1.0 - ((a * a + b * b) + d * d)))
        which = np.int64(rotation >> 30)
        r = at + 4
        if which == 0:
            out[i, r], out[i, r + 1], out[i, r + 2], out[i, r + 3] = m, a, b, d
        elif which == 1:
            out[i, r], out[i, r + 1], out[i, r + 2], out[i, r + 3] = a, m, b, d
        elif which == 2:
            out[i, r], out[i, r + 1], out[i, r + 2], out[i, r + 3] = a, b, m, d
        else:
            out[i, r], out[i, r + 1], out[i, r + 2], out[i, r + 3] = a, b, d, m
        for j in range(rest):
            out[i, 6 + j] = sh_table[sh[i, j]]


@numba.njit(types.void(_BYTES2, _BYTES2, _TABLE64, _BYTES2, _BYTES2, _TABLE, _BYTES2, _TABLE,
                       _TABLE, _BYTES2, _BYTES2, _TABLE, types.int64, types.int64, _OUT),
            nogil=True, cache=True, error_model="numpy")
def decode_sog(low: np.ndarray, high: np.ndarray, positions: np.ndarray, quats: np.ndarray,
               scales: np.ndarray, scale_book: np.ndarray, sh0: np.ndarray,
               colour_book: np.ndarray, alpha_table: np.ndarray, labels: np.ndarray,
               centroids: np.ndarray, sh_book: np.ndarray, coefficients: int,
               palette: int, out: np.ndarray) -> None:
    """Decode SOG pixels (each (pixels, 4) RGBA bytes, pixel i gaussian i) into ``out``,
    (N, 14 + 3 * coefficients) float32 in the decoded property order.

    ``positions`` (3, 65536): the decoded position of each 16-bit value an axis; codebooks
    and ``alpha_table`` 256 float32; ``centroids`` (rows * 64 * coefficients, 4) the palette
    image; ``labels`` the label image (a label at or beyond ``palette`` leaves zeros).
    """
    n, rest = out.shape[0], 3 * coefficients
    for image in (low, high, quats, scales, sh0):
        if image.shape[0] < n or image.shape[1] != 4:
            raise ValueError("an image holds fewer pixels than gaussians")
    if rest and (labels.shape[0] < n or labels.shape[1] != 4 or centroids.shape[1] != 4):
        raise ValueError("the SH images do not match")
    if positions.shape[0] != 3 or positions.shape[1] != 65536 or out.shape[1] != 14 + rest:
        raise ValueError("positions or out have the wrong shape")
    if scale_book.shape[0] != 256 or colour_book.shape[0] != 256 or alpha_table.shape[0] != 256:
        raise ValueError("a codebook needs 256 entries")
    if rest and sh_book.shape[0] != 256:
        raise ValueError("a codebook needs 256 entries")
    width = 64 * coefficients
    at = 6 + rest
    root2 = math.sqrt(2.0)
    for i in range(n):
        row = out[i]
        for axis in range(3):
            row[axis] = positions[axis, np.int64(low[i, axis]) | (np.int64(high[i, axis]) << 8)]
            row[3 + axis] = colour_book[sh0[i, axis]]
            row[at + 1 + axis] = scale_book[scales[i, axis]]
        row[at] = alpha_table[sh0[i, 3]]
        tag = np.int64(quats[i, 3])
        if tag < 252:
            row[at + 4], row[at + 5], row[at + 6], row[at + 7] = 1.0, 0.0, 0.0, 0.0
        else:
            largest = tag - 252
            slots = _SLOTS[largest]
            total = 0.0
            for k in range(3):
                v = (quats[i, k] / 255.0 * 2 - 1) / root2
                row[at + 4 + slots[k]] = v
                total += v * v
            row[at + 4 + largest] = math.sqrt(max(0.0, 1.0 - total))
        if rest:
            label = np.int64(labels[i, 0]) | (np.int64(labels[i, 1]) << 8)
            base = label // 64 * width + (label % 64) * coefficients
            for j in range(coefficients):
                pixel = base + j
                known = label < palette and pixel < centroids.shape[0]
                for channel in range(3):
                    row[6 + j + coefficients * channel] = (
                        sh_book[centroids[pixel, channel]] if known else 0.0)


__all__ = ["CHUNK_SIZE", "decode_compressed", "decode_sog"]
