"""Findings about a 3DGS file: what is broken or suspicious, with the numbers that show it.

:func:`diagnose` runs every detector and returns a :class:`Report`, a list of
:class:`Finding` objects with stable codes (see :data:`CODES`). Thresholds are the
fields of :class:`Thresholds`; pass any of them as keyword arguments.

Example:
    >>> from splatlab import data
    >>> report = diagnose(data.corrupted())       # every opacity at logit(1e-4)
    >>> report.has_errors, report.codes
    (True, ['SL202', 'SL302', 'SL402', 'SL201', 'SL602'])
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from ..core.display import counted, html_table, text_table
from ..core.fields import GROUPS, missing_properties
from ..core.floats import values_as_data
from ..core.jsonsafe import json_safe
from ..core.splat import Splat, SplatFieldError
from ..world import sn17, trellis
from ..world.clamps import at_bound, clamps_for
from ..world.miner import CLAMP_1E3, CLAMP_1E4, float32_logit
from ..world.sn17 import float32_sigmoid
from ..world.submission import log_scale_clamps, position_wraps, submission_problems
from .statistics import derived_label, stats

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


CODES: dict[str, str] = {
    "SL001": "not a 3DGS file",
    "SL040": "values quantised by the file's format (they sit on its grid)",
    "SL101": "NaN values",
    "SL102": "+inf values",
    "SL103": "-inf values",
    "SL201": "uniform opacity (the write-up's rule: stored std < 1.0)",
    "SL202": "field with negligible spread",
    "SL301": "one exact value holds an outsized share of a field",
    "SL302": "double-logit signature, clamp (1e-4, 0.9999)",
    "SL303": "double-logit signature, clamp (1e-3, 0.999)",
    "SL401": "most gaussians invisible (activated opacity < 1/255)",
    "SL402": "gate-level invisibility (activated opacity < 1e-3)",
    "SL501": "collapsed scales: many gaussians at one identical scale",
    "SL502": "huge scales relative to the scene",
    "SL601": "zero-norm quaternions",
    "SL602": "quaternions far from unit length",
    "SL603": "every rotation is the identity",
    "SL701": "too few gaussians",
    "SL702": "count not a multiple of 32",
    "SL801": "exact duplicate rows",
    "SL802": "scene extent extreme",
    "SL803": "a few outlying positions set the scene extent",
    "SL901": "opacity looks like probabilities in a logit field",
    "SL902": "scales look linear in a log field",
    "SL903": "f_rest count fits no SH degree",
    "SL950": "refused by the submission path (pyspz compress/decompress)",
    "SL951": "more gaussians invisible to the gate through SPZ than as-is",
    "SL952": "positions that wrap around through SPZ (beyond +-2048)",
    "SL953": "log scales that SPZ clamps to [-10, 5.9375]",
    "SL954": "the gate's identity-rotation check cannot fire through SPZ",
    "SL955": "NaN that SPZ turns into -inf or a clamp value",
    "SL961": "zero-filled rows (every property exactly 0)",
    "SL962": "SH degree in name only (every f_rest exactly 0)",
    "SL963": "field saturated at a format's clamp",
}
"""Every finding code and its title. Codes are stable: new detectors get new codes."""


@dataclass(frozen=True)
class Thresholds:
    """Detector thresholds; the defaults and why.

    Example:
        >>> Thresholds(min_count=5000).opacity_std
        1.0
    """

    min_count: int = sn17.MIN_COUNT
    """Fewer gaussians is an error: the sn17 gate rejects the file."""
    opacity_std: float = 1.0
    """The write-up's uniform-opacity rule: stored opacity std below this (SL201)."""
    spread_rel: float = 1e-3
    """SL202: std <= spread_rel * max(|median|, 1). Catches the write-up's corrupt scale
    std 0.001-0.006 at median -7; healthy fields have std/scale ratios near 0.1-1."""
    spike_share: float = 0.05
    """SL301/SL501: one exact value in more than this share of a field."""
    signature_share: float = 1e-3
    """SL302/SL303: share of opacities at a double-logit clamp value."""
    signature_ulps: int = 4
    """Values within this many float32 steps of a clamp value count as at it
    (covers CPU/CUDA ``logf`` differences of a unit in the last place)."""
    invisible_share: float = sn17.MAX_INVISIBLE_SHARE
    """SL402 (error): share below sigmoid 1e-3; the sn17 gate rejects above 80 %."""
    invisible_warn_share: float = 0.5
    """SL401 (warning): share below 1/255, the smallest visible 8-bit alpha."""
    huge_scale_ratio: float = 1.0
    """SL502: a gaussian whose largest activated scale exceeds this times the scene extent."""
    saturation_share: float = 1e-3
    """SL963: share of a field at one format bound (with nothing beyond it) that counts as
    saturated; a warning from 1 % (values lost their meaning there), else info."""
    huge_share: float = 1e-3
    """SL502 fires when more than this share of gaussians is huge."""
    zero_norm: float = 1e-12
    """SL601: quaternion norm at or below this is zero."""
    quat_norm_tol: float = 0.5
    """SL602 (info): |norm - 1| above this. TRELLIS quaternions are not unit length."""
    max_extent: float = 1e4
    """SL802: largest bbox side above this (or zero) is extreme."""
    outlier_ratio: float = 20.0
    """SL803: full bbox side over the p1-p99 side of that axis above this."""


