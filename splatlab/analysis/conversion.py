"""What a conversion loses: the same numbers a user would otherwise measure by hand.

:func:`conversion_loss` pairs the rows of a source and of what a reader of the converted
file gets (:mod:`~splatlab.analysis.matching`: by order, or by nearest position where the
format reorders rows), then reports per field the max and mean absolute error and the
share changed, and the gaussians whose values changed in meaning: opacities pinned at a
bound (alpha bytes 0/255 decoded as -+inf, or -+13.8155 as splat-transform decodes them),
log scales, colours and SH at a format's clamp (:mod:`splatlab.world.clamps`), positions
that wrapped around (SPZ's 24-bit fixed point), SH bands and properties dropped or added.

Rotations are compared as unit quaternions with q and -q the same rotation (formats store
them normalised, with a sign of their choice), beside a derived ``rotation_deg`` row (the
angle between the two); ``alpha`` is the activated opacity, finite where a logit is not.

Example:
    >>> from splatlab import data
    >>> from splatlab.world.submission import spz_roundtrip
    >>> source = data.trellis_like(count=640)
    >>> loss = conversion_loss(source, spz_roundtrip(source))
    >>> loss.match.method, loss.dropped
    ('order', ('nx', 'ny', 'nz'))
    >>> bool(loss.to_frame().loc["x", "max_abs_error"] <= 2 ** -13)
    True
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..core import spz
from ..core.fields import GROUPS, SH_REST_COUNTS
from ..core.floats import values_as_data
from ..core.jsonsafe import json_safe
from ..core.splat import Splat
from ..world.clamps import at_bound, clamps_for
from .differences import field_changes
from .matching import MatchMethod, RowMatch, match_rows

COLUMNS = ("kind", "status", "compared", "changed", "changed_share", "nonfinite_changed",
           "max_abs_error", "mean_abs_error")
CLAMP_GROUPS: dict[str, str] = {"opacity": "opacities", "scale": "log scales",
                                "f_dc": "colours (f_dc)", "f_rest": "SH coefficients (f_rest)"}
"""Field groups whose bounds are counted, and their names in words."""


@dataclass(frozen=True)
class Clamped:
    """Gaussians of one field group pinned at a format's bounds by the conversion.

    ``count`` gaussians (any of the group's fields at a bound), ``share`` of the paired
    rows; ``bounds`` maps each bound's value to its count, ``formats`` to who clamps there.

    Example:
        >>> Clamped("scale", 2, 0.5, {-10.0: 2}, {-10.0: "SPZ"}).words()
        '2 gaussians (50.000%) have log scales pinned: 2 at -10 (SPZ)'
    """

    group: str
    count: int
    share: float
    bounds: dict[float, int]
    formats: dict[float, str]

    def words(self) -> str:
        at = "; ".join(f"{k:,} at {v:.6g} ({self.formats[v]})" for v, k in self.bounds.items())
        return (f"{self.count:,} gaussians ({self.share:.3%}) have {CLAMP_GROUPS[self.group]}"
                f" pinned: {at}")


@dataclass(frozen=True, eq=False)
class LossReport:
    """What converting ``source`` into ``converted`` lost; see :func:`conversion_loss`.

    ``fields``: one row a field (see :meth:`to_frame`); ``clamped``: field groups pinned at
    a bound; ``wrapped``: gaussians whose position moved by more than half SPZ's wrap period
    (``wrap_period``); ``sh_degrees``: (source, converted) SH degree (None when the
    ``f_rest`` count fits none); ``dropped``/``added``: properties on one side only.

    Example:
        >>> import numpy as np
        >>> a = Splat.from_arrays({k: np.float32([0, 1]) for k in ("x", "scale_0", "nx")})
        >>> b = Splat.from_arrays({"x": np.float32([0, 1]), "scale_0": np.float32([-10, 1])})
        >>> report = conversion_loss(a.replace(scale_0=[-12, 1]), b)
        >>> report.clamped[0].bounds, report.dropped, json.loads(report.to_json())["added"]
        ({-10.0: 1}, ('nx',), [])
    """

    source: str
    converted: str
    source_format: str
    converted_format: str
    source_count: int
    converted_count: int
    match: RowMatch
    fields: pd.DataFrame = field(repr=False)
    clamped: tuple[Clamped, ...]
    wrapped: int
    wrap_period: float
    sh_degrees: tuple[int | None, int | None]
    dropped: tuple[str, ...]
    added: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row a field (index ``field``): ``kind`` (``stored`` or ``derived``),
        ``status`` (``same``, ``changed``, ``dropped``, ``added``), ``compared`` (paired
        rows), ``changed``, ``changed_share``, ``nonfinite_changed``, ``max_abs_error`` and
        ``mean_abs_error`` (over pairs finite on both sides)."""
        return self.fields.copy()

    @property
    def sh_bands_dropped(self) -> int:
        """SH degrees lost (0 when none, or when a degree is unknown)."""
        src, out = self.sh_degrees
        return max(src - out, 0) if src is not None and out is not None else 0

    def to_dict(self) -> dict:
        frame = self.fields.reset_index()
        return {"source": self.source, "converted": self.converted,
                "source_format": self.source_format, "converted_format": self.converted_format,
                "source_gaussians": self.source_count,
                "converted_gaussians": self.converted_count, "match": self.match.to_dict(),
                "fields": frame.astype(object).where(frame.notna(), None).to_dict("records"),
                "clamped": [{"group": c.group, "gaussians": c.count, "share": c.share,
                             "bounds": [{"value": v, "gaussians": k, "formats": c.formats[v]}
                                        for v, k in c.bounds.items()]} for c in self.clamped],
                "wrapped": {"gaussians": self.wrapped, "share": self._share(self.wrapped),
                            "period": self.wrap_period},
                "sh_degree": {"source": self.sh_degrees[0], "converted": self.sh_degrees[1],
                              "bands_dropped": self.sh_bands_dropped},
                "dropped": list(self.dropped), "added": list(self.added),
                "summary": self.summary()}

    def to_json(self, **kwargs) -> str:
        """JSON text of :meth:`to_dict`; non-finite numbers become null."""
        return json.dumps(json_safe(self.to_dict()), allow_nan=False, **kwargs)

    def _share(self, count: int) -> float:
        return count / self.match.matched if self.match.matched else 0.0

    def summary(self) -> str:
        """One paragraph in words: pairing, largest errors, changes in meaning, drops."""
        m = self.match
        parts = [f"{self.source} ({self.source_format}, {self.source_count:,} gaussians) ->"
                 f" {self.converted} ({self.converted_format}, {self.converted_count:,})."]
        parts.append(self._pairing())
        errors = self._largest_errors()
        if errors:
            parts.append(f"Largest errors: {errors}.")
        elif m.matched:
            parts.append("Every common field is unchanged.")
        meaning = [c.words() for c in self.clamped]
        if self.wrapped:
            meaning.append(f"{self.wrapped:,} gaussians ({self._share(self.wrapped):.3%}) had"
                           f" positions wrap around (beyond -+{self.wrap_period / 2:g})")
        if meaning:
            parts.append("Changed in meaning: " + "; ".join(meaning) + ".")
        if self.sh_bands_dropped:
            parts.append(f"SH degree {self.sh_degrees[0]} -> {self.sh_degrees[1]}"
                         f" ({self.sh_bands_dropped} band(s) dropped).")
        dropped = [n for n in self.dropped if not n.startswith("f_rest_")]
        rest = len(self.dropped) - len(dropped)
        if rest:
            dropped.append(f"{rest} f_rest_*")
        if dropped:
            parts.append(f"Properties dropped: {', '.join(dropped)}.")
        if self.added:
            parts.append(f"Properties added: {', '.join(self.added)}.")
        return " ".join(parts)

    def _pairing(self) -> str:
        m = self.match
        n = max(m.a_count, m.b_count, 1)
        how = ("rows paired by order" if m.method == "order"
               else "rows paired by nearest position (the format reorders them)")
        text = (f"{how}: {m.matched:,} pairs, {m.unambiguous / n:.2%} unambiguous"
                f" (nearer than half the gap to any other row)")
        if m.coincident:
            text += f", {m.coincident:,} among coincident rows told apart by other fields"
        if m.within_step is not None:
            text += f", {m.within_step / n:.2%} within half the position step {m.step:g}"
        finite = m.distance[np.isfinite(m.distance)]
        if len(finite):
            text += f"; position moved at most {finite.max():.3g}"
        if m.unmatched_a or m.unmatched_b:
            text += (f"; {m.unmatched_a:,} source and {m.unmatched_b:,} converted rows left"
                     " unpaired")
        return text[0].upper() + text[1:] + "."

    def _largest_errors(self) -> str:
        f = self.fields[(self.fields["status"] == "changed")]
        if not len(f):
            return ""
        groups = {"positions": list(GROUPS["positions"]), "f_dc": list(GROUPS["sh_dc"]),
                  "opacity": ["opacity"], "alpha": ["alpha"],
                  "log scales": list(GROUPS["log_scales"]), "rotation (deg)": ["rotation_deg"],
                  "f_rest": [n for n in f.index if n.startswith("f_rest_")]}
        shown, seen = [], set()
        for label, names in groups.items():
            rows = f.loc[f.index.intersection(names)]
            seen.update(names)
            if len(rows):
                shown.append(f"{label} {rows['max_abs_error'].max():.3g}"
                             f" (mean {rows['mean_abs_error'].mean():.3g})")
        others = f.loc[[n for n in f.index if n not in seen and n not in GROUPS["quats"]]]
        shown.extend(f"{name} {row['max_abs_error']:.3g}" for name, row in others.iterrows())
        return ", ".join(shown)

    def __repr__(self) -> str:
        return f"<LossReport {self.summary()}>"

    def _repr_html_(self) -> str:
        frame = self.fields[self.fields["status"] != "same"]
        table = frame.to_html(float_format=lambda v: f"{v:.4g}", na_rep="")
        return (f"<div><p style='max-width:60em'>{html.escape(self.summary())}</p>"
                f"{table}</div>")


def _label(splat: Splat) -> str:
    return str(splat.source) if splat.source is not None else "<splat>"


def _sh_degree(splat: Splat) -> int | None:
    count = sum(n.startswith("f_rest_") for n in splat.properties)
    return next((d for d, k in SH_REST_COUNTS.items() if k == count), None)


@values_as_data
def conversion_loss(source: Splat, converted: Splat, *, match: MatchMethod = "auto",
                    position_step: float | None = None) -> LossReport:
    """What ``converted`` (the decode of a conversion of ``source``) lost, per field.

    ``match``: how rows pair (``"auto"``, ``"order"``, ``"position"``; see
    :func:`~splatlab.analysis.matching.match_rows`); ``position_step``: the converted
    positions' quantisation step per axis (default: what its format says; SPZ: 2^-12),
    used to report the share of pairs within half a step. Raises
    :class:`~splatlab.analysis.matching.MatchError` when rows cannot be paired.

    Example:
        >>> import numpy as np
        >>> a = Splat.from_arrays({"x": np.float32([0, 1]), "opacity": np.float32([0, 30])})
        >>> loss = conversion_loss(a, a.replace(opacity=[0, np.inf]))
        >>> loss.clamped[0].bounds, float(loss.to_frame().loc["alpha", "max_abs_error"])
        ({inf: 1}, 0.0)
    """
    m = match_rows(source, converted, method=match, step=position_step)
    a_rows, b_rows = m.a_rows, m.b_rows
    in_source, in_converted = set(source.properties), set(converted.properties)
    common = [n for n in source.properties if n in in_converted]
    rows: dict[str, dict] = {}
    quats = _unit_pairs(source, converted, a_rows, b_rows) if all(
        n in common for n in GROUPS["quats"]) else None
    for name in common:
        if quats is not None and name in GROUPS["quats"]:
            j = GROUPS["quats"].index(name)
            va, vb = quats[0][:, j], quats[1][:, j]
        else:
            va = source.column(name)[a_rows].astype(np.float64)
            vb = converted.column(name)[b_rows].astype(np.float64)
        rows[name] = {"kind": "stored", "compared": len(a_rows), **field_changes(va, vb)}
    if "opacity" in common:
        va = source.alpha[a_rows].astype(np.float64)
        vb = converted.alpha[b_rows].astype(np.float64)
        rows["alpha"] = {"kind": "derived", "compared": len(a_rows), **field_changes(va, vb)}
    if quats is not None:
        # the rotation between them, 2 arccos(a.b) = 4 atan2(|a - b|, |a + b|): exactly 0
        # for equal rows, where arccos near 1 would give a few 1e-6 degrees
        qa, qb = quats
        angle = np.degrees(4 * np.arctan2(np.linalg.norm(qa - qb, axis=1),
                                          np.linalg.norm(qa + qb, axis=1)))
        rows["rotation_deg"] = {"kind": "derived", "compared": len(a_rows),
                                **field_changes(np.zeros_like(angle), angle)}
    only_source = tuple(n for n in source.properties if n not in in_converted)
    only_converted = tuple(n for n in converted.properties if n not in in_source)
    for name in only_source:
        rows[name] = {"kind": "stored", "status": "dropped", "compared": 0}
    for name in only_converted:
        rows[name] = {"kind": "stored", "status": "added", "compared": 0}
    renamed = {"max_abs_change": "max_abs_error", "mean_abs_change": "mean_abs_error"}
    rows = {name: {renamed.get(k, k): v for k, v in row.items()} for name, row in rows.items()}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(COLUMNS))
    frame.index.name = "field"
    period = 2.0 ** (24 - (converted.provenance.format.fractional_bits or spz.FRACTIONAL_BITS))
    return LossReport(
        _label(source), _label(converted), _format(source), _format(converted), source.count,
        converted.count, m, frame, tuple(_clamped(source, converted, common, m)),
        _wrapped(source, converted, m, period), period,
        (_sh_degree(source), _sh_degree(converted)), only_source, only_converted)


