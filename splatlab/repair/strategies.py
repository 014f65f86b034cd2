"""Repair strategies: each takes a Splat and returns ``(new Splat, RepairRecord)``.

No strategy mutates its input. The :class:`RepairRecord` says what was done and
why: strategy, parameters, RNG seed, device, the gaussians touched, statistics of
the touched fields before and after, and the sn17 gate verdict before and after, on
what the validator receives (the file after the SPZ submission path; the as-is
verdict beside it). A repair counts as a fix only when ``gate_after.passed``: the
repaired file goes through the submission path and then passes the gate.

* :func:`uniform_noise`: the incident write-up's fix, faithfully (std < 1.0 -> add
  N(0, 2.0) noise to every stored opacity);
* :func:`nonfinite`: NaN/inf handling: ``legacy`` (the earliest ply_fixer), ``median``
  or ``drop``;
* :func:`undo_double_logit`: inverts the miner's double logit where it can;
* :func:`match_distribution`: maps a field onto a reference distribution by rank;
* :func:`scales`: restores spread to collapsed scale fields (the write-up's "future
  consideration");
* :func:`auto`: the repairs the diagnosis calls for, one after another; it returns one
  record too, their sum (:func:`combine`), with each repair's own record in ``steps``.

Example:
    >>> from splatlab import data
    >>> fixed, record = uniform_noise(data.corrupted(), seed=1)
    >>> record.triggered, record.gate_after.passed
    (True, False)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import torch

from .._version import __version__
from ..analysis.diagnosis import near
from ..analysis.gates import GateResult, gate
from ..analysis.statistics import stats
from ..core.fields import GROUPS
from ..core.floats import sorted_finite, values_as_data
from ..core.jsonsafe import json_safe
from ..core.ply import one_line
from ..core.splat import Splat
from ..world.miner import CLAMP_1E3, CLAMP_1E4, double_logit, float32_logit

PRIORS: dict[str, tuple[float, float]] = {
    "opacity": (0.68, 2.78),
    "log_scale": (-5.42, 0.97),
}
"""Documented normal priors (mean, std), measured on the validator's own test asset
hamburger.ply (52,709 gaussians): stored opacity logits have mean 0.676, std 2.778;
log scales minus log(largest bbox side) have mean -5.425, std 0.965. The ``log_scale``
prior is relative: its mean is shifted by log of the scene's largest bbox side."""

Ties = Literal["random", "index"]


class RepairError(ValueError):
    """A repair that cannot be made on this file's values (a scene without extent for a
    prior relative to it, a reference without a finite value); the message names the file,
    on one line. :func:`auto` records such a repair as not made and goes on.

    Example:
        >>> str(RepairError("a.ply", "the scene has no extent"))
        'a.ply: the scene has no extent'
    """

    def __init__(self, source: object, problem: str):
        self.source, self.problem = str(source), problem
        super().__init__(one_line(f"{self.source}: {problem}"))


def _source(splat: Splat) -> str:
    return str(splat.source) if splat.source is not None else "<splat>"