@dataclass(frozen=True)
class Finding:
    """One finding: stable code, severity, field, one-sentence message, evidence, count.

    Example:
        >>> Finding("SL701", "error", "vertex", "5 gaussians.", {"count": 5}, 5).code
        'SL701'
    """

    code: str
    severity: Severity
    field: str
    message: str
    evidence: dict[str, float]
    affected: int

    @property
    def title(self) -> str:
        return CODES[self.code]


class Report(Sequence[Finding]):
    """The findings of :func:`diagnose`, most severe first; a read-only list.

    Example:
        >>> from splatlab import data
        >>> r = diagnose(data.trellis_like(count=3200))
        >>> r.has_errors, r.errors[0].code
        (True, 'SL701')
    """

    def __init__(self, findings: Sequence[Finding], *, source: str | None = None,
                 count: int = 0, thresholds: Thresholds | None = None):
        order = {code: i for i, code in enumerate(CODES)}
        self._findings = tuple(sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity],
                                                               order[f.code], f.field)))
        self.source = source
        self.count = count
        self.thresholds = thresholds or Thresholds()

    def __getitem__(self, i):  # type: ignore[override]
        return self._findings[i]

    def __len__(self) -> int:
        return len(self._findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self._findings)

    @property
    def codes(self) -> list[str]:
        """The codes found, in report order, each once."""
        return list(dict.fromkeys(f.code for f in self))

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self if f.severity == "warning"]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)

    def filter(self, code: str | None = None, severity: str | None = None,
               field: str | None = None) -> Report:
        """The findings matching every given criterion (``code`` may be a prefix: ``"SL3"``).

        Example:
            >>> from splatlab import data
            >>> diagnose(data.chained()).filter(code="SL30").codes
            ['SL302']
        """
        kept = [f for f in self if (code is None or f.code.startswith(code))
                and (severity is None or f.severity == severity)
                and (field is None or f.field == field)]
        return Report(kept, source=self.source, count=self.count, thresholds=self.thresholds)

    def to_frame(self) -> pd.DataFrame:
        """One row a finding: code, severity, field, title, message, affected, evidence."""
        rows = [{"code": f.code, "severity": f.severity, "field": f.field, "title": f.title,
                 "message": f.message, "affected": f.affected, "evidence": f.evidence}
                for f in self]
        columns = ["code", "severity", "field", "title", "message", "affected", "evidence"]
        return pd.DataFrame(rows, columns=columns)

    def to_dict(self) -> dict:
        return {"source": self.source, "gaussians": self.count,
                "has_errors": self.has_errors, "thresholds": asdict(self.thresholds),
                "findings": [{**asdict(f), "title": f.title} for f in self]}

    def to_json(self, **kwargs) -> str:
        """JSON text of :meth:`to_dict` (non-finite evidence becomes null)."""
        return json.dumps(json_safe(self.to_dict()), **kwargs)

    def __repr__(self) -> str:
        head = f"<Report {self.source or '<splat>'}: {len(self)} findings"
        if not len(self):
            return head + ">"
        rows = self.to_frame()[["code", "severity", "field", "message"]].to_dict("records")
        return head + "\n" + text_table(rows, indent="  ")

    def _repr_html_(self) -> str:
        colours = {"error": "#c62828", "warning": "#ef6c00", "info": "#1565c0"}
        frame = self.to_frame()
        frame["evidence"] = [", ".join(f"{k}={_fmt(v)}" for k, v in e.items())
                             for e in frame["evidence"]]
        rows = frame[["code", "severity", "field", "message", "affected", "evidence"]]
        caption = (f"Diagnosis of {self.source or '<splat>'}: {self.count:,} gaussians,"
                   f" {counted(len(self.errors), 'error')},"
                   f" {counted(len(self.warnings), 'warning')}")
        return html_table(rows.to_dict("records"), caption,
                          styles={"severity": lambda s: f"color:{colours.get(s, 'inherit')}"})


