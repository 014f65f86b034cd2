"""Per-field statistics of a Splat: moments, non-finite counts, exact quantiles and mode.

One row a field: every stored property in file order, then derived rows (``alpha``,
``linear_scale_0..2``, ``scale_max``, ``anisotropy``, ``volume``, ``quat_norm``)
when the properties behind them exist. The table is read in row chunks; nothing
the size of the table is ever copied.

Example:
    >>> import numpy as np, splatlab
    >>> s = splatlab.Splat.from_arrays({"opacity": np.array([0, 0, 2, np.nan], np.float32)})
    >>> row = stats(s).loc["opacity"]
    >>> int(row["count"]), int(row["nan"]), float(row["mean"]), float(row["mode_share"])
    (4, 1, 0.6666666666666666, 0.5)
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cache, cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..core.compiled import numba_available
from ..core.fields import GROUPS
from ..core.floats import QUIET, binary_exponent, values_as_data
from ..core.splat import Splat

if numba_available():           # the [fast] extra: the compiled loops docs/benchmarks.md times
    from . import kernels
else:                           # the same results in whole-array numpy, slower
    from . import kernels_numpy as kernels

if TYPE_CHECKING:
    import torch

COLUMNS = ("count", "finite", "nan", "posinf", "neginf", "mean", "std", "min", "max",
           "p01", "p50", "p99", "mode", "mode_share", "distinct", "quantiles")
"""Columns of the :func:`stats` table, in order."""

QUANTILE_LEVELS = (0.01, 0.5, 0.99)
"""Levels of the ``p01``, ``p50`` and ``p99`` columns."""

_MOMENT_ROWS = 8                 # finite, nan, +inf, -inf, mean, M2, min, max
_MIN_CHUNK, _MAX_CHUNK = 1024, 16384
_TORCH_CHUNK = 1 << 16
_WORKERS = min(2, len(os.sched_getaffinity(0)))    # threads that sort and reduce row pieces
_PIECE_MIN_ROWS = 1 << 16                           # fewer rows: one piece, no threads
_PIECES_A_WORKER = 4                                # row pieces a worker, taken as they free
_PIVOT_STRIDE = 64                                  # every 64th value samples the median
_HISTOGRAM_BINS = 4096                              # bins a field, quantiles="histogram"
_HISTOGRAM_SHARE = 0.04                             # threads' bins together, of the table bytes
_FLOAT32_EXACT = {"f4", "i1", "u1", "i2", "u2"}  # stored types that float32 holds exactly

OrderStats = tuple[float, float, float, float, int, int]
"""p01, p50, p99, mode, mode count, distinct."""
_NO_FINITE: OrderStats = (np.nan, np.nan, np.nan, np.nan, 0, 0)


@values_as_data
def stats(splat: Splat, *, device: str | torch.device | None = None,
          quantiles: bool | str = True) -> pd.DataFrame:
    """Statistics of every field of ``splat``, one row a field (index ``field``).

    ``count`` is the number of rows; ``finite``/``nan``/``posinf``/``neginf`` count
    each kind of value. Everything else is over the finite values only: ``mean``,
    ``std`` (population, ddof=0), ``min``, ``max``, quantiles ``p01/p50/p99`` (linear
    interpolation, as ``numpy.quantile``), the most frequent value ``mode`` (exact
    equality; the smallest on ties), ``mode_share`` (its count / ``count``) and
    ``distinct`` (number of distinct values; 0.0 and -0.0 count as one).

    Moments come from one chunked pass (float64 per chunk, chunks merged pairwise
    with Chan's formula). A float64 field whose largest finite magnitude lies outside
    [2**-400, 2**400], where float64 squares overflow or vanish, is summed again scaled
    by a power of two (exact), so its mean and std are as accurate as any other's: within
    about n * 2**-53 * max|x| of the exact ones. ``quantiles`` chooses the second pass,
    named in the table's ``quantiles`` column:

    * ``True`` or ``"exact"``: every column sorted, one at a time: exact quantiles,
      mode, mode share and distinct count;
    * ``"histogram"`` (``"histogram-4096"`` in the table; several times faster): one
      more streaming pass binning each field into 4,096 equal bins over its
      [min, max]. Quantiles are then within one bin width ((max - min) / 4096) of the
      exact ones; ``mode_share`` is the fullest bin's share: exact, with ``mode`` its
      value, when that bin holds a single value (a spike alone in its bin), else an
      upper bound of the true share, with ``mode`` the bin's centre; ``distinct`` is
      <NA>;
    * ``False``: no second pass; those columns are NaN/<NA> (``"skipped"``).

    ``device`` (a torch device or its name, such as ``"cuda"`` or ``"cpu"``) runs the
    reductions and sorts through torch (exact or skipped); the default runs them on
    the host with compiled loops, the faster choice on a CPU.

    Derived rows follow the declared encodings, as the Splat accessors do: ``alpha``
    is ``splat.alpha``, ``linear_scale_k`` a column of ``splat.scales``;
    ``scale_max``, ``anisotropy`` (max / min) and ``volume`` (product) combine the
    three linear scales and ``quat_norm`` is the length of (rot_0..rot_3). They are
    computed in float32 when their inputs are float32, else in float64.

    Example:
        >>> from splatlab import data
        >>> float(stats(data.corrupted()).loc["opacity", "mode_share"])
        1.0
    """
    mode = {True: "exact", "exact": "exact", "histogram": "histogram", False: "skipped"}.get(
        quantiles)
    if mode is None:
        raise ValueError(f"quantiles must be True, False, 'exact' or 'histogram', "
                         f"not {quantiles!r}")
    if mode == "histogram" and device is not None:
        raise ValueError("quantiles='histogram' runs on the host only; leave device unset")
    plan = _Plan.of(splat)
    backend = _HostBackend(plan.count) if device is None else _TorchBackend(device)
    moments = backend.moments(plan)
    exponents = _rescale_extremes(moments, _scaled_plan_moments(plan))
    label = mode
    if mode == "exact":
        order = backend.order_stats(plan, moments)
    elif mode == "histogram":
        order = backend.histogram_stats(plan, moments)
        label = f"histogram-{_HISTOGRAM_BINS}"
    else:
        order = [(np.nan,) * 5 + (pd.NA,)] * len(plan.fields)
    return _frame(plan.fields, plan.count, str(splat.source or "<in memory>"), moments, order,
                  label, exponents)


MOMENT_ROWS = ("finite", "nan", "posinf", "neginf", "mean", "m2", "min", "max")
"""Rows of :func:`device_moments` (``m2``: sum of squared deviations from the mean)."""


def device_moments(matrix: torch.Tensor, engine: str = "auto") -> np.ndarray:
    """(8, F) float64 moments of each column of an (N, F) tensor, computed on its device.

    Rows as :data:`MOMENT_ROWS`; over finite values, float64 accumulation. The data
    stays on its device; only the (8, F) result comes back: the building block of
    :func:`tensor_moments`. ``engine``: ``"triton"``, two Triton kernels
    (:mod:`splatlab.gpu_moments`; CUDA tensors); ``"torch"``, about 20 torch
    operations (any device); ``"auto"``, Triton where it runs, else torch.

    Example:
        >>> import torch
        >>> float(device_moments(torch.tensor([[1.0], [3.0]]))[4, 0])
        2.0
    """
    from . import gpu_moments

    if engine not in ("auto", "triton", "torch"):
        raise ValueError(f"engine must be 'auto', 'triton' or 'torch', not {engine!r}")
    runs_triton = gpu_moments.available(matrix)
    if engine == "triton" and not runs_triton:
        raise ValueError("engine='triton' needs Triton and a 2-D float tensor on a CUDA"
                         f" device; got {matrix.dtype} on {matrix.device}")
    if engine != "torch" and runs_triton:
        return gpu_moments.column_moments(matrix).cpu().numpy()
    return _TorchBackend(matrix.device).matrix_moments(matrix)


def tensor_moments(matrix: torch.Tensor, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Moments of an (N, F) tensor already on its device, one row a column.

    The device-resident counterpart of ``stats(splat, quantiles=False)``: columns
    ``count, finite, nan, posinf, neginf, mean, std, min, max`` with the same
    definitions (over finite values, float64 accumulation, population std; float64
    columns near the ends of float64's range summed scaled, as ``stats`` does). Only
    the (8, F) result leaves the device.

    Example:
        >>> import torch
        >>> float(tensor_moments(torch.tensor([[1.0], [3.0], [float("nan")]]), ["x"])["mean"].x)
        2.0
    """
    import torch

    names = [f"column_{j}" for j in range(matrix.shape[1])] if names is None else list(names)
    moments = device_moments(matrix)
    exponents = _rescale_extremes(
        moments, lambda i, e: device_moments(torch.ldexp(
            matrix[:, i:i + 1].double(), torch.tensor(-e, device=matrix.device)))[:, 0])
    return _frame(tuple(names), matrix.shape[0], "<tensor>", moments, None, "skipped",
                  exponents)


# ---------------------------------------------------------------------------- fields
@dataclass(frozen=True)
class _Derived:
    """A derived row: ``of(chunk)`` gives its values on a :class:`_Chunk`, in ``dtype``.

    ``activation``, for rows that are a non-decreasing function of the one stored row in
    ``inputs``, is that function as ``activation(values, out)`` (in place when ``out`` is
    ``values``, so that a sorted copy stays sorted).
    """

    name: str
    inputs: tuple[str, ...]
    dtype: np.dtype
    of: Callable[[_Chunk], np.ndarray]
    activation: Callable[[np.ndarray, np.ndarray], object] | None = None


class _Chunk:
    """The rows [start, stop) of a plan's stored fields; activations computed once a chunk."""

    def __init__(self, plan: _Plan, start: int, stop: int, gathered: np.ndarray | None = None):
        self.plan, self.start, self.stop = plan, start, stop
        self._gathered = gathered       # (len(plan.derived_inputs), rows) copies, or None
        self._blocks: dict[Hashable, np.ndarray] = {}  # computed blocks, by key

    def rows(self, names: tuple[str, ...]) -> np.ndarray:
        """(rows, len(names)) stored values: a view of the rows gathered for this chunk or
        of the table when the layout allows, else a copy."""
        inputs = self.plan.derived_inputs
        if self._gathered is not None and all(n in inputs for n in names):
            first = inputs.index(names[0])
            if inputs[first:first + len(names)] == names:
                return self._gathered[first:first + len(names)].T
        view = self.plan.group_view(names)
        if view is not None:
            return view[self.start:self.stop]
        return np.stack([self.plan.columns[n][self.start:self.stop] for n in names], axis=1)

    def computed(self, key: Hashable, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """``compute()``, once a chunk: blocks that several derived rows read."""
        if key not in self._blocks:
            self._blocks[key] = compute()
        return self._blocks[key]

    def activated(self, names: tuple[str, ...], dtype: np.dtype,
                  activation: Callable[[np.ndarray, np.ndarray], object]) -> np.ndarray:
        """``activation`` of the stored rows ``names`` as a new (k, rows) ``dtype`` array.

        The activation reads :meth:`rows` in place and writes the new array: one pass.
        """
        def activate() -> np.ndarray:
            out = np.empty((len(names), self.stop - self.start), dtype)
            activation(self.rows(names).T, out)
            return out

        return self.computed((names, activation), activate)


@dataclass(frozen=True)
class _Plan:
    """What to compute for a splat: its stored fields and derived rows."""

    splat: Splat
    stored: tuple[str, ...]
    derived: dict[str, _Derived]

    @classmethod
    def of(cls, splat: Splat) -> _Plan:
        stored = tuple(splat.properties)
        dtypes = {name: splat.stored_table.dtype[name] for name in stored}
        derived = [replace(d, name=derived_label(splat, d.name))
                   for d in _derived_rows(splat, dtypes)]
        return cls(splat, stored, {d.name: d for d in derived})

    @property
    def fields(self) -> tuple[str, ...]:
        return self.stored + tuple(self.derived)

    @property
    def count(self) -> int:
        return self.splat.count

    @property
    def chunk_rows(self) -> int:
        """Rows a chunk: about 1/64 of the table (1,024 to 16,384), so buffers stay small."""
        return int(np.clip(self.count // 64, _MIN_CHUNK, _MAX_CHUNK))

    @cached_property
    def derived_inputs(self) -> tuple[str, ...]:
        """The stored fields the derived rows read, in stored order."""
        used = {n for spec in self.derived.values() for n in spec.inputs}
        return tuple(n for n in self.stored if n in used)

    @cached_property
    def columns(self) -> dict[str, np.ndarray]:
        """Stored field -> its column as a plain (strided) ndarray view."""
        return {name: np.asarray(self.splat.column(name)) for name in self.stored}

    def chunks(self, start: int, stop: int,
               rows: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(stored, derived) (rows, K) blocks of the rows [start, stop), ``rows`` at a time.

        ``stored`` is a view of the table when it is one float32 matrix, else a float64
        copy; ``derived`` is float32 when every derived row is. Buffers are reused: use a
        pair before the next.
        """
        matrix = self._float32_matrix()
        rows = max(1, min(rows or self.chunk_rows, stop - start))
        stored_buffer = None if matrix is not None else np.empty((len(self.stored), rows))
        derived_buffer = np.empty((len(self.derived), rows), np.result_type(
            np.float32, *(spec.dtype for spec in self.derived.values())))
        inputs = np.array([self.stored.index(n) for n in self.derived_inputs], np.int64)
        gathered = np.empty((len(inputs), rows), np.float32)
        for a in range(start, stop, rows):
            b = min(a + rows, stop)
            if matrix is not None:
                stored = matrix[a:b]
                kernels.gather_columns(stored, inputs, gathered)     # while it is in cache
                chunk = _Chunk(self, a, b, gathered[:, :b - a])
            else:
                for j, name in enumerate(self.stored):
                    stored_buffer[j, :b - a] = self.columns[name][a:b]
                stored = stored_buffer[:, :b - a].T
                chunk = _Chunk(self, a, b)
            for j, spec in enumerate(self.derived.values()):
                derived_buffer[j, :b - a] = spec.of(chunk)
            yield stored, derived_buffer[:, :b - a].T

    def fill(self, field: str, out: np.ndarray, start: int, stop: int) -> None:
        """Write the rows [start, stop) of ``field`` into ``out[start:stop]``."""
        if field in self._stored_set:
            np.copyto(out[start:stop], self.columns[field][start:stop], casting="unsafe")
            return
        for a in range(start, stop, self.chunk_rows):
            b = min(a + self.chunk_rows, stop)
            out[a:b] = self.derived[field].of(_Chunk(self, a, b))

    def values(self, field: str) -> np.ndarray:
        """One field over all rows as a new native array (float32 when that is exact)."""
        out = np.empty(self.count, self.value_dtype(field))
        self.fill(field, out, 0, self.count)
        return out

    def value_dtype(self, field: str) -> np.dtype:
        """float32 for a field that float32 holds exactly, else float64."""
        if field in self.derived:
            return self.derived[field].dtype
        dt = self.splat.stored_table.dtype[field]
        return np.dtype(np.float32 if dt.kind + str(dt.itemsize) in _FLOAT32_EXACT
                        else np.float64)

    def children(self, field: str) -> list[_Derived]:
        """Derived rows that are a non-decreasing function of stored ``field`` alone."""
        return [d for d in self.derived.values() if d.activation is not None
                and d.inputs == (field,)]

    def group_view(self, names: tuple[str, ...]) -> np.ndarray | None:
        """:meth:`Splat.columns_view` of ``names``, looked up once."""
        if names not in self._views:
            self._views[names] = self.splat.columns_view(names)
        return self._views[names]

    @cached_property
    def _views(self) -> dict[tuple[str, ...], np.ndarray | None]:
        return {}

    @cached_property
    def _stored_set(self) -> frozenset[str]:
        return frozenset(self.stored)

    def _float32_matrix(self) -> np.ndarray | None:
        """The table as an (N, F) float32 matrix when that is a view (no copy)."""
        table = self.splat.stored_table
        if (self.splat.overrides or table.dtype.itemsize != 4 * len(self.stored)
                or any(table.dtype[n] != np.float32 for n in self.stored)):
            return None
        return np.asarray(self.splat.as_matrix(dtype=np.float32))


def derived_label(splat: Splat, name: str) -> str:
    """The row label of the derived row ``name`` (``alpha``, ``scale_max``...) in ``stats``:
    the name itself, or ``"name (derived)"`` when a stored property already has that name,
    so that the two rows stay apart.

    Example:
        >>> s = Splat.from_arrays({"opacity": np.zeros(2, np.float32),
        ...                        "alpha": np.ones(2, np.float32)})
        >>> derived_label(s, "alpha"), list(stats(s).index)
        ('alpha (derived)', ['opacity', 'alpha', 'alpha (derived)'])
    """
    return f"{name} (derived)" if name in splat.properties else name


def _derived_rows(splat: Splat, dtypes: dict[str, np.dtype]) -> list[_Derived]:
    """The derived rows whose stored properties exist.

    ``linear_scale_k``, ``scale_max``, ``anisotropy`` and ``volume`` share one activation
    of the scales a chunk; each row is computed in float32 when its inputs are float32.
    """
    def dtype_of(*names: str) -> np.dtype:
        single = all(dtypes[n].newbyteorder("=") == np.float32 for n in names)
        return np.dtype(np.float32 if single else np.float64)

    rows: list[_Derived] = []
    if "opacity" in dtypes:
        act = _keep if splat.opacity_encoding == "probability" else _sigmoid
        dt = dtype_of("opacity")
        rows.append(_Derived("alpha", ("opacity",), dt,
                             lambda c: c.activated(("opacity",), dt, act)[0], act))
    scales = tuple(n for n in GROUPS["log_scales"] if n in dtypes)
    if scales:
        scale_act = _keep if splat.scale_encoding == "linear" else _exp
        scale_dt = dtype_of(*scales)

        def linear(chunk: _Chunk) -> np.ndarray:
            return chunk.activated(scales, scale_dt, scale_act)

        rows += [_Derived(f"linear_scale_{name[-1]}", (name,), scale_dt,
                          lambda c, k=k: linear(c)[k], scale_act)
                 for k, name in enumerate(scales)]
    if len(scales) == 3:
        def summaries(chunk: _Chunk) -> np.ndarray:
            return chunk.computed("scale_summaries", lambda: _each_column(
                kernels.scale_summaries, linear(chunk), 3))

        rows += [_Derived(name, scales, scale_dt, lambda c, k=k: summaries(c)[k])
                 for k, name in enumerate(("scale_max", "anisotropy", "volume"))]
    quats = GROUPS["quats"]
    if all(n in dtypes for n in quats):
        quat_dt = dtype_of(*quats)
        rows.append(_Derived("quat_norm", quats, quat_dt, lambda c: _each_column(
            kernels.quat_norms, np.asarray(c.rows(quats).T, quat_dt), None)))
    return rows


def _each_column(kernel: Callable[[np.ndarray, np.ndarray], None], values: np.ndarray,
                 out_rows: int | None) -> np.ndarray:
    """``kernel(values, out)`` into a new ``out``: (out_rows, rows), or (rows,) for None."""
    shape = values.shape[1] if out_rows is None else (out_rows, values.shape[1])
    out = np.empty(shape, values.dtype)
    kernel(values, out)
    return out


def _keep(x: np.ndarray, out: np.ndarray) -> None:
    """Identity (a field declared already activated), into ``out``."""
    np.copyto(out, x, casting="unsafe")


def _sigmoid(x: np.ndarray, out: np.ndarray) -> None:
    """Bit for bit :func:`splatlab.core.fields.sigmoid`, 1 / (1 + exp(-x)), into ``out``."""
    with np.errstate(over="ignore"):
        np.negative(x, out=out, dtype=out.dtype, casting="unsafe")
        np.exp(out, out=out)
        np.add(out, 1.0, out=out)
        np.divide(1.0, out, out=out)


def _exp(x: np.ndarray, out: np.ndarray) -> None:
    """exp(x) into ``out``."""
    with np.errstate(over="ignore"):
        np.exp(x, out=out, dtype=out.dtype, casting="unsafe")


# ---------------------------------------------------------------------------- moments
def _merge_pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Merge two stacks of chunk moments (C, 8, K) with Chan et al.'s pairwise formula."""
    out = a + b                                   # the four counts add up
    n = out[:, 0]
    share_b = np.divide(b[:, 0], n, out=np.zeros_like(n), where=n > 0)
    delta = b[:, 4] - a[:, 4]
    out[:, 4] = a[:, 4] + delta * share_b
    out[:, 5] = a[:, 5] + b[:, 5] + delta * delta * a[:, 0] * share_b
    out[:, 6] = np.minimum(a[:, 6], b[:, 6])
    out[:, 7] = np.maximum(a[:, 7], b[:, 7])
    return out


def _merge_all(parts: np.ndarray) -> np.ndarray:
    """Merge (C, 8, K) chunk moments into (8, K), as a balanced tree of pairwise merges.

    Moments of values near float64's limits may overflow here; :func:`_rescale_extremes`
    sums those fields again, scaled."""
    with np.errstate(over="ignore", invalid="ignore"):
        while len(parts) > 1:
            even = len(parts) - len(parts) % 2
            parts = np.concatenate([_merge_pair(parts[0:even:2], parts[1:even:2]),
                                    parts[even:]])
    return parts[0]


_SAFE_MAGNITUDE = 2.0 ** 400
"""Fields whose largest finite magnitude lies in [1/this, this] are summed as they are: n
squared deviations of such values neither overflow float64 nor fall below its normal
range by more than the rounding of the std."""


def _rescale_extremes(moments: np.ndarray,
                      scaled_moments: Callable[[int, int], np.ndarray]) -> np.ndarray:
    """Redo the mean and M2 rows of fields beyond :data:`_SAFE_MAGNITUDE` on their values
    times 2**-e (exact), e bringing the largest magnitude into [0.5, 1); returns e for every
    field (0 where nothing was redone). ``scaled_moments(i, e)`` gives the moments of field
    ``i``'s values times 2**-e. ``moments`` then holds those two rows scaled:
    :func:`_moment_columns` scales mean and std back.

    Only float64 values can be that large or that small (float32's range lies well inside),
    so float32 data never come here.
    """
    largest = np.fmax(np.abs(moments[6]), np.abs(moments[7]))
    exponents = np.zeros(len(largest), np.int64)
    with np.errstate(divide="ignore"):
        redo = ((moments[0] > 0) & (largest > 0)
                & ((largest > _SAFE_MAGNITUDE) | (largest < 1 / _SAFE_MAGNITUDE)))
    for i in np.flatnonzero(redo):
        exponent = binary_exponent(float(largest[i]))
        moments[4:6, i] = scaled_moments(int(i), exponent)[4:6]
        exponents[i] = exponent
    return exponents


def _scaled_plan_moments(plan: _Plan) -> Callable[[int, int], np.ndarray]:
    """``scaled_moments`` of :func:`_rescale_extremes` for a splat's fields, on the host."""
    def scaled(i: int, exponent: int) -> np.ndarray:
        values = np.ldexp(plan.values(plan.fields[i]).astype(np.float64), -exponent)
        part = np.empty((_MOMENT_ROWS, 1))
        kernels.chunk_moments(values[:, None], part)
        return part[:, 0]
    return scaled


def _merge_bins(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
                ) -> tuple[np.ndarray, np.ndarray]:
    """Two sets of (counts, single values) bins of the same values' parts, as one.

    A bin's value survives where one side is empty or both sides hold the same value;
    else it is NaN (two values met in it).
    """
    (counts, last), (more_counts, more_last) = a, b
    with np.errstate(invalid="ignore"):
        agreed = np.where(last == more_last, last, np.nan)
    merged = np.where(counts == 0, more_last, np.where(more_counts == 0, last, agreed))
    return counts + more_counts, merged.astype(last.dtype, copy=False)


def _no_rows(width: int) -> np.ndarray:
    """Moments of zero values: counts 0, mean 0, M2 0, min +inf, max -inf."""
    out = np.zeros((1, _MOMENT_ROWS, width))
    out[0, 6], out[0, 7] = np.inf, -np.inf
    return out


def _finite_span(moments: np.ndarray, i: int) -> tuple[int, int]:
    """Where the finite values of field ``i`` lie once sorted (-inf first; +inf, NaN last)."""
    neginf = int(moments[3, i])
    return neginf, neginf + int(moments[0, i])


# ---------------------------------------------------------------------------- order stats
def _quantile_ranks(n: int) -> np.ndarray:
    """The sorted ranks that :func:`_quantiles` reads from ``n`` sorted values."""
    lows = [int(q * (n - 1)) for q in QUANTILE_LEVELS]
    return np.unique([*lows, *(min(i + 1, n - 1) for i in lows)]).astype(np.int64)


def _quantiles(n: int, value_at: Callable[[int], float]) -> tuple[float, float, float]:
    """``numpy.quantile`` (linear) at QUANTILE_LEVELS of ``n`` sorted values, read by rank.

    Where ``b - a`` overflows float64 (neighbours near -1.8e308 and +1.8e308) numpy's
    formula gives inf or NaN; there the weighted sum ``a (1 - t) + b t`` stays between them.
    """
    out = []
    for q in QUANTILE_LEVELS:
        h = q * (n - 1)
        i = int(h)
        t = h - i
        a, b = float(value_at(i)), float(value_at(min(i + 1, n - 1)))
        if not np.isfinite(b - a) and np.isfinite(a) and np.isfinite(b):
            out.append(a * (1 - t) + b * t)
        else:
            out.append(a + (b - a) * t if t < 0.5 else b - (b - a) * (1 - t))
    return tuple(out)


def _binned_stats(counts: np.ndarray, last: np.ndarray, low: float, span: float
                  ) -> OrderStats:
    """Order statistics from one field's histogram: quantiles with the values of a bin
    spread evenly inside it; as mode, the fullest bin's value when it holds one value
    only, else its centre; the fullest bin's count; <NA> distinct."""
    cumulative = np.cumsum(counts)
    width = span / len(counts)

    def value_at(rank: int) -> float:
        b = int(np.searchsorted(cumulative, rank, "right"))
        before = cumulative[b - 1] if b else 0
        inside = (rank - before + 0.5) / counts[b]
        return min(max(low + (b + inside) * width, low), low + span)

    fullest = int(counts.argmax())
    one_value = not np.isnan(last[fullest])              # see kernels.chunk_histogram
    mode = float(last[fullest]) if one_value else low + (fullest + 0.5) * width
    return (*_quantiles(int(cumulative[-1]), value_at), mode, int(counts[fullest]), pd.NA)


def _one_value(moments: np.ndarray) -> OrderStats:
    """Order statistics of a field whose finite values all are one value (min == max)."""
    value = float(moments[6])
    return value, value, value, value, int(moments[0]), 1


def set_threads(count: int) -> None:
    """Threads :func:`stats` may use in this process from now on (default: up to 2, one a
    core). A worker process of a parallel scan uses 1: the processes are the parallelism.

    Example:
        >>> set_threads(_WORKERS)   # as it was
    """
    global _WORKERS
    if count < 1:
        raise ValueError(f"count must be at least 1 (got {count})")
    _WORKERS = count
    _pool.cache_clear()


@cache
def _pool() -> ThreadPoolExecutor:
    """The threads that work beside the caller's in :class:`_HostBackend`, started on
    first use and kept."""
    return ThreadPoolExecutor(max(1, _WORKERS - 1), thread_name_prefix="splatlab-stats")


class _HostBackend:
    """Moments and sorts on the host, each split into row pieces that the calling thread
    and the pool's workers take as they come free.

    Moments come from :func:`~splatlab.analysis.kernels.chunk_moments` over chunks (each
    piece its own chunks); a column is copied out piece by piece, split at a sampled median
    by :func:`~splatlab.analysis.kernels.partition_below` and its two sides sorted by two
    threads (numpy's sort releases the GIL); :func:`~splatlab.analysis.kernels.runs` reads
    mode and distinct count, both halves at once. One column is held at a time. The
    histogram table instead sends the chunks once more through
    :func:`~splatlab.analysis.kernels.chunk_histogram`. Without numba, ``kernels`` is
    :mod:`~splatlab.analysis.kernels_numpy`: the same results, slower.
    """

    def __init__(self, count: int):
        self.parallel = count >= _PIECE_MIN_ROWS and _WORKERS > 1
        pieces = _WORKERS * _PIECES_A_WORKER if self.parallel else 1
        edges = np.linspace(0, count, pieces + 1).astype(int)
        self.pieces = list(zip(edges[:-1].tolist(), edges[1:].tolist()))

    def _each_piece(self, fn: Callable[[int, int], object]) -> list:
        """``fn(start, stop)`` of every piece, results in piece order.

        The calling thread and the pool's other workers take the next piece as each comes
        free, so a worker that a busy machine starts late delays nothing.
        """
        if not self.parallel:
            return [fn(a, b) for a, b in self.pieces]
        results: list = [None] * len(self.pieces)
        taken = itertools.count()                   # next() is atomic under the GIL

        def take_pieces() -> None:
            with np.errstate(**QUIET):              # a worker does not inherit the caller's
                while (i := next(taken)) < len(self.pieces):
                    results[i] = fn(*self.pieces[i])

        helpers = [_pool().submit(take_pieces) for _ in range(_WORKERS - 1)]
        take_pieces()
        for helper in helpers:
            helper.result()
        return results

    def moments(self, plan: _Plan) -> np.ndarray:
        width = len(plan.stored)

        def piece(start: int, stop: int) -> list[np.ndarray]:
            parts = []
            for stored, derived in plan.chunks(start, stop):
                part = np.empty((_MOMENT_ROWS, len(plan.fields)))
                kernels.chunk_moments(stored, part[:, :width])
                if derived.shape[1]:
                    kernels.chunk_moments(derived, part[:, width:])
                parts.append(part)
            return parts

        parts = [part for parts in self._each_piece(piece) for part in parts]
        return _merge_all(np.array(parts) if parts else _no_rows(len(plan.fields)))

    def order_stats(self, plan: _Plan, moments: np.ndarray) -> list[OrderStats]:
        """Sort each stored column once and derive its monotone children from the sorted copy.

        A field with a single finite value (min == max in ``moments``) is not read again.
        """
        out = {field: _one_value(moments[:, i]) for i, field in enumerate(plan.fields)
               if moments[0, i] > 0 and moments[6, i] == moments[7, i]}
        for field in plan.fields:
            if field not in out:
                out.update(self._sorted_column(plan, field))
        return [out[field] for field in plan.fields]

    def histogram_stats(self, plan: _Plan, moments: np.ndarray) -> list[OrderStats]:
        """Order statistics from one more pass binning every field (see :func:`stats`).

        A float64 field whose [min, max] float64 cannot bin (a span beyond 1.8e308, or so
        small that 4,096 bins over it overflow the bin scale) is sorted instead: exact.
        """
        fields = len(plan.fields)
        low = moments[6].copy()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            span = moments[7] - moments[6]
            binnable = np.isfinite(span) & np.isfinite(_HISTOGRAM_BINS / span)
        sorted_instead = (moments[0] > 0) & (span != 0) & ~binnable
        span[~binnable] = 0.0                 # no finite value, or sorted: nothing to bin
        counts, last = self._binned(plan, low, span)
        out = []
        for i in range(fields):
            if moments[0, i] == 0:
                out.append(_NO_FINITE)
            elif sorted_instead[i]:
                field = plan.fields[i]
                out.append(self._sorted_column(plan, field, children=False)[field])
            elif span[i] == 0:
                out.append(_one_value(moments[:, i]))
            else:
                out.append(_binned_stats(counts[i], last[i], low[i], span[i]))
        return out

    def _binned(self, plan: _Plan, low: np.ndarray, span: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
        """(fields, bins) counts and single values (see :func:`kernels.chunk_histogram`).

        One set of bins a thread, merged at the end, where the sets together stay under
        ``_HISTOGRAM_SHARE`` of the table's bytes; else one set filled by one thread.
        """
        width, fields = len(plan.stored), len(plan.fields)
        dtype = np.result_type(*(plan.value_dtype(f) for f in plan.fields))  # float32 if all are
        set_bytes = fields * _HISTOGRAM_BINS * (4 + dtype.itemsize)
        table_bytes = plan.count * plan.splat.stored_table.dtype.itemsize
        threaded = self.parallel and _WORKERS * set_bytes <= _HISTOGRAM_SHARE * table_bytes
        sets: dict[int, tuple[np.ndarray, np.ndarray]] = {}

        def bin_rows(start: int, stop: int) -> None:
            key = threading.get_ident() if threaded else 0
            if key not in sets:                    # each thread touches its own key only
                sets[key] = (np.zeros((fields, _HISTOGRAM_BINS), np.int32),
                             np.zeros((fields, _HISTOGRAM_BINS), dtype))
            counts, last = sets[key]
            for stored, derived in plan.chunks(start, stop):
                for part, at in ((stored, slice(0, width)), (derived, slice(width, fields))):
                    kernels.chunk_histogram(part, low[at], span[at], counts[at], last[at])

        if threaded:
            self._each_piece(bin_rows)
        else:
            bin_rows(0, plan.count)
        (counts, last), *others = sets.values()
        for more in others:
            counts, last = _merge_bins((counts, last), more)
        return counts, last

    def _sorted_column(self, plan: _Plan, field: str, children: bool = True
                       ) -> dict[str, OrderStats]:
        """Order statistics of ``field`` and (unless ``children`` is False) of its monotone
        children, from one sorted copy."""
        values = np.empty(plan.count, plan.value_dtype(field))
        self._each_piece(lambda a, b: plan.fill(field, values, a, b))
        self._sort(values)
        out = {field: self._sorted_stats(values)}
        for child in plan.children(field) if children else ():
            values = values.astype(child.dtype, copy=False)
            self._each_piece(lambda a, b, v=values, f=child.activation: f(v[a:b], v[a:b]))
            if not kernels.is_sorted(values):     # non-decreasing in theory, not in float
                self._sort(values)
            out[child.name] = self._sorted_stats(values)
        return out

    def _sort(self, values: np.ndarray) -> None:
        """Sort in place; with two pieces, split at a sampled median and sort each side
        in its own thread (the two sorted sides are the sorted whole)."""
        if not self.parallel:
            values.sort()
            return
        sample = np.sort(values[::_PIVOT_STRIDE])
        cut = kernels.partition_below(values, sample[len(sample) // 2])
        self._each_side(lambda side: side.sort(), values, cut)

    def _sorted_stats(self, values: np.ndarray) -> OrderStats:
        """Order statistics of the finite values of sorted ``values``."""
        inf = values.dtype.type(np.inf)        # a float64 bound would copy a float32 column
        finite = values[np.searchsorted(values, -inf, "right"):
                        np.searchsorted(values, inf, "left")]
        n = len(finite)
        if n == 0:
            return _NO_FINITE
        if not self.parallel:
            mode, count, distinct = kernels.runs(finite)
        else:                                   # split where a run starts: no run is cut
            cut = int(np.searchsorted(finite, finite[n // 2], "left"))
            (mode, count, distinct), (high_mode, high_count, high_distinct) = (
                self._each_side(kernels.runs, finite, cut))
            distinct += high_distinct
            if high_count > count:                 # ties go to the smaller value, below
                mode, count = high_mode, high_count
        return (*_quantiles(n, finite.__getitem__), mode, count, distinct)

    @staticmethod
    def _each_side(fn: Callable[[np.ndarray], object], values: np.ndarray, cut: int) -> list:
        """``fn`` of ``values[:cut]`` (a pool worker) and of ``values[cut:]`` (this thread)."""
        low = _pool().submit(fn, values[:cut])
        high = fn(values[cut:])
        return [low.result(), high]


class _TorchBackend:
    """Reductions and sorts through torch on a device; blocks and columns come from the host."""

    def __init__(self, device: str | torch.device):
        import torch

        self.torch = torch
        self.device = torch.device(device)

    def moments(self, plan: _Plan) -> np.ndarray:
        parts = [device_moments(self.torch.from_numpy(
                    np.concatenate([stored, derived], axis=1, dtype=np.float64)).to(self.device))
                 for stored, derived in plan.chunks(0, plan.count, _TORCH_CHUNK)]
        return _merge_all(np.array(parts) if parts else _no_rows(len(plan.fields)))

    def matrix_moments(self, x: torch.Tensor) -> np.ndarray:
        """(8, F) float64 moments of each column of an (N, F) tensor, over its finite values.

        Every column first as if all were finite: a float64-accumulated mean (finite
        exactly when every value is: float64 sums of float32 values cannot overflow),
        the two-pass M2 as the squared norm of ``x - mean`` (float64), and ``aminmax``;
        the four come back in one copy. A column whose sum is not finite (TRELLIS's
        saturated ``+inf`` opacities, say) is then done again over its finite values.
        Few, large kernels: on a GPU the cost is mostly launching them.
        """
        torch = self.torch
        rows, width = x.shape
        out = _no_rows(width)[0]
        if rows == 0:
            return out
        mean = torch.mean(x, dim=0, dtype=torch.float64)
        low, high = torch.aminmax(x, dim=0)
        norm = torch.linalg.vector_norm(x - mean, dim=0)          # x - mean is float64
        mean, norm, low, high = torch.cat([mean, norm, low, high]).cpu().numpy().reshape(4, -1)
        out[0], out[1:4], out[4], out[5], out[6], out[7] = rows, 0, mean, norm**2, low, high
        for j in np.flatnonzero(~np.isfinite(mean)):
            out[:, j] = self._finite_moments(x[:, j])
        return out

    def _finite_moments(self, column: torch.Tensor) -> np.ndarray:
        """(8,) moments of one column over its finite values, gathered first."""
        torch = self.torch
        values = column[torch.isfinite(column)]
        n = values.numel()                                         # known on the host now
        if n == 0:
            values = torch.zeros(1, dtype=column.dtype, device=column.device)
        var, mean = torch.var_mean(values.double(), correction=0)
        low, high = torch.aminmax(values)
        nan, posinf, mean, var, low, high = torch.stack(           # one copy back
            [torch.isnan(column).sum(), (column == torch.inf).sum(), mean, var, low, high]
        ).cpu().numpy()
        if n == 0:
            mean, var, low, high = 0.0, 0.0, np.inf, -np.inf
        return np.array([n, nan, posinf, len(column) - n - nan - posinf, mean, var * n, low, high])

    def order_stats(self, plan: _Plan, moments: np.ndarray) -> list[OrderStats]:
        return [self._column(plan.values(field), _finite_span(moments, i))
                for i, field in enumerate(plan.fields)]

    def _column(self, values: np.ndarray, span: tuple[int, int]) -> OrderStats:
        torch = self.torch
        finite = torch.sort(torch.from_numpy(values).to(self.device)).values[span[0]:span[1]]
        if len(finite) == 0:
            return _NO_FINITE
        distinct, counts = torch.unique_consecutive(finite, return_counts=True)
        best = int(counts.argmax())
        return (*_quantiles(len(finite), finite.__getitem__), float(distinct[best]),
                int(counts[best]), len(distinct))


# ---------------------------------------------------------------------------- table
def _moment_columns(count: int, moments: np.ndarray, exponents: np.ndarray | None = None
                    ) -> dict[str, np.ndarray]:
    """The table's columns ``count`` .. ``max`` from (8, F) moments, whose mean and M2 rows
    hold fields scaled by 2**-exponents (see :func:`_rescale_extremes`)."""
    n = moments[0]
    empty = n == 0
    exponents = np.zeros(len(n), np.int64) if exponents is None else exponents
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.ldexp(np.sqrt(moments[5] / n), exponents)
    mean = np.ldexp(moments[4], exponents)
    counts = moments[:4].astype(np.int64)
    return {"count": np.full(len(n), count, np.int64), "finite": counts[0], "nan": counts[1],
            "posinf": counts[2], "neginf": counts[3],
            "mean": np.where(empty, np.nan, mean), "std": np.where(empty, np.nan, std),
            "min": np.where(empty, np.nan, moments[6]), "max": np.where(empty, np.nan, moments[7])}


def _frame(fields: tuple[str, ...], count: int, source: str, moments: np.ndarray,
           order: list[tuple] | None, label: str, exponents: np.ndarray | None = None
           ) -> pd.DataFrame:
    """The stats table; without ``order`` (order statistics) only its moment columns."""
    columns = _moment_columns(count, moments, exponents)
    if order is not None:
        p01, p50, p99, mode, mode_count, distinct = (list(column) for column in zip(*order))
        share = np.array(mode_count, dtype=np.float64) / max(count, 1)
        columns.update({"p01": p01, "p50": p50, "p99": p99, "mode": mode,
                        "mode_share": np.where(moments[0] == 0, np.nan, share),
                        "distinct": pd.array(distinct, dtype="Int64"), "quantiles": label})
    frame = pd.DataFrame(columns, index=pd.Index(fields, name="field"))
    frame.attrs.update(source=source, rows=count)
    return frame


__all__ = ["COLUMNS", "MOMENT_ROWS", "QUANTILE_LEVELS", "device_moments", "set_threads", "stats",
           "tensor_moments"]