@dataclass
class RepairRecord:
    """What a repair did, with everything needed to reproduce and audit it.

    ``mask`` (bool, one entry per input row) marks the gaussians touched (for
    ``nonfinite(mode="drop")``: the rows dropped). ``stats_before``/``stats_after``
    map each examined field (and its activation: ``alpha``, ``linear_scale_i``) to its
    :func:`splatlab.analysis.statistics.stats` row. ``notes`` holds
    strategy-specific numbers. ``steps`` is None for one strategy; a composite
    (:func:`auto`, :func:`combine`) holds there the record of every repair it ran, in
    order (none when nothing was called for), and is their sum: see :func:`combine`.

    Example:
        >>> from splatlab import data
        >>> uniform_noise(data.corrupted(), seed=0)[1].to_dict()["touched"]["count"]
        7040
    """

    strategy: str
    parameters: dict
    seed: int | None
    device: str
    triggered: bool
    reason: str
    fields: list[str]
    mask: np.ndarray
    stats_before: dict[str, dict[str, float]]
    stats_after: dict[str, dict[str, float]]
    gate_before: GateResult
    gate_after: GateResult
    notes: dict = field(default_factory=dict)
    version: str = __version__
    steps: tuple[RepairRecord, ...] | None = None

    @property
    def touched(self) -> int:
        """Number of gaussians touched."""
        return int(self.mask.sum())

    @property
    def indices(self) -> np.ndarray:
        """Row indices (in the input) of the gaussians touched."""
        return np.flatnonzero(self.mask)

    def to_dict(self) -> dict:
        """A JSON-ready dict; the touched rows are summarised (count, share, first/last 10);
        ``steps`` holds a composite's steps as dicts (None for one strategy)."""
        idx = self.indices
        return json_safe({
            "strategy": self.strategy, "parameters": self.parameters, "seed": self.seed,
            "device": self.device, "triggered": self.triggered, "reason": self.reason,
            "fields": self.fields,
            "touched": {"count": len(idx), "share": len(idx) / max(len(self.mask), 1),
                        "first": idx[:10].tolist(), "last": idx[-10:].tolist()},
            "stats_before": self.stats_before, "stats_after": self.stats_after,
            "gate_before": _gate_summary(self.gate_before),
            "gate_after": _gate_summary(self.gate_after),
            "notes": self.notes, "splatlab_version": self.version,
            "steps": None if self.steps is None else [step.to_dict() for step in self.steps],
        })

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def summary(self) -> str:
        """One short line: strategy, gaussians touched, the gate before and after.

        A composite names each step with what it touched, then the gaussians touched in
        all (when more than one step ran) and the gate before and after each step (a step's
        verdict after is the next one's before: the same splat).

        Example:
            >>> from splatlab import data
            >>> uniform_noise(data.corrupted(), seed=0)[1].summary()
            'uniform_noise: touched 7,040 gaussians; gate reject -> reject'
            >>> fixed, record = auto(data.trellis_like(opacity=-9.21024))
            >>> record.summary()  # doctest: +NORMALIZE_WHITESPACE
            'auto: undo_double_logit touched 7,040 gaussians, then match_distribution touched
             7,040 gaussians; 7,040 touched in all; gate reject -> pass -> pass'
            >>> auto(data.trellis_like())[1].summary()
            'auto: nothing to repair; gate pass'
        """
        if self.steps is None:
            return (f"{self.strategy}: {_touched(self)}; gate {_verdict(self.gate_before)} ->"
                    f" {_verdict(self.gate_after)}")
        done = ", then ".join(f"{step.strategy} {_touched(step)}" for step in self.steps)
        in_all = f"; {self.touched:,} touched in all" if len(self.steps) > 1 else ""
        verdicts = [self.gate_before, *(step.gate_after for step in self.steps)]
        return (f"{self.strategy}: {done or 'nothing to repair'}{in_all};"
                f" gate {' -> '.join(map(_verdict, verdicts))}")

    def __repr__(self) -> str:
        return f"<RepairRecord {self.summary()}; {self.reason}>"


def _verdict(result: GateResult) -> str:
    return result.verdict


def _touched(record: RepairRecord) -> str:
    return f"touched {record.touched:,} gaussians" if record.triggered else "not triggered"


def _gate_summary(result: GateResult) -> dict:
    """The gate on what the validator receives, with the as-is verdict beside it."""
    summary = {"rules": result.rules, "version": result.version, "path": result.path,
               "verdict": result.verdict, "passed": result.passed, "failed": result.failed,
               "checks": {c.name: {"measured": c.measured, "verdict": c.verdict}
                          for c in result.checks}}
    if result.as_is is not None:
        summary["as_is"] = {"verdict": result.as_is.verdict, "failed": result.as_is.failed}
    return summary


def _record(strategy: str, parameters: dict, before: Splat, after: Splat, fields: list[str],
            mask: np.ndarray, triggered: bool, reason: str, *, seed: int | None = None,
            device: str = "numpy", notes: dict | None = None) -> RepairRecord:
    gate_before = gate(before)
    return RepairRecord(
        strategy=strategy, parameters=parameters, seed=seed, device=device,
        triggered=triggered, reason=reason, fields=fields, mask=mask,
        stats_before=_field_stats(before, fields),
        stats_after=_field_stats(after, fields),
        gate_before=gate_before, gate_after=gate_before if after is before else gate(after),
        notes=notes or {})


