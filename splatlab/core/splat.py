"""The Splat type: a 3DGS vertex table exactly as stored, with named views.

Example:
    >>> import numpy as np, splatlab
    >>> s = splatlab.Splat.from_arrays({"x": np.zeros(2, np.float32), "opacity": np.ones(2)})
    >>> s.count, s.properties
    (2, ['x', 'opacity'])
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from dataclasses import replace as replaced
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .display import html_table
from .fields import (
    GROUPS,
    SH_C0,
    SH_REST_COUNTS,
    f_rest_names,
    missing_properties,
    sigmoid,
)
from .ply import PlyHeader, build_header, ply_type_of
from .provenance import Provenance, SourceFormat

OpacityEncoding = Literal["logit", "probability"]
ScaleEncoding = Literal["log", "linear"]
Derived = TypeVar("Derived")


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


class Splat:
    """A 3DGS vertex table as stored, plus its header, declared encoding and provenance.

    Build one with :func:`splatlab.load` or :meth:`Splat.from_arrays`. Accessors
    return read-only views where the layout allows (``positions``, ``quats``...)
    and computed arrays for activations (``alpha``, ``scales``). Nothing mutates a
    Splat; :meth:`replace`, :meth:`take` and :meth:`with_encoding` return new ones. Since
    it never changes, what is derived from it is kept with it (:meth:`remember`).
    Where the values came from is its :attr:`provenance`; moving them to torch is the
    rendering floor's work (:func:`splatlab.rendering.transfer.to_torch`).

    Example:
        >>> s = Splat.from_arrays({"opacity": np.array([0.0, 2.0], np.float32)})
        >>> s.alpha.astype(float).round(3).tolist()
        [0.5, 0.881]
    """

    def __init__(self, table: np.ndarray, header: PlyHeader, *,
                 provenance: Provenance | None = None,
                 overrides: Mapping[str, np.ndarray] | None = None,
                 opacity_encoding: OpacityEncoding = "logit",
                 scale_encoding: ScaleEncoding = "log"):
        if opacity_encoding not in ("logit", "probability"):
            raise ValueError("opacity encoding must be 'logit' or 'probability', not"
                             f" {opacity_encoding!r}")
        if scale_encoding not in ("log", "linear"):
            raise ValueError(f"scale encoding must be 'log' or 'linear', not {scale_encoding!r}")
        self._table = table
        self._header = header
        self._provenance = provenance or Provenance()
        self._overrides = dict(overrides or {})
        self._opacity_encoding = opacity_encoding
        self._scale_encoding = scale_encoding
        self._remembered: dict[Hashable, object] = {}

    # ------------------------------------------------------------------ building
    @classmethod
    def from_arrays(cls, columns: Mapping[str, np.ndarray], *, comments: tuple[str, ...] = (),
                    byte_order: str = "<", opacity_encoding: OpacityEncoding = "logit",
                    scale_encoding: ScaleEncoding = "log") -> Splat:
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
        return cls(table, header, opacity_encoding=opacity_encoding,
                   scale_encoding=scale_encoding,
                   provenance=Provenance(format=SourceFormat("arrays")))

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
        return Splat(self._table, self._header, provenance=self._provenance,
                     overrides={**self._overrides, **updates},
                     opacity_encoding=self._opacity_encoding, scale_encoding=self._scale_encoding)

    def with_encoding(self, *, opacity_encoding: OpacityEncoding | None = None,
                      scale_encoding: ScaleEncoding | None = None) -> Splat:
        """The same stored values, declared in another encoding (None keeps the current one).

        What the accessors compute changes (``alpha`` is the stored opacity itself when it is
        declared a probability); the bytes, provenance and replaced fields do not.

        Example:
            >>> s = Splat.from_arrays({"opacity": np.array([0.25], np.float32)})
            >>> p = s.with_encoding(opacity_encoding="probability")
            >>> round(float(s.alpha[0]), 4), float(p.alpha[0])
            (0.5622, 0.25)
        """
        return Splat(self._table, self._header, provenance=self._provenance,
                     overrides=self._overrides,
                     opacity_encoding=opacity_encoding or self._opacity_encoding,
                     scale_encoding=scale_encoding or self._scale_encoding)

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
        return Splat(table, header, opacity_encoding=self._opacity_encoding,
                     scale_encoding=self._scale_encoding,
                     provenance=Provenance(format=self._provenance.format))

    def detached(self) -> Splat:
        """A copy that holds every byte in memory, free of the file it was mapped from."""
        table = np.array(self._table)
        table.flags.writeable = False
        raw = self._provenance.raw
        kept = replaced(raw, pre=bytes(raw.pre), tail=bytes(raw.tail),
                        encoded=None if raw.encoded is None else bytes(raw.encoded))
        return Splat(table, self._header, overrides=self._overrides,
                     opacity_encoding=self._opacity_encoding,
                     scale_encoding=self._scale_encoding,
                     provenance=Provenance(format=self._provenance.format, raw=kept))

    def remember(self, key: Hashable, compute: Callable[[], Derived]) -> Derived:
        """``compute()``, run once per ``key`` for this Splat and kept with it.

        A Splat never changes, so what is derived from it (its merged table, a histogram,
        a gate verdict, device tensors) stays right while it lives and goes with it. Keys
        start with the caller's name (``("plots.binned", field, raw, bins)``).

        Example:
            >>> s = Splat.from_arrays({"x": np.ones(3, np.float32)})
            >>> s.remember(("doc", "sum"), lambda: float(s.column("x").sum()))
            3.0
        """
        if key not in self._remembered:
            self._remembered[key] = compute()
        return self._remembered[key]

    def remembers(self, key: Hashable) -> bool:
        """Whether :meth:`remember` holds a value under ``key``."""
        return key in self._remembered

    def forget(self, key: Hashable) -> None:
        """Drop what :meth:`remember` kept under ``key`` (to free device memory, say)."""
        self._remembered.pop(key, None)

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
    def provenance(self) -> Provenance:
        """Where the values came from: the file, its format (quantised?), the bytes kept."""
        return self._provenance

    @property
    def source(self) -> Path | None:
        """The file this Splat was loaded from (None when built in memory)."""
        return self._provenance.source

    @property
    def modified(self) -> bool:
        """True when any field differs from what was loaded or built."""
        return bool(self._overrides)

    @property
    def changed_properties(self) -> list[str]:
        """Properties replaced since loading, in file order."""
        return [name for name in self.properties if name in self._overrides]

    @property
    def table(self) -> np.ndarray:
        """The vertex table with its current values (a read-only structured array).

        The stored table itself (maybe memory-mapped) when nothing was replaced; otherwise a
        copy with the replaced fields written in, made once.

        Example:
            >>> s = Splat.from_arrays({"x": np.zeros(2, np.float32)})
            >>> s.replace(x=[1, 2]).table["x"].tolist(), s.table["x"].tolist()
            ([1.0, 2.0], [0.0, 0.0])
        """
        if not self._overrides:
            return self._table
        return self.remember(("splat.table",), self._merged_table)

    def _merged_table(self) -> np.ndarray:
        table = np.array(self._table)
        for name, values in self._overrides.items():
            table[name] = values
        table.flags.writeable = False
        return table

    @property
    def stored_table(self) -> np.ndarray:
        """The vertex table as loaded or built, before any :meth:`replace` (:attr:`overrides`
        holds those): what a writer streams to disk without copying the whole table."""
        return self._table

    @property
    def overrides(self) -> dict[str, np.ndarray]:
        """Replaced columns by property name (stored dtype, native byte order)."""
        return dict(self._overrides)

    @property
    def is_gaussian(self) -> bool:
        """True when every 3DGS property (positions, colour, opacity, scales, rotation) exists."""
        return not missing_properties(self._table.dtype.fields)

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
        missing = missing_properties(self._table.dtype.fields, names)
        if missing:
            raise SplatFieldError(
                f"{self._label()}: not a 3DGS file, missing properties {', '.join(missing)}"
            )
        return names

    def _label(self) -> str:
        return self._provenance.label

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
        return self.remember(("splat.encoding",), lambda: _detect_encoding(self))

    # ------------------------------------------------------------------ matrices
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

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        state = " modified" if self.modified else ""
        return (f"<Splat{state} {self.count:,} gaussians, {len(self.properties)} properties,"
                f" {self._format_label()}, from {self._label()}>")

    def _format_label(self) -> str:
        if self._provenance.format.name == "ply":
            return self._header.format
        return self._provenance.format.label

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


class BlockMemo:
    """Values derived from Splats, kept with each Splat only inside a block, then forgotten.

    For what is too big to keep for a Splat's whole life (an SPZ round trip is a second
    copy of the file) but asked for several times by one piece of work (a scan's row, its
    findings and its gate). Outside a block, calling it just computes.

    Example:
        >>> memo = BlockMemo("doc")
        >>> s = Splat.from_arrays({"x": np.ones(2, np.float32)})
        >>> with memo.block():
        ...     memo(s, "copy", lambda: s.column("x").copy()) is memo(s, "copy", None)
        True
        >>> memo(s, "copy", lambda: "computed again")
        'computed again'
    """

    def __init__(self, name: str):
        self._held: ContextVar[list[tuple[weakref.ref, Hashable]] | None] = ContextVar(
            f"splatlab_{name}", default=None)

    @contextmanager
    def block(self) -> Iterator[None]:
        """The block inside which values are kept (see the class)."""
        token = self._held.set([])
        try:
            yield
        finally:
            for holder, key in self._held.get():
                if (splat := holder()) is not None:
                    splat.forget(key)
            self._held.reset(token)

    def __call__(self, splat: Splat, key: Hashable, compute: Callable[[], Derived]) -> Derived:
        held = self._held.get()
        if held is None:
            return compute()
        if not splat.remembers(key):
            held.append((weakref.ref(splat), key))
        return splat.remember(key, compute)


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