@values_as_data
def diagnose(splat: Splat, **thresholds) -> Report:
    """Run every detector on ``splat``; keyword arguments override :class:`Thresholds`.

    A file without the 3DGS properties gives one SL001 finding (and SL950: the
    submission path refuses it). Codes SL95x are about the SPZ submission path
    (FACTS.md section 5): what the validator receives instead of the file.

    Example:
        >>> from splatlab import data
        >>> diagnose(data.trellis_like(count=3200), min_count=1000).codes
        ['SL602']
    """
    limits = replace(Thresholds(), **thresholds)
    source = str(splat.source) if splat.source else None
    if not splat.is_gaussian:
        missing = missing_properties(splat.properties)
        found = [Finding("SL001", "error", "vertex",
                         f"Not a 3DGS file: missing {', '.join(missing)}.",
                         {"missing": float(len(missing))}, splat.count)]
        found.extend(_refused(splat))
        return Report(found, source=source, count=splat.count, thresholds=limits)
    if splat.count == 0:  # nothing to measure: the count and the path say all there is
        found = [*_count(splat, limits, pd.DataFrame()), *_refused(splat)]
        return Report(found, source=source, count=0, thresholds=limits)
    table = stats(splat)
    findings: list[Finding] = []
    for detector in DETECTORS:
        findings.extend(detector(splat, limits, table))
    return Report(findings, source=source, count=splat.count, thresholds=limits)


# ----------------------------------------------------------------------------- detectors
def _float_fields(splat: Splat) -> list[str]:
    return [n for n in splat.properties if splat.column(n).dtype.kind == "f"]


def _rows(table: pd.DataFrame, names: list[str], columns: list[str]) -> pd.DataFrame:
    """The rows ``names`` of ``table``, ``columns`` only, in one lookup (detectors select
    the rows that concern them first and loop over those: a file may have 10,000s of
    properties, and a row lookup a property costs a pandas call). Built from numpy columns:
    ``table.loc[names, columns]`` costs a millisecond of pandas indexing a call, which
    is most of a small file's scan."""
    at = table.index.get_indexer(names)
    if (at < 0).any():
        raise KeyError([n for n, i in zip(names, at) if i < 0])
    return pd.DataFrame({c: table[c].to_numpy()[at] for c in columns}, index=pd.Index(names))


def _nonfinite(splat: Splat, t: Thresholds, table: pd.DataFrame) -> Iterator[Finding]:
    counts = _rows(table, _float_fields(splat), ["nan", "posinf", "neginf"])
    for name, row in counts[(counts > 0).any(axis=1)].iterrows():
        for code, label, column in (("SL101", "NaN", "nan"), ("SL102", "+inf", "posinf"),
                                    ("SL103", "-inf", "neginf")):
            k = int(row[column])
            if not k:
                continue
            # An infinite logit is a saturated opacity (TRELLIS writes +inf for sigmoid == 1).
            severity = "warning" if name == "opacity" and code != "SL101" else "error"
            yield Finding(code, severity, name, f"{k:,} {label} values in {name}.",
                          {"count": k, "share": k / splat.count}, k)