def _field_stats(splat: Splat, fields: list[str]) -> dict[str, dict[str, float]]:
    """:func:`splatlab.stats` rows of ``fields`` and their activations (alpha...)."""
    derived = {"opacity": "alpha", **{f"scale_{i}": f"linear_scale_{i}" for i in range(3)}}
    present = [f for f in fields if f in set(splat.properties)]
    if not present:
        return {}
    table = stats(Splat.from_arrays({f: splat.column(f) for f in present},
                                    opacity_encoding=splat.opacity_encoding,
                                    scale_encoding=splat.scale_encoding))
    rows = [r for f in fields for r in (f, derived.get(f)) if r in table.index]
    return {row: {k: None if pd.isna(v) else v
                  for k, v in table.loc[row].drop("quantiles").items()} for row in rows}


# ----------------------------------------------------------------------------- 1. the write-up
def add_logit_noise(opacity: torch.Tensor, seed: int, noise_std: float = 2.0) -> torch.Tensor:
    """The noise fix's arithmetic on a tensor: ``opacity + N(0, noise_std)``, on its device.

    A torch generator seeded with ``seed`` on the tensor's device draws the noise, so
    the same seed on the same device gives the same result.

    Example:
        >>> add_logit_noise(torch.zeros(3), seed=0).shape
        torch.Size([3])
    """
    gen = torch.Generator(device=opacity.device).manual_seed(seed)
    noise = torch.randn(opacity.shape, generator=gen, device=opacity.device, dtype=opacity.dtype)
    return opacity + noise * noise_std


@values_as_data
def uniform_noise(splat: Splat, *, std_threshold: float = 1.0, noise_std: float = 2.0,
                  seed: int | None = 0, device: str | None = None
                  ) -> tuple[Splat, RepairRecord]:
    """The write-up's fix: when stored-opacity std < 1.0, add N(0, 2.0) to every opacity.

    Noise comes from numpy's ``default_rng(seed)`` when ``device`` is None, else from
    a torch generator on ``device`` ("cpu", "cuda", ...); the same seed on the same
    device gives the same result; ``seed`` defaults to 0, as every strategy's does, and
    ``seed=None`` draws one (as the write-up's fix did) and records it. When the
    std is not below the threshold (or is NaN) the input comes back unchanged.

    Example:
        >>> from splatlab import data
        >>> fixed, rec = uniform_noise(data.corrupted(), seed=0)
        >>> round(rec.notes["std_after"], 1)
        2.0
    """
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (1 << 63))
    params = {"std_threshold": std_threshold, "noise_std": noise_std}
    stored = np.asarray(splat.opacity, np.float64)
    std = float(stored.std())
    where = device or "numpy"
    if not std < std_threshold:
        reason = f"opacity std {std:.4g} is not below {std_threshold:g}"
        return splat, _record("uniform_noise", params, splat, splat, ["opacity"],
                              np.zeros(splat.count, bool), False, reason, seed=seed,
                              device=where, notes={"std_before": std})
    if device is None:
        noise = np.random.default_rng(seed).standard_normal(splat.count) * noise_std
        new = stored + noise
    else:
        base = torch.from_numpy(np.array(splat.opacity, np.float32)).to(device)
        new = add_logit_noise(base, seed, noise_std).cpu().numpy()
    fixed = splat.replace(opacity=new)
    mask = fixed.opacity != splat.opacity
    reason = f"opacity std {std:.4g} < {std_threshold:g}: added N(0, {noise_std:g}) noise"
    notes = {"std_before": std, "std_after": float(np.asarray(fixed.opacity, np.float64).std())}
    return fixed, _record("uniform_noise", params, splat, fixed, ["opacity"], mask, True,
                          reason, seed=seed, device=where, notes=notes)


