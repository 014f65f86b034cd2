"""The Splat type: a 3DGS vertex table exactly as stored, with named views.

Example:
    >>> import numpy as np, splatlab
    >>> s = splatlab.Splat.from_arrays({"x": np.zeros(2, np.float32), "opacity": np.ones(2)})
    >>> s.count, s.properties
    (2, ['x', 'opacity'])
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .display import html_table
from .fields import GAUSSIAN_PROPERTIES, GROUPS, SH_C0, SH_REST_COUNTS, f_rest_names
from .floats import values_as_data
from .ply import PlyHeader, build_header, ply_type_of

OpacityEncoding = Literal["logit", "probability"]
ScaleEncoding = Literal["log", "linear"]


class SplatFieldError(LookupError):
    """A 3DGS accessor was used on a file that lacks the properties behind it."""


@dataclass(frozen=True)
class Encoding:
    """What the stored opacity and scales look like, beside what was declared.

    ``opacity_looks`` is ``"probability"`` when every finite stored opacity lies in
    [0, 1] (a logit field like that would make every gaussian 50-73 % opaque);
    ``scales_look`` is ``"linear"`` when every finite stored scale is positive.
    Detection only reports a suspicion: the declared encoding is what the
    accessors use.

    Example:
        >>> Encoding("logit", "log", "logit", "log", {}).mismatch
        False
    """

    opacity: str
    scales: str
    opacity_looks: str
    scales_look: str
    evidence: dict[str, float] = field(default_factory=dict)

    @property
    def mismatch(self) -> bool:
        """True when a field looks unlike its declared encoding."""
        return (self.opacity_looks not in ("unknown", self.opacity)
                or self.scales_look not in ("unknown", self.scales))


@dataclass(frozen=True)
class RawParts:
    """Bytes of a loaded file that the Splat keeps but does not decode."""

    pre: np.ndarray | bytes = b""      # elements stored before 'vertex'
    tail: np.ndarray | bytes = b""     # elements and bytes after 'vertex'
    ascii_rows: bytes | None = None    # exact vertex rows of an ASCII file
    encoded: np.ndarray | bytes | None = None  # the whole file, for formats decoded on
    #                                     load (SPZ, compressed PLY: memory-mapped)


@dataclass(frozen=True)
class SourceFormat:
    """What kind of file a Splat's values came from.

    ``name`` is ``"ply"``, ``"compressed-ply"`` (PlayCanvas), ``"sog"``, ``"spz"``,
    ``"splat"`` (antimatter15), ``"ksplat"`` (mkkellogg) or ``"arrays"`` (built in
    memory). For SPZ, ``container`` is ``"zstd"`` (404-Repo/spz, what subnet 17 sends),
    ``"gzip"`` (Niantic, versions 1-3) or ``"plain"`` (Niantic version 4: a plaintext
    header and zstd streams), with the payload's ``version`` and ``fractional_bits``; for
    SOG, ``container`` is ``"zip"`` (a ``.sog`` bundle) or ``"folder"``. ``quantised``
    says the values passed through a lossy encoding, so they sit on a grid.

    Example:
        >>> SourceFormat("spz", "zstd", 2, 12, quantised=True).label
        'SPZ v2 (zstd), quantised'
        >>> SourceFormat("compressed-ply", quantised=True).label
        'compressed PLY, quantised'
    """

    name: str = "ply"
    container: str | None = None
    version: int | None = None
    fractional_bits: int | None = None
    antialiased: bool = False
    quantised: bool = False

    @property
    def title(self) -> str:
        """The format's name as people write it (``"compressed PLY"``, ``".splat"``)."""
        return FORMAT_TITLES.get(self.name, self.name)

    @property
    def label(self) -> str:
        """One phrase for tables and reprs."""
        text = self.title
        if self.version is not None:
            text += f" v{self.version}"
        if self.container:
            text += f" ({self.container})"
        return text + (", quantised" if self.quantised else "")


FORMAT_TITLES = {"ply": "PLY", "spz": "SPZ", "compressed-ply": "compressed PLY", "sog": "SOG",
                 "splat": ".splat", "ksplat": ".ksplat", "arrays": "in-memory arrays"}
"""How each :attr:`SourceFormat.name` is written in messages."""