def _spread(splat: Splat, t: Thresholds, table: pd.DataFrame) -> Iterator[Finding]:
    o = table.loc["opacity"]
    if o["finite"] == o["count"] and o["std"] < t.opacity_std:
        yield Finding("SL201", "warning", "opacity",
                      f"Stored opacity std {o['std']:.3g} is below {t.opacity_std:g}"
                      " (the write-up's uniform-opacity rule).",
                      {"std": float(o["std"]), "mean": float(o["mean"])}, splat.count)
    skip = set(GROUPS["normals"]) | set(GROUPS["quats"])
    rows = _rows(table, [n for n in _float_fields(splat) if n not in skip],
                 ["finite", "std", "p50"])
    narrow = (rows["finite"] >= 2) & (rows["std"] <= t.spread_rel * np.maximum(
        rows["p50"].abs(), 1.0))
    for name, row in rows[narrow].iterrows():
        std, median = float(row["std"]), float(row["p50"])
        scale = max(abs(median), 1.0)
        if std <= t.spread_rel * scale:
            severity = "error" if name == "opacity" or name.startswith("scale_") else "warning"
            yield Finding("SL202", severity, name,
                          f"{name} barely varies: std {std:.3g} around {median:.4g}.",
                          {"std": std, "median": median, "limit": t.spread_rel * scale},
                          int(row["finite"]))


@values_as_data
def near(values: np.ndarray, target: float, ulps: int) -> np.ndarray:
    """Mask of float32 values within ``ulps`` float32 steps of ``target``.

    Example:
        >>> near(np.float32([1.0, 1.0000001, 1.1]), 1.0, 2).tolist()
        [True, True, False]
    """
    step = float(np.spacing(np.float32(abs(target))))
    return np.abs(values.astype(np.float64) - target) <= ulps * step


def _signatures(splat: Splat, t: Thresholds, table: pd.DataFrame) -> Iterator[Finding]:
    o = splat.opacity
    n = len(o)
    for code, clamp in (("SL302", CLAMP_1E4), ("SL303", CLAMP_1E3)):
        low, high = (float(v) for v in float32_logit(np.array(clamp)))
        k_low = int(near(o, low, t.signature_ulps).sum())
        k_high = int(near(o, high, t.signature_ulps).sum())
        if (k_low + k_high) / max(n, 1) <= t.signature_share:
            continue
        with np.errstate(invalid="ignore"):
            inside = float(np.mean((o >= low - 1e-5) & (o <= high + 1e-5)))
        yield Finding(code, "error", "opacity",
                      f"{k_low:,} opacities at exactly {low:.4f} and {k_high:,} at {high:.4f}:"
                      f" the file went through a double logit clamped to {clamp}.",
                      {"at_low": k_low, "at_high": k_high, "low": low, "high": high,
                       "share": (k_low + k_high) / n, "share_within_clamp": inside},
                      k_low + k_high)


def _spikes(splat: Splat, t: Thresholds, table: pd.DataFrame) -> Iterator[Finding]:
    skip = set(GROUPS["normals"]) | set(GROUPS["quats"])
    rows = _rows(table, [n for n in _float_fields(splat) if n not in skip],
                 ["mode", "mode_share"])
    for name, row in rows[rows["mode"].notna() & (rows["mode_share"] > t.spike_share)
                          ].iterrows():
        value, share = float(row["mode"]), float(row["mode_share"])
        k = round(share * splat.count)
        if share <= t.spike_share or (share == 1.0 and splat.count > 1):
            continue  # a constant field is SL202's
        if name == "opacity" and any(near(np.float32([value]), s, t.signature_ulps)[0]
                                     for s in float32_logit(np.array([*CLAMP_1E4, *CLAMP_1E3]))):
            continue  # SL302/SL303
        if name.startswith("scale_"):
            floor = value == np.float32(trellis.LOG_SCALE_FLOOR)
            note = " (the TRELLIS floor log 9e-4)" if floor else ""
            yield Finding("SL501", "warning", name,
                          f"{share:.1%} of gaussians share the scale {value:.6g}{note}.",
                          {"value": value, "share": share, "at_trellis_floor": float(floor)}, k)
        else:
            yield Finding("SL301", "warning", name,
                          f"The value {value:.6g} holds {share:.1%} of {name}.",
                          {"value": value, "share": share}, k)