# ----------------------------------------------------------------------------- 2. non-finite
@values_as_data
def nonfinite(splat: Splat, *, mode: Literal["median", "drop", "legacy"] = "median",
              fields: list[str] | None = None) -> tuple[Splat, RepairRecord]:
    """Replace or drop NaN / inf values.

    ``legacy`` is the earliest ply_fixer, on ``opacity`` only: when any value is not
    finite, NaN -> median of the finite values, then every value clipped to [-10, 10]
    (finite ones beyond +-10 included, as it did). ``median`` replaces each non-finite
    value with its field's median of finite values. ``drop`` removes every gaussian
    with a non-finite value (a new Splat with fewer rows: dtypes, property order,
    header comments and byte order kept; other PLY elements are not). ``fields``
    defaults to ``["opacity"]`` for ``legacy`` and every float property otherwise.
    A field without a single finite value has no median: ``median`` and ``legacy`` leave
    it as it is and name it in ``notes["no_finite_value"]`` (the repair is not triggered
    when that leaves nothing to do).

    Example:
        >>> from splatlab import data
        >>> splat = data.trellis_like()
        >>> x = splat.column("x").copy()
        >>> x[:12] = np.nan
        >>> clean, rec = nonfinite(splat.replace(x=x), mode="drop")
        >>> rec.touched, clean.count
        (12, 7028)
    """
    if mode not in ("median", "drop", "legacy"):
        raise ValueError(f"mode must be 'median', 'drop' or 'legacy', not {mode!r}")
    if fields is None:
        fields = ["opacity"] if mode == "legacy" else [
            n for n in splat.properties if splat.column(n).dtype.kind == "f"]
    params = {"mode": mode, "fields": fields}
    bad = np.zeros(splat.count, bool)
    for name in fields:
        bad |= ~np.isfinite(splat.column(name))
    if not bad.any():
        return splat, _record("nonfinite", params, splat, splat, fields, bad, False,
                              "every value is finite")
    if mode == "drop":
        kept = splat.take(np.flatnonzero(~bad))
        notes = {"dropped": int(bad.sum()), "kept": kept.count,
                 "lost_elements": [e.name for e in splat.header.elements if e.name != "vertex"]}
        return kept, _record("nonfinite", params, splat, kept, fields, bad, True,
                             f"dropped {int(bad.sum()):,} gaussians with non-finite values",
                             notes=notes)
    updates, medians, hopeless = {}, {}, []
    for name in fields:
        v = np.asarray(splat.column(name), np.float64)
        finite = np.isfinite(v)
        if finite.all() and mode == "median":
            continue
        if not finite.any():
            hopeless.append(name)
            continue
        medians[name] = float(np.median(v[finite]))
        new = np.where(np.isnan(v) if mode == "legacy" else ~finite, medians[name], v)
        updates[name] = np.clip(new, -10.0, 10.0) if mode == "legacy" else new
    notes = {"medians": medians, "no_finite_value": hopeless}
    left = f"; no finite value, left as they are: {', '.join(hopeless)}" if hopeless else ""
    if not updates:
        return splat, _record("nonfinite", params, splat, splat, fields,
                              np.zeros(splat.count, bool), False,
                              f"no field has a finite value to take a median from{left}",
                              notes=notes)
    fixed = splat.replace(**updates)
    mask = np.zeros(splat.count, bool)
    for name in updates:
        old, new = splat.column(name), fixed.column(name)
        mask |= ~((old == new) | (np.isnan(old) & np.isnan(new)))
    reason = ("legacy: NaN -> median, clipped to [-10, 10]" if mode == "legacy"
              else "non-finite values -> field median of finite values") + left
    return fixed, _record("nonfinite", params, splat, fixed, fields, mask, True, reason,
                          notes=notes)