def _format(splat: Splat) -> str:
    fmt = splat.provenance.format
    return fmt.label if fmt.name != "ply" else f"PLY {splat.header.format}"


def _unit_pairs(a: Splat, b: Splat, a_rows: np.ndarray, b_rows: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Paired quaternions as unit vectors, ``b``'s sign flipped where that brings it nearer
    (q and -q are one rotation); zero-norm rows stay zero."""
    def unit(q: np.ndarray) -> np.ndarray:
        norm = np.linalg.norm(q, axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(norm > 0, q / norm, 0.0)

    qa = unit(a.quats[a_rows].astype(np.float64))
    qb = unit(b.quats[b_rows].astype(np.float64))
    sign = np.where(np.einsum("ij,ij->i", qa, qb) < 0, -1.0, 1.0)
    return qa, qb * sign[:, None]


def _group_of(name: str) -> str | None:
    if name == "opacity":
        return "opacity"
    if name in GROUPS["log_scales"]:
        return "scale"
    if name in GROUPS["sh_dc"]:
        return "f_dc"
    return "f_rest" if name.startswith("f_rest_") else None


def _clamped(source: Splat, converted: Splat, common: list[str], m: RowMatch
             ) -> list[Clamped]:
    """Per field group: paired gaussians whose converted value sits at a bound their source
    lay more than the bound's ``moved`` away from."""
    n = m.matched
    found: dict[str, tuple[np.ndarray, dict[float, np.ndarray], dict[float, str]]] = {}
    for name in common:
        group = _group_of(name)
        bounds = clamps_for(name)
        if group is None or not bounds or not n:
            continue
        va = source.column(name)[m.a_rows].astype(np.float64)
        vb = converted.column(name)[m.b_rows].astype(np.float64)
        any_row, per_bound, formats = found.setdefault(group, (np.zeros(n, bool), {}, {}))
        for clamp in bounds:
            with np.errstate(invalid="ignore"):
                pinned = at_bound(vb, clamp) & np.isfinite(va) & (
                    np.abs(va - clamp.value) > clamp.moved)
            if pinned.any():
                any_row |= pinned
                per_bound[clamp.value] = per_bound.get(clamp.value, np.zeros(n, bool)) | pinned
                formats[clamp.value] = clamp.formats
    return [Clamped(group, int(any_row.sum()), float(any_row.mean()),
                    {v: int(mask.sum()) for v, mask in per_bound.items()}, formats)
            for group, (any_row, per_bound, formats) in found.items() if any_row.any()]


def _wrapped(source: Splat, converted: Splat, m: RowMatch, period: float) -> int:
    """Paired gaussians whose position moved by more than half the wrap period on an axis."""
    names = GROUPS["positions"]
    if not m.matched or not all(n in source.properties and n in converted.properties
                                for n in names):
        return 0
    pa = source.columns(names)[m.a_rows].astype(np.float64)
    pb = converted.columns(names)[m.b_rows].astype(np.float64)
    with np.errstate(invalid="ignore"):
        return int((np.abs(pa - pb) > period / 2).any(axis=1).sum())


__all__ = ["Clamped", "LossReport", "conversion_loss"]