class Splat:
    """A 3DGS vertex table as stored, plus its header and declared encoding.

    Build one with :func:`splatlab.load` or :meth:`Splat.from_arrays`. Accessors
    return read-only views where the layout allows (``positions``, ``quats``...)
    and computed arrays for activations (``alpha``, ``scales``). Nothing mutates a
    Splat; :meth:`replace` returns a new one.

    Example:
        >>> s = Splat.from_arrays({"opacity": np.array([0.0, 2.0], np.float32)})
        >>> s.alpha.astype(float).round(3).tolist()
        [0.5, 0.881]
    """

    def __init__(self, table: np.ndarray, header: PlyHeader, *, source: Path | None = None,
                 overrides: Mapping[str, np.ndarray] | None = None,
                 opacity: OpacityEncoding = "logit", scales: ScaleEncoding = "log",
                 raw: RawParts | None = None, source_format: SourceFormat | None = None):
        if opacity not in ("logit", "probability"):
            raise ValueError(f"opacity encoding must be 'logit' or 'probability', not {opacity!r}")
        if scales not in ("log", "linear"):
            raise ValueError(f"scale encoding must be 'log' or 'linear', not {scales!r}")
        self._table = table
        self._header = header
        self._source = source
        self._overrides = dict(overrides or {})
        self._opacity_encoding = opacity
        self._scale_encoding = scales
        self._raw = raw or RawParts()
        self._source_format = source_format or SourceFormat()
        self._encoding: Encoding | None = None

    # ------------------------------------------------------------------ building
    @classmethod
    def from_arrays(cls, columns: Mapping[str, np.ndarray], *, comments: tuple[str, ...] = (),
                    byte_order: str = "<", opacity: OpacityEncoding = "logit",
                    scales: ScaleEncoding = "log") -> Splat:
        """Build a Splat from 1-D arrays, one a property, in file order.

        Each array keeps its dtype (float32 stays ``float``). ``byte_order`` is
        ``"<"``, ``">"`` or ``"="`` (ASCII). ``comments`` become header comment lines
        (none by default: a comment line makes the submission path refuse the file).

        Example:
            >>> Splat.from_arrays({"x": np.arange(3, dtype=np.float32)}).header.format
            'binary_little_endian'
        """
        arrays = {name: np.asarray(values) for name, values in columns.items()}
        lengths = {len(a) for a in arrays.values()}
        if len(lengths) != 1 or any(a.ndim != 1 for a in arrays.values()):
            raise ValueError("from_arrays needs 1-D arrays of one common length")
        count = lengths.pop()
        table = np.zeros(count, [(n, a.dtype.newbyteorder("=")) for n, a in arrays.items()])
        for name, values in arrays.items():
            table[name] = values
        table.flags.writeable = False
        types = [(name, ply_type_of(a.dtype)) for name, a in arrays.items()]
        header = build_header(types, count, byte_order, list(comments))
        return cls(table, header, opacity=opacity, scales=scales,
                   source_format=SourceFormat("arrays"))

    def replace(self, **fields: np.ndarray) -> Splat:
        """Return a new Splat with some fields changed; this one is untouched.

        Keys are property names (``opacity``, ``scale_0``) or accessor groups
        (``positions`` (N,3), ``log_scales`` (N,3), ``quats`` (N,4), ``sh_dc`` (N,3),
        ``normals`` (N,3), ``sh_rest`` (N,K,3)). Values are cast to the stored dtype.

        Example:
            >>> s = Splat.from_arrays({"opacity": np.zeros(2, np.float32)})
            >>> s.replace(opacity=[1, 2]).opacity.tolist()
            [1.0, 2.0]
        """
        updates: dict[str, np.ndarray] = {}
        for key, value in fields.items():
            for name, column in self._split_group(key, np.asarray(value)).items():
                updates[name] = self._cast_column(name, column)
        return Splat(self._table, self._header, source=self._source,
                     overrides={**self._overrides, **updates}, opacity=self._opacity_encoding,
                     scales=self._scale_encoding, raw=self._raw,
                     source_format=self._source_format)

    def take(self, rows: np.ndarray) -> Splat:
        """A new Splat of the given rows (indices or a boolean mask), in that order.

        Dtypes, property order, byte order and the header's other lines are kept. Files with
        other elements (faces index vertices) are refused, since their indices would break.

        Example:
            >>> Splat.from_arrays({"x": np.arange(4, dtype=np.float32)}).take([3, 1]).column("x")
            array([3., 1.], dtype=float32)
        """
        others = [e.name for e in self._header.elements if e.name != "vertex"]
        if others:
            raise ValueError(f"{self._label()}: cannot take rows of a file with other elements"
                             f" ({', '.join(others)}): their vertex indices would break")
        rows = np.asarray(rows)
        table = np.array(self._table[rows])
        for name, values in self._overrides.items():
            table[name] = values[rows]
        table.flags.writeable = False
        header = self._header.with_vertex_count(len(table))
        return Splat(table, header, source=None, opacity=self._opacity_encoding,
                     scales=self._scale_encoding, source_format=self._source_format)

    def detached(self) -> Splat:
        """A copy that holds every byte in memory, free of the file it was mapped from."""
        table = np.array(self._table)
        table.flags.writeable = False
        encoded = self._raw.encoded
        raw = RawParts(bytes(self._raw.pre), bytes(self._raw.tail), self._raw.ascii_rows,
                       None if encoded is None else bytes(encoded))
        return Splat(table, self._header, source=None, overrides=self._overrides,
                     opacity=self._opacity_encoding, scales=self._scale_encoding, raw=raw,
                     source_format=self._source_format)

    def _split_group(self, key: str, value: np.ndarray) -> dict[str, np.ndarray]:
        n = self.count
        if key == "sh_rest":
            names = self._require(f_rest_names(len(self._rest_names())))
            k = len(names) // 3
            if value.shape != (n, k, 3):
                raise ValueError(f"sh_rest must have shape {(n, k, 3)}, got {value.shape}")
            flat = value.transpose(0, 2, 1).reshape(n, 3 * k)
            return {name: flat[:, i] for i, name in enumerate(names)}
        if key in GROUPS and key not in self._table.dtype.fields:
            names = self._require(GROUPS[key])
            if value.shape != (n, len(names)):
                raise ValueError(f"{key} must have shape {(n, len(names))}, got {value.shape}")
            return {name: value[:, i] for i, name in enumerate(names)}
        if key not in self._table.dtype.fields:
            raise ValueError(f"no property or field named {key!r}")
        if value.shape != (n,):
            raise ValueError(f"{key} must have shape {(n,)}, got {value.shape}")
        return {key: value}

    def _cast_column(self, name: str, values: np.ndarray) -> np.ndarray:
        dtype = self._table.dtype[name].newbyteorder("=")
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            ok = np.isfinite(values) & (values >= info.min) & (values <= info.max)
            if not (ok.all() and np.array_equal(values, np.round(values))):
                raise ValueError(f"{name}: values do not fit the stored type {dtype}")
        out = np.array(values, dtype=dtype, copy=True)
        out.flags.writeable = False
        return out

    # ------------------------------------------------------------------ table facts
    @property
    def count(self) -> int:
        """Number of gaussians (vertex rows)."""
        return len(self._table)

    def __len__(self) -> int:
        return self.count

    @property
    def properties(self) -> list[str]:
        """Stored property names, in file order."""
        return list(self._table.dtype.names)

    @property
    def dtypes(self) -> dict[str, np.dtype]:
        """Stored dtype of each property (with the file's byte order)."""
        stored = self._header.vertex.dtype(self._header.byte_order)
        return {name: stored[name] for name in self.properties}

    @property
    def header(self) -> PlyHeader:
        """The parsed header, with comments, obj_info and other elements."""
        return self._header

    @property
    def source(self) -> Path | None:
        """The file this Splat was loaded from (None when built in memory)."""
        return self._source

    @property
    def source_format(self) -> SourceFormat:
        """The kind of file the values came from (format, container, version, quantised)."""
        return self._source_format

    @property
    def modified(self) -> bool:
        """True when any field differs from what was loaded or built."""
        return bool(self._overrides)

    @property
    def changed_properties(self) -> list[str]:
        """Properties replaced since loading, in file order."""
        return [name for name in self.properties if name in self._overrides]

    @property
    def raw_parts(self) -> RawParts:
        return self._raw

    @property
    def table(self) -> np.ndarray:
        """The vertex table as stored (a structured array; may be memory-mapped)."""
        return self._table

    @property
    def overrides(self) -> dict[str, np.ndarray]:
        """Replaced columns by property name (stored dtype, native byte order)."""
        return dict(self._overrides)

    @property
    def is_gaussian(self) -> bool:
        """True when every 3DGS property (positions, colour, opacity, scales, rotation) exists."""
        return all(name in self._table.dtype.fields for name in GAUSSIAN_PROPERTIES)

    @property
    def opacity_encoding(self) -> str:
        return self._opacity_encoding

    @property
    def scale_encoding(self) -> str:
        return self._scale_encoding

    # ------------------------------------------------------------------ columns
    def column(self, name: str) -> np.ndarray:
        """One stored property as a read-only 1-D view.

        Example:
            >>> Splat.from_arrays({"x": np.ones(2, np.float32)}).column("x").tolist()
            [1.0, 1.0]
        """
        if name in self._overrides:
            return self._overrides[name]
        if name not in self._table.dtype.fields:    # a dict: files with 10,000s of properties
            raise SplatFieldError(f"{self._label()}: no property {name!r}")
        return self._table[name]

    __getitem__ = column

    def columns(self, names: tuple[str, ...]) -> np.ndarray:
        """Several properties as an (N, len(names)) array; a view when the layout allows."""
        self._require(names)
        if not names:
            return np.zeros((self.count, 0), np.float32)
        view = self.columns_view(names)
        return view if view is not None else np.stack([self.column(n) for n in names], axis=1)

    def columns_view(self, names: tuple[str, ...]) -> np.ndarray | None:
        """(N, len(names)) read-only view of stored properties of one type, evenly spaced in
        each row and not replaced; None when the layout does not allow a view.

        Example:
            >>> s = Splat.from_arrays({"a": np.ones(2, np.float32), "b": np.zeros(2, np.float32)})
            >>> s.columns_view(("a", "b")).tolist(), s.columns_view(("b", "a"))
            ([[1.0, 0.0], [1.0, 0.0]], None)
        """
        self._require(names)
        dtypes = [self._table.dtype.fields[n] for n in names]
        offsets = [offset for _, offset in dtypes]
        steps = {b - a for a, b in zip(offsets, offsets[1:])}
        if (not names or any(n in self._overrides for n in names)
                or len({dt for dt, _ in dtypes}) != 1 or len(steps) > 1
                or min(steps, default=1) <= 0):
            return None
        first = self._table[names[0]]
        step = steps.pop() if steps else first.itemsize
        return as_strided(first, shape=(self.count, len(names)),
                          strides=(self._table.strides[0], step), writeable=False)

    def _require(self, names: tuple[str, ...]) -> tuple[str, ...]:
        missing = [n for n in names if n not in self._table.dtype.fields]
        if missing:
            raise SplatFieldError(
                f"{self._label()}: not a 3DGS file, missing properties {', '.join(missing)}"
            )
        return names

    def _label(self) -> str:
        return str(self._source) if self._source else "<splat>"

    def _rest_names(self) -> tuple[str, ...]:
        return tuple(n for n in self.properties if n.startswith("f_rest_"))

    # ------------------------------------------------------------------ 3DGS views
    @property
    def positions(self) -> np.ndarray:
        """(N, 3) x, y, z."""
        return self.columns(GROUPS["positions"])

    @property
    def normals(self) -> np.ndarray:
        """(N, 3) nx, ny, nz (TRELLIS writes zeros)."""
        return self.columns(GROUPS["normals"])

    @property
    def opacity(self) -> np.ndarray:
        """(N,) opacity as stored (a logit in standard files)."""
        return self.column(self._require(("opacity",))[0])

    @property
    def alpha(self) -> np.ndarray:
        """(N,) activated opacity: sigmoid(opacity); the stored value if declared a probability."""
        stored = self.opacity
        if self._opacity_encoding == "probability":
            return stored
        return sigmoid(stored)

    @property
    def log_scales(self) -> np.ndarray:
        """(N, 3) natural-log scales (computed when the file is declared linear)."""
        stored = self.columns(GROUPS["log_scales"])
        if self._scale_encoding == "linear":
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.log(stored)
        return stored

    @property
    def scales(self) -> np.ndarray:
        """(N, 3) activated (linear) scales: exp(log_scales)."""
        stored = self.columns(GROUPS["log_scales"])
        if self._scale_encoding == "linear":
            return stored
        with np.errstate(over="ignore"):
            return np.exp(stored)

    @property
    def quats(self) -> np.ndarray:
        """(N, 4) rotations as stored, w first."""
        return self.columns(GROUPS["quats"])

    @property
    def quats_normalized(self) -> np.ndarray:
        """(N, 4) unit quaternions; rows of zero norm stay zero."""
        q = self.quats.astype(np.float64)
        norm = np.linalg.norm(q, axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            unit = np.where(norm > 0, q / norm, 0.0)
        return unit.astype(self.quats.dtype.newbyteorder("="))

    @property
    def sh_dc(self) -> np.ndarray:
        """(N, 3) degree-0 SH coefficients f_dc_0..2."""
        return self.columns(GROUPS["sh_dc"])

    @property
    def sh_degree(self) -> int:
        """SH degree 0-3 from the number of ``f_rest_*`` properties (checked)."""
        count = len(self._rest_names())
        for degree, expected in SH_REST_COUNTS.items():
            if count == expected:
                return degree
        raise SplatFieldError(
            f"{self._label()}: {count} f_rest properties fit no SH degree (0, 9, 24 or 45)"
        )

    @property
    def sh_rest(self) -> np.ndarray:
        """(N, K, 3) higher-degree SH coefficients, INRIA channel-major ``f_rest`` order."""
        k = SH_REST_COUNTS[self.sh_degree]
        flat = self.columns(f_rest_names(k))
        return flat.reshape(self.count, 3, k // 3).transpose(0, 2, 1)

    @property
    def rgb(self) -> np.ndarray:
        """(N, 3) base colour 0.5 + 0.28209479 * f_dc (as the validator computes it)."""
        return 0.5 + SH_C0 * self.sh_dc

    # ------------------------------------------------------------------ encoding
    @property
    def encoding(self) -> Encoding:
        """Declared encoding and what the stored values look like, with the evidence."""
        if self._encoding is None:
            self._encoding = _detect_encoding(self)
        return self._encoding

    # ------------------------------------------------------------------ torch
    def as_matrix(self, names: tuple[str, ...] | None = None,
                  dtype: np.dtype = np.float32) -> np.ndarray:
        """(N, F) array of the given properties (default: all), one column each.

        A zero-copy view when the stored table already is that matrix (for example
        a little-endian all-float32 file with nothing replaced).
        """
        names = tuple(self.properties) if names is None else names
        target = np.dtype(dtype)
        if (names == tuple(self.properties) and not self._overrides
                and all(self._table.dtype[n] == target for n in names)):
            return self._table.view(target).reshape(self.count, len(names))
        out = np.empty((self.count, len(names)), target)
        for j, name in enumerate(names):
            out[:, j] = self.column(name)
        return out

    def to_torch(self, device: str | None = None) -> dict:
        """The 3DGS fields as float32 torch tensors on ``device``, after one host-to-device copy.

        Keys: ``positions`` (N,3), ``opacity`` (N,), ``log_scales`` (N,3), ``quats`` (N,4),
        ``sh_dc`` (N,3), ``normals`` (N,3) when stored, ``sh_rest`` (N,K,3) when K > 0.

        Example:
            >>> from splatlab import data
            >>> data.trellis_like().to_torch("cpu")["positions"].shape
            torch.Size([7040, 3])
        """
        import torch

        self._require(GAUSSIAN_PROPERTIES)
        groups = {key: names for key, names in GROUPS.items()
                  if all(n in self._table.dtype.fields for n in names)}
        rest = f_rest_names(SH_REST_COUNTS[self.sh_degree])
        if rest:
            groups["sh_rest"] = rest
        to_cuda = device is not None and str(device).startswith("cuda")
        columns, matrix = self._device_matrix(groups, to_cuda, torch)
        matrix = matrix.to(device or "cpu", non_blocking=True)
        out = {}
        for key, group in groups.items():
            start = columns[group[0]]
            block = matrix[:, start:start + len(group)]
            if key == "opacity":
                block = block[:, 0]
            elif key == "sh_rest":
                block = block.reshape(self.count, 3, len(group) // 3).transpose(1, 2)
            out[key] = block
        return out

    def _device_matrix(self, groups: dict[str, tuple[str, ...]], to_cuda: bool, torch):
        """The host tensor ``to_torch`` copies, and the column where each property sits.

        When every group lies in consecutive columns, that is the whole table as float32:
        for an all-float32 file the memory-mapped table itself, with no host copy (CUDA
        copies it across; the CPU gets its own copy). Otherwise the groups are gathered
        into one host buffer, pinned for CUDA.
        """
        position = {name: j for j, name in enumerate(self.properties)}
        if all([position[n] for n in g] == list(range(position[g[0]], position[g[0]] + len(g)))
               for g in groups.values()):
            table = self.as_matrix()
            if table.flags.writeable:  # already a copy of our own
                return position, torch.from_numpy(table)
            if not to_cuda:
                return position, torch.from_numpy(np.array(table))
            with warnings.catch_warnings():  # read-only memory, only ever read by the copy
                warnings.simplefilter("ignore", UserWarning)
                return position, torch.from_numpy(table)
        names = tuple(n for group in groups.values() for n in group)
        host = torch.empty((self.count, len(names)), dtype=torch.float32, pin_memory=to_cuda)
        host.numpy()[:] = self.as_matrix(names)
        return {name: j for j, name in enumerate(names)}, host

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        state = " modified" if self.modified else ""
        return (f"<Splat{state} {self.count:,} gaussians, {len(self.properties)} properties,"
                f" {self._format_label()}, from {self._label()}>")

    def _format_label(self) -> str:
        if self._source_format.name == "ply":
            return self._header.format
        return self._source_format.label

    def facts(self) -> list[dict[str, str]]:
        """What the Splat is, one row a fact (``fact``, ``value``): source, count, format,
        whether it holds the 3DGS fields, what changed, the declared and apparent encodings,
        other elements, properties. Its HTML view in a notebook is these rows.

        Example:
            >>> from splatlab import data
            >>> [row["value"] for row in data.trellis_like().facts()][1:3]
            ['7,040', 'in-memory arrays']
        """
        enc = self.encoding if self.is_gaussian else None
        rows = [("source", self._label()), ("gaussians", f"{self.count:,}"),
                ("format", self._format_label()),
                ("3DGS fields", "yes" if self.is_gaussian else "no"),
                ("modified", ", ".join(self.changed_properties) or "no")]
        if enc is not None:
            rows.append(("opacity", f"declared {enc.opacity}, looks {enc.opacity_looks}"))
            rows.append(("scales", f"declared {enc.scales}, look {enc.scales_look}"))
        extra = [e.name for e in self._header.elements if e.name != "vertex"]
        if extra:
            rows.append(("other elements", ", ".join(extra)))
        rows.append(("properties", " ".join(f"{n}:{self._table.dtype[n].name}"
                                            for n in self.properties)))
        return [{"fact": fact, "value": value} for fact, value in rows]

    def _repr_html_(self) -> str:
        return html_table(self.facts(), "Splat")


@values_as_data
def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function in the input's float precision (float32 stays float32).

    Example:
        >>> float(sigmoid(np.float32(0.0)))
        0.5
    """
    x = np.asarray(x)
    dtype = x.dtype.newbyteorder("=") if x.dtype.kind == "f" else np.dtype(np.float64)
    with np.errstate(over="ignore"):
        return (1.0 / (1.0 + np.exp(-x.astype(dtype, copy=False)))).astype(dtype, copy=False)


def logit(p: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`sigmoid`: log(p / (1 - p)).

    Example:
        >>> round(float(logit(1e-4)), 4)
        -9.2102
    """
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-p)


def _detect_encoding(splat: Splat) -> Encoding:
    evidence: dict[str, float] = {}
    opacity_looks = scales_look = "unknown"
    if "opacity" in splat.properties:
        o = splat.column("opacity")
        finite = o[np.isfinite(o)]
        if finite.size:
            inside = float(np.mean((finite >= 0) & (finite <= 1)))
            evidence.update(opacity_min=float(finite.min()), opacity_max=float(finite.max()),
                            opacity_share_in_0_1=inside)
            opacity_looks = "probability" if inside == 1.0 else "logit"
    scale_names = [n for n in GROUPS["log_scales"] if n in splat.properties]
    if scale_names:
        s = np.concatenate([splat.column(n) for n in scale_names])
        finite = s[np.isfinite(s)]
        if finite.size:
            positive = float(np.mean(finite > 0))
            evidence.update(scale_min=float(finite.min()), scale_max=float(finite.max()),
                            scale_share_positive=positive)
            scales_look = "linear" if positive == 1.0 else "log"
    return Encoding(splat.opacity_encoding, splat.scale_encoding, opacity_looks, scales_look,
                    evidence)