# ----------------------------------------------------------------------------- 3. double logit
@values_as_data
def undo_double_logit(splat: Splat, *, clamp: tuple[float, float] = CLAMP_1E4,
                      clamped_to: Literal["bound", "keep"] | tuple[float, float] = "bound",
                      min_share: float = 1e-3, ulps: int = 4) -> tuple[Splat, RepairRecord]:
    """Invert the miner's double logit (see :func:`splatlab.loadchain.miner_double_logit`).

    A value y strictly between the float32 clamp logits came from a stored logit x in
    (clamp[0], clamp[1]); it is replaced by the float32 x nearest sigmoid(y) for which
    the chain gives back exactly y (checked; the record counts the rare misses).
    Values at a clamp logit (within ``ulps`` float32 steps) came from *any* logit
    below clamp[0] (or above clamp[1]) and cannot be recovered; ``clamped_to`` says
    what they become:

    * ``"bound"`` (default): the clamp bound itself (1e-4 / 0.9999 as stored logits),
      the one value the evidence pins down: the nearest to where the chain cut;
      activated opacity 0.500025 / 0.7311;
    * ``"keep"``: left at +-9.2102 (activated 1e-4 / 0.9999);
    * ``(low, high)``: these stored logits (e.g. ``(-2.1972, 0.9999)``: TRELLIS's
      opacity bias logit(0.1) for the low ones).

    Nothing happens unless at least ``min_share`` of the opacities sit at a clamp
    logit and none lies outside the clamp range (such a file did not come out of
    the chain).

    Example:
        >>> from splatlab import data
        >>> restored, rec = undo_double_logit(data.chained())
        >>> rec.notes["at_low"] > 0, rec.gate_after.passed
        (True, True)
    """
    params = {"clamp": list(clamp), "clamped_to": clamped_to, "min_share": min_share,
              "ulps": ulps}
    y = np.asarray(splat.opacity, np.float32)
    low_l, high_l = (np.float32(v) for v in float32_logit(np.array(clamp)))
    at_low, at_high = near(y, float(low_l), ulps), near(y, float(high_l), ulps)
    interior = (y > low_l) & (y < high_l) & ~at_low & ~at_high
    outside = np.isfinite(y) & ~interior & ~at_low & ~at_high
    notes = {"at_low": int(at_low.sum()), "at_high": int(at_high.sum()),
             "interior": int(interior.sum()), "outside_clamp": int(outside.sum()),
             "low_logit": float(low_l), "high_logit": float(high_l)}
    share = (notes["at_low"] + notes["at_high"]) / max(len(y), 1)
    if outside.any() or share < min_share:
        reason = (f"{notes['outside_clamp']:,} values outside the clamp range: not a chain output"
                  if outside.any() else f"only {share:.2%} of values at the clamp logits")
        return splat, _record("undo_double_logit", params, splat, splat, ["opacity"],
                              np.zeros(len(y), bool), False, reason, notes=notes)
    new = y.copy()
    new[interior], exact = _invert_chain(y[interior], clamp)
    notes["inverted_exactly"] = int(exact.sum())
    notes["inverted_not_exactly"] = int((~exact).sum())
    if clamped_to != "keep":
        low_v, high_v = clamp if clamped_to == "bound" else clamped_to
        new[at_low], new[at_high] = np.float32(low_v), np.float32(high_v)
        notes.update(set_low_to=float(np.float32(low_v)), set_high_to=float(np.float32(high_v)))
    fixed = splat.replace(opacity=new)
    mask = (fixed.opacity != y) & ~(np.isnan(y))
    reason = (f"inverted {notes['interior']:,} interior values; {notes['at_low']:,} low and"
              f" {notes['at_high']:,} high clamped values are unrecoverable"
              f" ({'kept' if clamped_to == 'keep' else 'set to ' + str(clamped_to)})")
    return fixed, _record("undo_double_logit", params, splat, fixed, ["opacity"], mask, True,
                          reason, notes=notes)


def _invert_chain(y: np.ndarray, clamp: tuple[float, float], steps: int = 3
                  ) -> tuple[np.ndarray, np.ndarray]:
    """float32 x with chain(x) == y where one exists near sigmoid(y); and the mask of hits."""
    best = (1.0 / (1.0 + np.exp(-y.astype(np.float64)))).astype(np.float32)
    exact = double_logit(best, clamp) == y
    for k in range(1, steps + 1):
        for direction in (np.inf, -np.inf):
            if exact.all():
                return best, exact
            cand = best[~exact]
            for _ in range(k):
                cand = np.nextafter(cand, np.float32(direction))
            hit = double_logit(cand, clamp) == y[~exact]
            idx = np.flatnonzero(~exact)[hit]
            best[idx], exact[idx] = cand[hit], True
    return best, exact


# ----------------------------------------------------------------------------- 4. distribution
@values_as_data
def match_distribution(splat: Splat, field: str, reference: str | np.ndarray | Splat = "prior",
                       *, ties: Ties = "random", seed: int = 0) -> tuple[Splat, RepairRecord]:
    """Map ``field`` onto a reference distribution by rank (quantile mapping).

    The finite values of ``field`` are ranked; rank r of m gets the reference
    quantile at (r + 0.5) / m, so the order of distinct values is kept and the result
    has the reference's distribution. ``reference`` is a Splat (its ``field``), an
    array of reference values (Hazen quantiles: linear interpolation of the sorted
    values at position q * len - 0.5, so a reference of the same size is reproduced
    exactly, as a permutation), or ``"prior"``: the documented :data:`PRIORS`
    (``opacity`` for opacity, ``log_scale`` for ``scale_*``, shifted by log of the
    scene's largest bbox side).
    Ties (equal values, e.g. a collapsed field) are ordered by a permutation drawn
    from ``seed`` (``ties="random"``, no spatial pattern) or by row index
    (``ties="index"``). Deterministic: the same inputs give the same output.

    Example:
        >>> from splatlab import data
        >>> fixed, rec = match_distribution(data.corrupted(), "opacity", data.trellis_like())
        >>> rec.gate_before.passed, rec.gate_after.passed
        (False, True)
    """
    fixed = splat.replace(**{field: _matched(splat, field, reference, ties, seed)})
    old = splat.column(field)
    mask = ~((fixed.column(field) == old) | np.isnan(old))
    label = reference if isinstance(reference, str) else type(reference).__name__
    params = {"field": field, "reference": label, "ties": ties}
    m = int(np.isfinite(old).sum())
    reason = f"mapped {m:,} finite values of {field} onto the {label} distribution by rank"
    return fixed, _record("match_distribution", params, splat, fixed, [field], mask, True,
                          reason, seed=seed if ties == "random" else None)