def _invisible(splat: Splat, t: Thresholds, table: pd.DataFrame) -> Iterator[Finding]:
    alpha = float32_sigmoid(splat.opacity)
    n = len(alpha)
    k3 = int(sn17.invisible(alpha).sum())
    k255 = int((alpha < np.float32(1 / 255)).sum())
    evidence = {"share_below_1e-3": k3 / n, "share_below_1/255": k255 / n}
    if k3 / n > t.invisible_share:
        yield Finding("SL402", "error", "opacity",
                      f"{k3 / n:.1%} of gaussians have activated opacity below 1e-3;"
                      f" the sn17 gate rejects above {t.invisible_share:.0%}.", evidence, k3)
    elif k255 / n > t.invisible_warn_share:
        yield Finding("SL401", "warning", "opacity",
                      f"{k255 / n:.1%} of gaussians have activated opacity below 1/255.",
                      evidence, k255)


def _extent(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per axis: full range and 1-99 % range of the finite coordinates (0 when none)."""
    rows = _rows(table, list(GROUPS["positions"]), ["min", "max", "p01", "p99"])
    full = (rows["max"] - rows["min"]).to_numpy(np.float64)
    core = (rows["p99"] - rows["p01"]).to_numpy(np.float64)
    return np.nan_to_num(full), np.nan_to_num(core)


def _scales_huge(splat: Splat, t: Thresholds, table: pd.DataFrame) -> Iterator[Finding]:
    full, _ = _extent(table)
    extent = float(full.max())
    largest = table.loc[derived_label(splat, "scale_max"), "max"]
    if extent <= 0 or not largest > t.huge_scale_ratio * extent:
        return
    with np.errstate(over="ignore", invalid="ignore"):
        biggest = np.exp(splat.log_scales.astype(np.float64)).max(axis=1)
        mask = biggest > t.huge_scale_ratio * extent
    k = int(mask.sum())
    if k / len(mask) > t.huge_share:
        yield Finding("SL502", "warning", "scale",
                      f"{k:,} gaussians are larger than {t.huge_scale_ratio:g}x the scene"
                      f" extent {extent:.4g}.",
                      {"share": k / len(mask), "extent": extent,
                       "max_ratio": float(np.nanmax(biggest) / extent)}, k)


def _quats(splat: Splat, t: Thresholds, table: pd.DataFrame) -> Iterator[Finding]:
    q = splat.quats.astype(np.float64)
    norm = np.sqrt(np.einsum("ij,ij->i", q, q))
    n = len(q)
    zero = norm <= t.zero_norm
    if zero.any():
        k = int(zero.sum())
        yield Finding("SL601", "warning", "rot", f"{k:,} quaternions have zero norm.",
                      {"share": k / n}, k)
    far = ~zero & (np.abs(norm - 1) > t.quat_norm_tol)
    if far.any():
        k = int(far.sum())
        yield Finding("SL602", "info", "rot",
                      f"{k / n:.1%} of quaternions are far from unit length (median norm"
                      f" {np.median(norm):.3g}); renderers normalise them.",
                      {"share": k / n, "median_norm": float(np.median(norm))}, k)
    rows = table.loc[list(GROUPS["quats"][1:])]
    if n and rows["min"].abs().max() + rows["max"].abs().max() > 2e-8 * table.loc[
            derived_label(splat, "quat_norm"), "max"]:
        return  # some rotation has a vector part: not all identity
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = q / norm[:, None]
    if n and np.all(np.abs(unit - [1.0, 0.0, 0.0, 0.0]) <= 1e-8 + 1e-5 * np.array([1, 0, 0, 0])):
        yield Finding("SL603", "error", "rot",
                      "Every rotation is the identity (1, 0, 0, 0): the sn17 gate rejects it.",
                      {"count": n}, n)


def _count(splat: Splat, t: Thresholds, table: pd.DataFrame) -> Iterator[Finding]:
    n = splat.count
    if n < t.min_count:
        yield Finding("SL701", "error", "vertex",
                      f"{n:,} gaussians; the sn17 gate needs at least {t.min_count:,}.",
                      {"count": n, "min_count": t.min_count}, n)
    if n % 32:
        yield Finding("SL702", "info", "vertex",
                      f"{n:,} gaussians is not a multiple of 32: not raw TRELLIS decoder output.",
                      {"count": n, "remainder": n % 32}, n)


def _duplicates(splat: Splat, t: Thresholds, table: pd.DataFrame) -> Iterator[Finding]:
    if (table.loc[table.index.intersection(splat.properties), "distinct"] == splat.count).any():
        return  # a column without repeats: no two rows are equal
    # compare the stored bytes of every property (a float32 cast would merge float64 rows)
    names = splat.properties
    packed = np.empty(splat.count, [(n, splat.column(n).dtype.newbyteorder("=")) for n in names])
    for name in names:
        packed[name] = splat.column(name)
    rows = packed.view(np.dtype((np.void, packed.dtype.itemsize)))
    _, counts = np.unique(rows, return_counts=True)
    extra = int((counts[counts > 1] - 1).sum())
    if extra:
        yield Finding("SL801", "warning", "vertex",
                      f"{extra:,} rows are exact copies of another row.",
                      {"share": extra / len(rows), "groups": int((counts > 1).sum())}, extra)


def _positions(splat: Splat, t: Thresholds, table: pd.DataFrame) -> Iterator[Finding]:
    full, core = _extent(table)
    extent = float(full.max())
    if extent > t.max_extent or extent == 0:
        yield Finding("SL802", "warning", "positions",
                      f"The scene's largest side is {extent:.4g}.", {"extent": extent},
                      splat.count)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(core > 0, full / core, np.where(full > 0, np.inf, 1.0))
    worst = int(np.argmax(ratio))
    if ratio[worst] > t.outlier_ratio:
        axis = "xyz"[worst]
        yield Finding("SL803", "warning", axis,
                      f"The full {axis} range is {ratio[worst]:.3g}x its 1-99 % range: a few"
                      " far points shrink everything else when the validator rescales.",
                      {"ratio": float(ratio[worst]), "full": float(full[worst]),
                       "p1_p99": float(core[worst])}, splat.count)


def _encoding(splat: Splat, t: Thresholds, table: pd.DataFrame) -> Iterator[Finding]:
    enc = splat.encoding
    ev = {k: float(v) for k, v in enc.evidence.items()}
    if enc.opacity == "logit" and enc.opacity_looks == "probability":
        yield Finding("SL901", "warning", "opacity",
                      "Every stored opacity lies in [0, 1]: probabilities in a logit field"
                      " would make every gaussian 50-73 % opaque.", ev, splat.count)
    if enc.scales == "log" and enc.scales_look == "linear":
        yield Finding("SL902", "warning", "scale",
                      "Every stored scale is positive: linear values in a log field.", ev,
                      splat.count)
    try:
        splat.sh_degree  # noqa: B018 (the property checks the f_rest count)
    except SplatFieldError as e:
        k = sum(n.startswith("f_rest_") for n in splat.properties)
        yield Finding("SL903", "error", "f_rest", f"{e}.", {"f_rest": k}, splat.count)


def _refused(splat: Splat) -> list[Finding]:
    problems = submission_problems(splat)
    if not problems:
        return []
    return [Finding("SL950", "error", "file",
                    "The submission path refuses the file, so a miner cannot submit it: "
                    + "; ".join(problems) + ".", {"problems": len(problems)}, splat.count)]


def _submission(splat: Splat, t: Thresholds, table: pd.DataFrame) -> Iterator[Finding]:
    refused = _refused(splat)
    if refused:
        yield from refused
        return
    from .gates import gate  # the gate sits above diagnosis; imported when used

    result = gate(splat)
    through = {c.name: c for c in result.checks}
    as_is = {c.name: c for c in result.as_is.checks}
    n = splat.count
    if "opacity" in through:
        spz_share, file_share = through["opacity"].measured, as_is["opacity"].measured
        turned = through["opacity"].rejects and not as_is["opacity"].rejects
        if turned or (spz_share - file_share > 1.0
                      and spz_share > 100 * t.invisible_warn_share):
            yield Finding(
                "SL951", "error" if turned else "warning", "opacity",
                f"Through SPZ {spz_share:.1f} % of gaussians fall under the gate's sigmoid"
                f" 1e-3, against {file_share:.1f} % as the file is: opacity travels as one"
                " byte, and byte 0 (sigmoid below about 1/510) decodes to -inf.",
                {"share_submission": spz_share / 100, "share_as_is": file_share / 100,
                 "gate_turned": float(turned)},
                round((spz_share - file_share) / 100 * n))
    wraps = position_wraps(splat.positions).any(axis=1)
    if wraps.any():
        k = int(wraps.sum())
        yield Finding("SL952", "error", "positions",
                      f"{k:,} gaussians lie beyond +-2048 on some axis: SPZ's 24-bit fixed"
                      " point wraps them to the other side of the scene.",
                      {"share": k / n, "max_abs": float(np.nanmax(np.abs(
                          np.where(np.isfinite(splat.positions), splat.positions, 0))))}, k)
    log_scales = splat.log_scales
    clamps = log_scale_clamps(log_scales).any(axis=1)
    if clamps.any():
        k = int(clamps.sum())
        with np.errstate(invalid="ignore"):
            large = int((log_scales > 0).any(axis=1)[clamps].sum())
        # tiny gaussians growing to exp(-10) change little; large ones shrinking do
        severity = "warning" if large or k / n > 0.01 else "info"
        yield Finding("SL953", severity, "scale",
                      f"{k:,} gaussians have log scales outside [-10, 5.9375], where SPZ"
                      f" clamps them ({large:,} of them at the top).",
                      {"share": k / n, "clamped_large": large}, k)
    if "rotation" in as_is and as_is["rotation"].rejects and not through["rotation"].rejects:
        yield Finding("SL954", "info", "rot",
                      "The gate rejects this file as it is (every rotation the identity), but"
                      " not what the validator receives: SPZ returns an identity as"
                      " (0.99998, 0.0039, 0.0039, 0.0039).", {"count": n}, n)
    counts = _rows(table, [n for n in _float_fields(splat) if n in table.index], ["nan"])["nan"]
    nan = {name: int(k) for name, k in counts.items() if k}
    if nan:
        becomes = "; ".join(f"{name} ({k:,}) -> {_nan_through_spz(name)}"
                            for name, k in nan.items())
        k = max(nan.values())
        yield Finding("SL955", "warning", next(iter(nan)),
                      f"NaN through SPZ: {becomes}.", {k2: float(v) for k2, v in nan.items()},
                      k)


def _nan_through_spz(name: str) -> str:
    """What SPZ makes of a NaN in ``name`` (the x86-64 build: a NaN-to-int cast gives
    INT32_MIN, so a byte field gets 0 and a position 0)."""
    if name == "opacity":
        return "-inf (invisible)"
    if name in GROUPS["positions"]:
        return "0"
    if name in GROUPS["log_scales"]:
        return "-10"
    if name in GROUPS["sh_dc"]:
        return "-3.33"
    if name in GROUPS["quats"]:
        return "the rotation of bytes (0, 0, 0)"
    return "-1" if name.startswith("f_rest_") else "dropped"


# ----------------------------------------------------------------------------- converter junk
ZERO_ROWS_SHOWN = 10
"""SL961 names this many zero-filled rows (the first ones)."""


def _zero_rows(splat: Splat, t: Thresholds, table: pd.DataFrame) -> Iterator[Finding]:
    rows = _rows(table, list(table.index.intersection(splat.properties)), ["min", "max"])
    if ((rows["min"] > 0) | (rows["max"] < 0)).any():
        return  # a property without a zero: no row is all zeros
    zero = np.ones(splat.count, bool)
    for name in splat.properties:
        zero &= splat.column(name) == 0
        if not zero.any():
            return
    rows = np.flatnonzero(zero)
    k = len(rows)
    shown = ", ".join(f"{i:,}" for i in rows[:ZERO_ROWS_SHOWN]) + (", ..." if k > 10 else "")
    # a zero row renders: logit 0 is alpha 0.5, log scale 0 a unit-size gaussian at the origin
    yield Finding("SL961", "warning", "vertex",
                  f"{k:,} rows have every property exactly 0 (rows {shown}): padding a"
                  " converter left, drawn as half-opaque unit-size gaussians at the origin.",
                  {"count": k, "share": k / splat.count,
                   "first_rows": [int(i) for i in rows[:ZERO_ROWS_SHOWN]]}, k)


def _sh_in_name_only(splat: Splat, t: Thresholds, table: pd.DataFrame) -> Iterator[Finding]:
    rest = [n for n in splat.properties if n.startswith("f_rest_")]
    if not rest:
        return
    rows = _rows(table, rest, ["finite", "min", "max"])
    if not ((rows["finite"] == splat.count) & (rows["min"] == 0) & (rows["max"] == 0)).all():
        return
    try:
        degree = f"SH degree {splat.sh_degree}"
    except SplatFieldError:
        degree = "higher SH"
    yield Finding("SL962", "info", "f_rest",
                  f"The file declares {degree} ({len(rest)} f_rest properties) but every"
                  " f_rest is exactly 0: the bands carry nothing (a converter from a format"
                  " without SH, such as .splat, filled them).",
                  {"f_rest": len(rest)}, splat.count)


def _saturated(splat: Splat, t: Thresholds, table: pd.DataFrame) -> Iterator[Finding]:
    """Values piled at a format's bound with nothing beyond it: what a clamp leaves."""
    n = splat.count
    rest: dict[float, list] = {}
    for name in _float_fields(splat):
        bounds = clamps_for(name)
        if not bounds:
            continue
        values = splat.column(name)
        numbers = values[~np.isnan(values)]
        if not len(numbers):
            continue
        low, high = float(numbers.min()), float(numbers.max())  # infinities count
        for clamp in (c for c in bounds if c.telling):
            k = int(at_bound(values, clamp).sum())
            if k < 2 or k / n <= t.saturation_share:
                continue
            margin = 1e-6 * max(abs(clamp.value), 1.0) if np.isfinite(clamp.value) else 0.0
            if (low < clamp.value - margin if clamp.side == "low"
                    else high > clamp.value + margin):
                continue  # values lie past it: a point of a quantisation grid, not a clamp
            if name.startswith("f_rest_"):
                rest.setdefault(clamp.value, [clamp, 0, 0])
                rest[clamp.value][1] += k
                rest[clamp.value][2] += 1
                continue
            yield _saturation(name, clamp, k, k / n, t)
    for clamp, k, fields in rest.values():
        share = k / (n * sum(x.startswith("f_rest_") for x in splat.properties))
        if share > t.saturation_share:
            yield _saturation("f_rest", clamp, k, share, t, fields)


def _saturation(name: str, clamp, k: int, share: float, t: Thresholds,
                fields: int = 1) -> Finding:
    where = f"{k:,} values in {fields} f_rest properties" if fields > 1 else f"{k:,} values"
    return Finding("SL963", "warning" if share >= 0.01 else "info", name,
                   f"{where} ({share:.2%}) of {name} sit at {clamp.value:.6g}, with nothing"
                   f" beyond: saturated at {clamp.formats}.",
                   {"value": clamp.value, "share": share, "count": k}, k)


def _quantised(splat: Splat, t: Thresholds, table: pd.DataFrame) -> Iterator[Finding]:
    origin = splat.provenance.format
    if origin.quantised:
        yield Finding("SL040", "info", "file",
                      f"The values are quantised from {origin.label.removesuffix(', quantised')}:"
                      " they sit on that format's grid (spikes, clamps and saturated opacities"
                      " may be the format's, not the scene's).", {}, splat.count)


DETECTORS = (_nonfinite, _spread, _signatures, _spikes, _invisible, _scales_huge, _quats,
             _count, _duplicates, _positions, _encoding, _submission, _zero_rows,
             _sh_in_name_only, _saturated, _quantised)


# ----------------------------------------------------------------------------- helpers
def _fmt(value: float | list) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return f"{value:,}" if isinstance(value, int) else f"{value:.6g}"


__all__ = ["CODES", "Finding", "Report", "Thresholds", "diagnose", "near"]
