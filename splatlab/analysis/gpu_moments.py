"""Column moments of a device-resident (N, F) tensor in two Triton kernels, one copy back.

The GPU counterpart of :func:`splatlab.kernels.chunk_moments`: for every column, the
finite / NaN / +inf / -inf counts, the mean and M2 (sum of squared deviations) over the
finite values in float64, and their min and max. The first kernel gives each program a
range of rows; its lanes sum shifted values and their squares, with no division and no
cross-thread reduction until the range ends. The second merges the ranges, one program
a column. Two launches where the same table through torch operations takes about twenty:
on a GPU, launching kernels, not reading 50 MB, is what such a reduction costs
(``bench/bench_gpu.py`` compares the two engines of
:func:`~splatlab.analysis.statistics.device_moments`).

Needs Triton (bundled with CUDA builds of PyTorch); :func:`available` says whether it
can run on a tensor. With ``TRITON_INTERPRET=1`` set before import, Triton's interpreter
runs the same kernels on CPU tensors: that is how the tests check them without a GPU.

Example:
    >>> import torch
    >>> x = torch.tensor([[1.0, 0.0], [3.0, float("inf")]], device="cuda")  # CUDA  # doctest: +SKIP
    >>> column_moments(x)[4].tolist()    # CUDA: mean over finite values  # doctest: +SKIP
    [2.0, 0.0]
"""

from __future__ import annotations

import os
from importlib.util import find_spec

import torch

__all__ = ["available", "column_moments"]

_LANES = 512             # a program's lanes, TILE rows x COLS columns, each a running sum
_MAX_COLS = 64           # columns a program covers; wider tables use more programs
_MAX_RANGES = 512        # row ranges (programs along the rows) at most
_WARPS = 8               # warps a range program runs
_INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"

if find_spec("triton") is not None:
    import triton
    import triton.language as tl

    @triton.jit
    def _range_moments(x_ptr, part_ptr, rows, width, stride_row, stride_col, range_rows,
                       TILE: tl.constexpr, COLS: tl.constexpr):
        """Moments of one row range and column block into ``part[column, 8, range]``.

        Each of the TILE x COLS lanes sums the values it meets (one a tile) shifted by the
        first finite one, and their squares. Shifted by one of its own values, a lane's
        M2 = S2 - S1^2 / n loses at most n ulps (Samuelson's inequality bounds the shift's
        offset from the mean by sqrt(n - 1) standard deviations); no division in the loop.
        The lanes are merged once, at the end.
        """
        first_row = tl.program_id(0) * range_rows        # range_rows: a multiple of TILE
        cols = tl.program_id(1) * COLS + tl.arange(0, COLS)
        col_ok = cols < width
        n = tl.zeros([TILE, COLS], tl.float64)
        shift = tl.zeros([TILE, COLS], tl.float64)
        s1 = tl.zeros([TILE, COLS], tl.float64)
        s2 = tl.zeros([TILE, COLS], tl.float64)
        nan = tl.zeros([TILE, COLS], tl.int32)
        posinf = tl.zeros([TILE, COLS], tl.int32)
        low = tl.full([TILE, COLS], float("inf"), tl.float64)
        high = tl.full([TILE, COLS], float("-inf"), tl.float64)
        for offset in range(0, range_rows, TILE):
            r = first_row + offset + tl.arange(0, TILE)
            inside = (r < rows)[:, None] & col_ok[None, :]
            where = x_ptr + r.to(tl.int64)[:, None] * stride_row + cols[None, :] * stride_col
            v = tl.load(where, mask=inside, other=0.0).to(tl.float64)   # outside: 0, finite
            finite = inside & (tl.abs(v) < float("inf"))
            shift = tl.where(finite & (n == 0), v, shift)
            d = tl.where(finite, v - shift, 0.0)
            s1 += d
            s2 += d * d
            n += finite.to(tl.float64)
            nan += (v != v).to(tl.int32)
            posinf += (v == float("inf")).to(tl.int32)
            low = tl.minimum(low, tl.where(finite, v, float("inf")))
            high = tl.maximum(high, tl.where(finite, v, float("-inf")))
        some = tl.maximum(n, 1.0)
        mean = shift + s1 / some                          # each lane's mean and M2
        m2 = s2 - s1 * s1 / some
        total = tl.sum(n, axis=0)
        merged = tl.sum(n * mean, axis=0) / tl.maximum(total, 1.0)
        spread = mean - merged[None, :]
        seen = tl.minimum(tl.maximum(rows - first_row, 0), range_rows)   # rows in range
        nans = tl.sum(nan, axis=0).to(tl.float64)
        posinfs = tl.sum(posinf, axis=0).to(tl.float64)
        ranges = tl.num_programs(0)
        out = part_ptr + cols * 8 * ranges + tl.program_id(0)
        tl.store(out, total, mask=col_ok)
        tl.store(out + ranges, nans, mask=col_ok)
        tl.store(out + 2 * ranges, posinfs, mask=col_ok)
        tl.store(out + 3 * ranges, seen - total - nans - posinfs, mask=col_ok)
        tl.store(out + 4 * ranges, merged, mask=col_ok)
        tl.store(out + 5 * ranges, tl.sum(m2 + n * spread * spread, axis=0), mask=col_ok)
        tl.store(out + 6 * ranges, tl.min(low, axis=0), mask=col_ok)
        tl.store(out + 7 * ranges, tl.max(high, axis=0), mask=col_ok)

    @triton.jit
    def _merge_ranges(part_ptr, out_ptr, ranges, width, RANGES: tl.constexpr):
        """Merge ``part[column, 8, range]`` over the ranges into ``out[8, column]``.

        One program a column. The parallel formula: the count-weighted mean of the
        ranges' means, then M2 as the ranges' M2 plus each count times its mean's
        squared offset.
        """
        column = tl.program_id(0)
        g = tl.arange(0, RANGES)
        ok = g < ranges
        part = part_ptr + column * 8 * ranges + g
        n_g = tl.load(part, mask=ok, other=0.0)
        mean_g = tl.load(part + 4 * ranges, mask=ok, other=0.0)
        n = tl.sum(n_g, axis=0)
        mean = tl.sum(n_g * mean_g, axis=0) / tl.maximum(n, 1.0)
        spread = mean_g - mean
        m2 = tl.sum(tl.load(part + 5 * ranges, mask=ok, other=0.0) + n_g * spread * spread,
                    axis=0)
        out = out_ptr + column
        tl.store(out, n)
        tl.store(out + width, tl.sum(tl.load(part + ranges, mask=ok, other=0.0), axis=0))
        tl.store(out + 2 * width, tl.sum(tl.load(part + 2 * ranges, mask=ok, other=0.0), axis=0))
        tl.store(out + 3 * width, tl.sum(tl.load(part + 3 * ranges, mask=ok, other=0.0), axis=0))
        tl.store(out + 4 * width, mean)
        tl.store(out + 5 * width, m2)
        tl.store(out + 6 * width, tl.min(tl.load(part + 6 * ranges, mask=ok,
                                                 other=float("inf")), axis=0))
        tl.store(out + 7 * width, tl.max(tl.load(part + 7 * ranges, mask=ok,
                                                 other=float("-inf")), axis=0))