def _matched(splat: Splat, field: str, reference: str | np.ndarray | Splat, ties: Ties,
             seed: int) -> np.ndarray:
    """The values of ``field`` after rank mapping onto ``reference`` (non-finite kept)."""
    if ties not in ("random", "index"):
        raise ValueError(f"ties must be 'random' or 'index', not {ties!r}")
    values = np.asarray(splat.column(field), np.float64)
    finite = np.flatnonzero(np.isfinite(values))
    m = len(finite)
    tiebreak = np.random.default_rng(seed).permutation(m) if ties == "random" else np.arange(m)
    order = np.lexsort((tiebreak, values[finite]))
    new = values.copy()
    new[finite[order]] = _quantiles(splat, field, reference, (np.arange(m) + 0.5) / max(m, 1))
    return new


def _quantiles(splat: Splat, field: str, reference: str | np.ndarray | Splat,
               q: np.ndarray) -> np.ndarray:
    if isinstance(reference, str):
        if reference != "prior":
            raise ValueError(f"reference must be 'prior', an array or a Splat, not {reference!r}")
        if field == "opacity":
            mean, std = PRIORS["opacity"]
        elif field in GROUPS["log_scales"]:
            mean, std = PRIORS["log_scale"]
            mean += float(np.log(_scene_extent(splat)))
        else:
            raise ValueError(f"no prior for {field!r}: give a reference array or Splat")
        return mean + std * torch.special.ndtri(torch.from_numpy(q)).numpy()
    ref = reference.column(field) if isinstance(reference, Splat) else np.asarray(reference)
    ref = sorted_finite(ref)
    if not len(ref):
        raise RepairError(_source(splat), f"the reference for {field} has no finite value")
    return np.interp(q * len(ref) - 0.5, np.arange(len(ref)), ref)


def _scene_extent(splat: Splat) -> float:
    p = splat.positions
    finite = p[np.isfinite(p).all(axis=1)].astype(np.float64)
    with np.errstate(over="ignore"):     # a side beyond float64 (1e308 to -1e308) is inf
        extent = float(np.ptp(finite, axis=0).max()) if len(finite) else 0.0
    if not 0 < extent < np.inf:
        raise RepairError(_source(splat), f"the scene has no finite extent ({extent:g}) to"
                          " scale the log_scale prior by")
    return extent


# ----------------------------------------------------------------------------- 5. scales
@values_as_data
def scales(splat: Splat, *, std_threshold: float = 0.01, reference: str | np.ndarray | Splat
           = "prior", ties: Ties = "random", seed: int = 0) -> tuple[Splat, RepairRecord]:
    """Restore spread to collapsed scale fields (the write-up's "future consideration").

    Each ``scale_i`` whose stored std is below ``std_threshold`` (the write-up saw
    0.001-0.006 in corrupt files, about 0.7-1.0 in healthy ones) is mapped by rank onto
    ``reference`` as in :func:`match_distribution` (default: the ``log_scale`` prior
    relative to the scene extent), with tie seed ``seed + i`` so that axes are
    independent. Fields with enough spread are left alone.

    Example:
        >>> from splatlab import data
        >>> splat = data.trellis_like()
        >>> floor = np.full((splat.count, 3), -7.0131, np.float32)
        >>> fixed, rec = scales(splat.replace(log_scales=floor))
        >>> rec.notes["collapsed"]
        ['scale_0', 'scale_1', 'scale_2']
    """
    names = list(GROUPS["log_scales"])
    stds = {n: float(np.asarray(splat.column(n), np.float64).std()) for n in names}
    collapsed = [n for n in names if stds[n] < std_threshold]
    params = {"std_threshold": std_threshold, "ties": ties,
              "reference": reference if isinstance(reference, str) else type(reference).__name__}
    notes = {"std_before": stds, "collapsed": collapsed}
    if not collapsed:
        return splat, _record("scales", params, splat, splat, names, np.zeros(splat.count, bool),
                              False, f"no scale std below {std_threshold:g}", seed=seed,
                              notes=notes)
    fixed = splat.replace(**{name: _matched(splat, name, reference, ties, seed + i)
                             for i, name in enumerate(names) if name in collapsed})
    mask = np.zeros(splat.count, bool)
    for name in collapsed:
        mask |= fixed.column(name) != splat.column(name)
    notes["std_after"] = {n: float(np.asarray(fixed.column(n), np.float64).std()) for n in names}
    return fixed, _record("scales", params, splat, fixed, names, mask, True,
                          f"mapped {', '.join(collapsed)} onto the {params['reference']}"
                          " distribution", seed=seed, notes=notes)


# ----------------------------------------------------------------------------- diagnosis-led
AUTO_RULES: tuple[tuple[frozenset[str], str, str, dict], ...] = (
    (frozenset({"SL101", "SL102", "SL103"}), "", "nonfinite", {"mode": "median"}),
    (frozenset({"SL302"}), "opacity", "undo_double_logit", {"clamp": CLAMP_1E4}),
    (frozenset({"SL303"}), "opacity", "undo_double_logit", {"clamp": CLAMP_1E3}),
    (frozenset({"SL201", "SL202", "SL402", "SL951"}), "opacity", "match_distribution",
     {"field": "opacity"}),
    (frozenset({"SL202", "SL501"}), "scale_", "scales", {}),
)
"""(error codes, field prefix they must concern, strategy, arguments), in the order
:func:`auto` tries them."""


@values_as_data
def plan(splat: Splat, done: tuple[str, ...] = ()) -> tuple[str, dict] | None:
    """The next repair the diagnosis calls for, skipping strategies in ``done``.

    Only error-level findings count (a saturated ``+inf`` opacity is a warning and
    stays). Returns ``(strategy, arguments)`` or None when nothing is called for.

    Example:
        >>> from splatlab import data
        >>> plan(data.corrupted())
        ('undo_double_logit', {'clamp': (0.0001, 0.9999)})
    """
    from ..analysis.diagnosis import diagnose

    errors = [(f.code, f.field or "") for f in diagnose(splat).errors]
    for codes, prefix, strategy, arguments in AUTO_RULES:
        wanted = any(code in codes and name.startswith(prefix) for code, name in errors)
        if wanted and strategy not in done:
            return strategy, dict(arguments)
    return None