def available(x: torch.Tensor) -> bool:
    """Whether :func:`column_moments` runs on ``x``: a 2-D float tensor on a CUDA device
    (or on the CPU under Triton's interpreter) with Triton importable.

    Example:
        >>> available(torch.zeros(4, 2, dtype=torch.int32))
        False
    """
    return (find_spec("triton") is not None and x.ndim == 2 and x.dtype.is_floating_point
            and (x.is_cuda or _INTERPRETED))


def column_moments(x: torch.Tensor) -> torch.Tensor:
    """(8, F) float64 moments of each column of ``x``, on its device.

    Rows: finite, nan, +inf and -inf counts, mean and M2 over the finite values, their
    min and max (+inf / -inf where a column has none). Any strides, any float dtype.

    Example:
        >>> column_moments(torch.ones(3, 2, device="cuda"))[0].tolist()  # CUDA  # doctest: +SKIP
        [3.0, 3.0]
    """
    rows, width = x.shape
    cols = min(triton.next_power_of_2(max(width, 1)), _MAX_COLS)
    tile = max(16, _LANES // cols)
    range_rows = triton.cdiv(triton.cdiv(max(rows, 1), _MAX_RANGES), tile) * tile
    ranges = triton.cdiv(max(rows, 1), range_rows)
    parts = torch.empty((width, 8, ranges), dtype=torch.float64, device=x.device)
    out = torch.empty((8, width), dtype=torch.float64, device=x.device)
    column_blocks = triton.cdiv(width, cols)
    _range_moments[(ranges, column_blocks)](x, parts, rows, width, x.stride(0), x.stride(1),
                                            range_rows, TILE=tile, COLS=cols, num_warps=_WARPS)
    _merge_ranges[(width,)](parts, out, ranges, width,
                            RANGES=triton.next_power_of_2(ranges))
    return out