@values_as_data
def combine(before: Splat, after: Splat, steps: Sequence[RepairRecord], *,
            strategy: str = "combined", parameters: dict | None = None,
            seed: int | None = None) -> RepairRecord:
    """One record for repairs run one after another on ``before``, giving ``after``.

    The sum of ``steps``: ``fields`` the union of theirs (in the order first named),
    ``triggered`` when any step was, ``reason`` theirs in turn, the gate before the first
    step and after the last (``before``'s for both without a step), statistics of every
    field in ``before`` and in ``after``, and the steps' devices.

    ``mask`` has one entry per row of ``before``, True where a step touched the gaussian:
    each step's mask (of the rows it was given) is taken back through the rows earlier
    steps dropped. A dropped row counts as touched, as in :func:`nonfinite`'s own record
    (``mode="drop"``), so ``mask`` marks the input gaussians that are not in ``after`` as
    they were; ``notes`` then counts the rows ``dropped`` and ``kept``.

    Example (drop the rows with a NaN position, then fill the NaN opacities):
        >>> from splatlab import data
        >>> splat = data.trellis_like()
        >>> x, opacity = splat.column("x").copy(), splat.opacity.copy()
        >>> x[:12], opacity[100:105] = np.nan, np.nan
        >>> broken = splat.replace(x=x, opacity=opacity)
        >>> kept, dropped = nonfinite(broken, mode="drop", fields=["x"])
        >>> fixed, filled = nonfinite(kept)
        >>> record = combine(broken, fixed, [dropped, filled])
        >>> record.touched, record.indices[12:].tolist(), record.notes
        (17, [100, 101, 102, 103, 104], {'dropped': 12, 'kept': 7028})
    """
    steps = tuple(steps)
    mask = np.zeros(before.count, bool)
    rows = np.arange(before.count)            # the input row of each row a step is given
    for i, step in enumerate(steps):
        if len(step.mask) != len(rows):
            raise ValueError(f"step {i + 1} ({step.strategy}) was given {len(step.mask):,}"
                             f" rows, not the {len(rows):,} left before it")
        mask[rows[step.mask]] = True
        made = len(steps[i + 1].mask) if i + 1 < len(steps) else after.count
        if made != len(rows):                 # a step that drops rows drops those of its mask
            rows = rows[~step.mask]
    if len(rows) != after.count:
        raise ValueError(f"the steps leave {len(rows):,} rows, not the {after.count:,} of after")
    dropped = before.count - after.count
    notes = {"dropped": dropped, "kept": after.count} if dropped else {}
    fields = list(dict.fromkeys(f for step in steps for f in step.fields))
    gate_before = steps[0].gate_before if steps else gate(before)
    gate_after = (steps[-1].gate_after if steps else
                  gate_before if after is before else gate(after))
    return RepairRecord(
        strategy=strategy, parameters=parameters or {}, seed=seed,
        device=", ".join(dict.fromkeys(step.device for step in steps)) or "numpy",
        triggered=any(step.triggered for step in steps),
        reason="; ".join(f"{step.strategy}: {step.reason}" for step in steps)
        or "nothing to repair",
        fields=fields, mask=mask, stats_before=_field_stats(before, fields),
        stats_after=_field_stats(after, fields), gate_before=gate_before,
        gate_after=gate_after, notes=notes, steps=steps)


@values_as_data
def auto(splat: Splat, seed: int = 0) -> tuple[Splat, RepairRecord]:
    """Repair what the diagnosis finds, one strategy at a time, re-diagnosing after each.

    The order (:data:`AUTO_RULES`): non-finite values, then the miner's double logit
    (undone exactly where values survived the clamp), then opacity still uniform or
    invisible (mapped onto the prior by rank), then collapsed scales. Each strategy
    runs at most once. The write-up's noise fix is never chosen: it leaves a uniform
    -9.21 field rejected by the gate (see ``tests/test_repair.py``). A strategy that cannot
    work on this file (:class:`RepairError`: collapsed scales in a scene without extent, so
    no prior to map them onto) gets a record that it was not made, with the reason.

    The record of the whole run (:func:`combine`: strategy ``"auto"``, parameters
    ``{"seed": seed}``) holds the record of each repair in ``steps``; it is of the same
    type as a single strategy's.

    Example:
        >>> from splatlab import data
        >>> fixed, record = auto(data.chained())
        >>> [step.strategy for step in record.steps], record.fields, record.gate_after.passed
        (['undo_double_logit'], ['opacity'], True)
    """
    before = splat
    records: list[RepairRecord] = []
    while (step := plan(splat, tuple(r.strategy for r in records))) is not None:
        strategy, arguments = step
        if strategy in ("match_distribution", "scales"):
            arguments["seed"] = seed
        try:
            splat, record = STRATEGIES[strategy](splat, **arguments)
        except RepairError as e:
            fields = ([arguments["field"]] if "field" in arguments else
                      list(GROUPS["log_scales"]) if strategy == "scales" else ["opacity"])
            record = _record(strategy, arguments, splat, splat, fields,
                             np.zeros(splat.count, bool), False, f"not made: {e.problem}")
        records.append(record)
    return splat, combine(before, splat, records, strategy="auto", parameters={"seed": seed},
                          seed=seed)


STRATEGIES = {"uniform_noise": uniform_noise, "nonfinite": nonfinite,
              "undo_double_logit": undo_double_logit, "match_distribution": match_distribution,
              "scales": scales}
"""Strategies by name (the command line's ``--strategy``)."""

__all__ = ["AUTO_RULES", "PRIORS", "RepairError", "RepairRecord", "STRATEGIES", "add_logit_noise",
           "auto", "combine", "match_distribution", "nonfinite", "plan", "scales",
           "undo_double_logit", "uniform_noise"]
