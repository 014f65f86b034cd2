"""Reproduce the Phase-3 opacity incident: data set, both hypotheses, evidence.

* **H1** (the write-up): the generator wrote uniform opacities (all 0.0 or all
  1.0) and the miner's clamp turned them into a uniform -9.21.
* **H2** (FACTS.md section 3): the generator wrote ordinary logits and the
  miner's :func:`~splatlab.loadchain.miner_double_logit` read them as
  probabilities: every logit <= 1e-4 became logit(1e-4), every logit >= 0.9999
  became logit(0.9999).

:func:`manifest` is the 21 Phase-3 generations (4 documented, 17 assumed),
:func:`build` writes each one's raw and submitted PLY and what the validator decoded
from it (the submitted PLY after the SPZ submission path, FACTS.md section 5),
:func:`reproduce` checks each hypothesis against the write-up's rows, :func:`evidence`
reads in a file what tells them apart, :func:`run` does it all.

What the reproduction shows, plainly: H2's generator opacities and scales are *fitted*
to each row (:func:`h2_shares` solves for the shares at the clamp bounds), so H2
matching the printed numbers proves only that the double-logit chain *can* produce
them. The evidence against H1 is that it cannot produce the two PARTIAL rows at all:
uniform 0.0 or 1.0 opacities give std 0, or a two-point mix whose std is far from the
printed one (:func:`two_point_std`).

Example:
    >>> table = reproduce()
    >>> table.groupby("hypothesis")["match"].sum().to_dict()
    {'H1': 2, 'H2': 4}
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..analysis.diagnosis import diagnose, near
from ..analysis.logs import wilson_interval
from ..analysis.scanning import SPIKE_ULPS, opacity_metrics, scan
from ..core.fields import logit, sigmoid
from ..core.io import load, save
from ..core.progress import progress
from ..core.splat import Splat
from ..world import synth, trellis
from ..world.miner import LOGIT_1E3, LOGIT_1E3_HIGH, LOGIT_1E4, LOGIT_1E4_HIGH, miner_double_logit
from ..world.submission import spz_roundtrip

FLOOR, CEILING = LOGIT_1E4, LOGIT_1E4_HIGH
"""What the miner's chain makes of every stored logit <= 1e-4, and >= 0.9999."""

PRINTED_DECIMALS: dict[str, int] = {"opacity_mean": 3, "opacity_min": 3, "opacity_std": 2,
                                    "scale_std": 3}
"""Decimals the write-up's table prints; a reproduction matches when it rounds alike."""

MIN_SCALED_COUNT = 7_008
"""Scaled counts never go below this (a multiple of 32 above the sn17 gate's 7,000)."""

# generation, time, count, mean, min, std, scale std, status, success, provenance, shape, note
_GENERATIONS = (
    ("g01", "21:01:04", 489_088, -9.210, -9.210, 0.00, 0.006, "CORRUPTED", False, "documented",
     "burger", "write-up table row 1"),
    ("g02", "21:03:00", 354_400, -0.35, -9.210, 8.80, 0.735, "", True, "assumed", "snowman",
     "count from the write-up's 'Healthy Generation' log line; std at the top of 4.4-8.8"),
    ("g03", "21:04:55", 612_352, -7.60, -9.210, 4.70, 0.712, "", False, "assumed", "burger",
     "failure, mostly at the floor"),
    ("g04", "21:06:50", 498_016, 5.11, -9.210, 6.48, 0.758, "", True, "assumed", "snowman", ""),
    ("g05", "21:08:45", 731_488, 1.92, -9.210, 8.21, 0.701, "", True, "assumed", "burger", ""),
    ("g06", "21:10:40", 905_216, -2.40, -9.210, 8.10, 0.744, "", False, "assumed", "snowman",
     "failure with healthy-looking opacity (scored 0 in rendering)"),
    ("g07", "21:12:35", 437_152, 7.85, -9.210, 4.40, 0.729, "", True, "assumed", "burger",
     "std at the bottom of 4.4-8.8"),
    ("g08", "21:14:30", 826_784, -8.12, -9.210, 3.85, 0.763, "", False, "assumed", "snowman",
     "failure, mostly at the floor"),
    ("g09", "21:16:25", 578_208, 3.40, -9.210, 7.62, 0.718, "", True, "assumed", "burger", ""),
    ("g10", "21:18:20", 1_004_640, 0.85, -9.210, 7.40, 0.751, "", False, "assumed", "snowman",
     "failure with healthy-looking opacity (scored 0 in rendering)"),
    ("g11", "21:20:15", 389_056, -0.92, -9.210, 8.47, 0.706, "", True, "assumed", "burger", ""),
    ("g12", "21:22:10", 554_304, -8.961, -9.210, 1.87, 0.746, "PARTIAL", False, "documented",
     "snowman", "write-up table row 2"),
    ("g13", "21:24:15", 667_936, -6.95, -9.210, 5.60, 0.739, "", False, "assumed", "burger",
     "failure, mostly at the floor"),
    ("g14", "21:26:20", 540_000, 2.75, -9.210, 7.95, 0.724, "", True, "assumed", "snowman", ""),
    ("g15", "21:28:25", 702_112, -8.55, -9.210, 2.90, 0.768, "", False, "assumed", "burger",
     "failure, mostly at the floor"),
    ("g16", "21:30:30", 455_328, 6.02, -9.210, 5.73, 0.715, "", True, "assumed", "snowman", ""),
    ("g17", "21:32:35", 520_672, -4.10, -9.210, 7.60, 0.747, "", False, "assumed", "burger",
     "failure with healthy-looking opacity (scored 0 in rendering)"),
    ("g18", "21:34:42", 762_112, -9.163, -9.210, 0.76, 0.723, "PARTIAL", False, "documented",
     "snowman", "write-up table row 3"),
    ("g19", "21:37:17", 400_320, -9.210, -9.210, 0.00, 0.0008, "CORRUPTED", False, "documented",
     "burger", "write-up table row 4; the table prints scale std 0.001, the text 0.0008"),
    ("g20", "21:39:10", 621_536, 4.26, -9.210, 7.05, 0.731, "", True, "assumed", "snowman", ""),
    ("g21", "21:41:00", 813_472, -6.40, -9.210, 6.30, 0.722, "", False, "assumed", "burger",
     "failure, mostly at the floor"),
)
MANIFEST_COLUMNS = ("generation", "time", "count", "opacity_mean", "opacity_min", "opacity_std",
                    "scale_std", "status", "success", "provenance", "shape", "note")
"""Columns of :func:`manifest` (``success``: the validator's score was above 0)."""


def manifest(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The 21 Phase-3 generations (index ``generation``); ``path``: a CSV of the same columns.

    Targets are stored opacity mean/min/std and scale std after the miner's chain;
    ``seed`` is the row number. See ``data/README.md`` for what is assumed.

    Example:
        >>> m = manifest()
        >>> len(m), int(m["success"].sum()), int((m["provenance"] == "documented").sum())
        (21, 9, 4)
    """
    if path is None:
        frame = pd.DataFrame(_GENERATIONS, columns=list(MANIFEST_COLUMNS))
        frame["time"] = "2025-11-04 " + frame["time"]
    else:
        frame = pd.read_csv(path, dtype={"status": str, "note": str}, keep_default_na=False)
    frame["time"] = pd.to_datetime(frame["time"])
    frame["success"] = frame["success"].astype(bool)
    frame["seed"] = np.arange(len(frame))
    return frame.set_index("generation")


def documented(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The write-up's four rows (manifest rows marked ``documented``).

    Example:
        >>> documented()["count"].tolist()
        [489088, 554304, 762112, 400320]
    """
    table = manifest() if table is None else table
    return table[table["provenance"] == "documented"]


def scaled_count(count: int, scale: float) -> int:
    """``count * scale`` rounded to a multiple of 32, at least :data:`MIN_SCALED_COUNT`.

    Example:
        >>> scaled_count(489_088, 1.0), scaled_count(489_088, 0.01)
        (489088, 7008)
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    if scale == 1.0:
        return int(count)
    per = trellis.PER_VOXEL
    return max(MIN_SCALED_COUNT, int(round(count * scale / per)) * per)


# ---------------------------------------------------------------------------- hypotheses
def _band(n: int, low: float = 2e-4, high: float = 0.9998) -> np.ndarray:
    """Chain outputs logit(L) of ``n`` logits spread evenly over (low, high)."""
    return logit(low + (high - low) * (np.arange(n) + 0.5) / max(n, 1))


_BAND = _band(100_000)


def _truncated_normal(n: int, mean: float, std: float, below: float | None = None,
                      above: float | None = None) -> np.ndarray:
    ndtr, ndtri = torch.special.ndtr, torch.special.ndtri
    lo = 0.0 if above is None else float(ndtr(torch.tensor((above - mean) / std)))
    hi = 1.0 if below is None else float(ndtr(torch.tensor((below - mean) / std)))
    q = torch.from_numpy(lo + (hi - lo) * (np.arange(n) + 0.5) / max(n, 1))
    return (mean + std * ndtri(q)).numpy()


def h2_shares(mean: float, std: float) -> tuple[float, float, float]:
    """Shares of raw logits at or below 1e-4, at or above 0.9999, and between, under H2.

    The chain sends the first to logit(1e-4), the second to logit(0.9999) and the
    rest, spread evenly, to logit(L); three moments fix the three shares. A
    negative share means H2 cannot give that mean and std. A std of 0 with a
    mean that prints as a clamp value (3 decimals) is all at that value.

    Example:
        >>> [round(s, 4) for s in h2_shares(-8.961, 1.87)]
        [0.9801, 0.0072, 0.0127]
    """
    if std == 0 and abs(mean - FLOOR) <= 5e-4:
        return 1.0, 0.0, 0.0
    if std == 0 and abs(mean - CEILING) <= 5e-4:
        return 0.0, 1.0, 0.0
    system = np.array([[1.0, 1.0, 1.0], [FLOOR, CEILING, _BAND.mean()],
                       [FLOOR ** 2, CEILING ** 2, (_BAND ** 2).mean()]])
    floor, ceiling, band = np.linalg.solve(system, [1.0, mean, std ** 2 + mean ** 2])
    return float(floor), float(ceiling), float(band)


def h2_opacity(count: int, mean: float, std: float, seed: int = 0) -> np.ndarray:
    """Stored TRELLIS logits that the miner's chain turns into exactly ``mean`` and ``std``.

    Ordinary logits: a faint group below 1e-4 (truncated N(-2.5, 2.5)), an opaque
    group above 0.9999 (truncated N(4.5, 3.5), saturating to ``+inf`` as TRELLIS
    writes), and a group spread evenly in (1e-4, 0.9999) whose values are fitted
    so that the chain's output has the target mean and std.

    Example:
        >>> from splatlab.loadchain import miner_double_logit
        >>> raw = synth.trellis(32 * 2000, opacity=h2_opacity(32 * 2000, -8.961, 1.87))
        >>> o = miner_double_logit(raw).opacity.astype(float)
        >>> round(float(o.mean()), 3), round(float(o.std()), 2)
        (-8.961, 1.87)
    """
    shares = h2_shares(mean, std)
    if min(shares) < -1e-9:
        raise ValueError(f"H2 cannot give stored opacity mean {mean} with std {std}"
                         f" (shares {', '.join(f'{s:.4f}' for s in shares)})")
    n_ceiling, n_band, band = _fit_band(count, mean, std, shares)
    n_floor = count - n_ceiling - n_band
    faint = _truncated_normal(n_floor, -2.5, 2.5, below=0.0)
    opaque = _truncated_normal(n_ceiling, 4.5, 3.5, above=1.0)
    stored = np.concatenate([
        trellis.trellis_logits(np.concatenate([faint, opaque]) - trellis.OPACITY_BIAS),
        sigmoid(band).astype(np.float32),
    ])
    return stored[np.random.default_rng(seed).permutation(count)]


def _fit_band(count: int, mean: float, std: float, shares: tuple[float, float, float]
              ) -> tuple[int, int, np.ndarray]:
    _, h, u = (max(s, 0.0) for s in shares)
    if u == 0.0:  # all at one clamp value (see h2_shares)
        return round(h * count), 0, np.zeros(0)
    base_h, base_u = round(h * count), max(round(u * count), 2)
    for dh in (0, -1, 1, -2, 2, -3, 3):
        for du in (0, 1, -1, 2, -2, 3, -3):
            n_h, n_u = base_h + dh, base_u + du
            if n_h < 0 or n_u < 2 or n_h + n_u > count:
                continue
            n_f = count - n_h - n_u
            s1 = count * mean - n_f * FLOOR - n_h * CEILING
            s2 = count * (std ** 2 + mean ** 2) - n_f * FLOOR ** 2 - n_h * CEILING ** 2
            centre, var = s1 / n_u, s2 / n_u - (s1 / n_u) ** 2
            template = _band(n_u)
            if var < 0:
                continue
            band = centre + (template - template.mean()) * np.sqrt(var / template.var())
            if band.min() > FLOOR + 0.01 and band.max() < CEILING - 0.01:
                return n_h, n_u, band
    raise ValueError(f"H2 cannot give mean {mean} and std {std} with {count:,} gaussians")


def h1_opacity(count: int, value: float) -> np.ndarray:
    """H1's generator output: every opacity the same value (0.0 or 1.0 in the write-up).

    Example:
        >>> h1_opacity(3, 0.0).tolist()
        [0.0, 0.0, 0.0]
    """
    return np.full(count, value, np.float32)


def two_point_std(mean: float) -> float:
    """Std of stored opacity when every value is logit(1e-4) or logit(0.9999), at this mean.

    What H1 gives when some generations write all 0.0 and some all 1.0 within one
    file (a mix of its two uniform values); any file with this mean and values in
    [logit(1e-4), logit(0.9999)] has at most this std (Bhatia-Davis).

    Example:
        >>> round(two_point_std(-8.961), 2)
        2.13
    """
    return float(np.sqrt(max((CEILING - mean) * (mean - FLOOR), 0.0)))


def raw_scales(count: int, std: float, seed: int = 0) -> np.ndarray:
    """Raw (count, 3) log scales with this std: piled at the floor below 0.05, else ordinary.

    Example:
        >>> round(float(raw_scales(3200, 0.006).std()), 3)
        0.006
    """
    if std < 0.05:
        return synth.collapsed_scales(count, std, seed)
    return synth.scales_with_std(count, std, seed)


def generation(row: pd.Series, hypothesis: str = "H2", scale: float = 1.0) -> tuple[Splat, Splat]:
    """(raw, submitted) Splats of one manifest row under a hypothesis.

    H2: ordinary logits (:func:`h2_opacity`). H1: uniform 0.0 (1.0 when the row's
    mean is positive). Scales: :func:`raw_scales` for the row's scale std.
    Submitted: the raw file after :func:`~splatlab.loadchain.miner_double_logit`.

    Example:
        >>> raw, submitted = generation(manifest().loc["g01"], "H1", scale=0.02)
        >>> float(submitted.opacity.std())
        0.0
    """
    if hypothesis not in ("H1", "H2"):
        raise ValueError(f"hypothesis must be 'H1' or 'H2', not {hypothesis!r}")
    raw = _raws(row, scale)[hypothesis]
    return raw, miner_double_logit(raw)


def _raws(row: pd.Series, scale: float) -> dict[str, Splat]:
    count, seed = scaled_count(int(row["count"]), scale), int(row["seed"])
    h2 = synth.trellis(count, seed, row["shape"],
                       opacity=h2_opacity(count, row["opacity_mean"], row["opacity_std"], seed),
                       scales=raw_scales(count, row["scale_std"], seed))
    h1 = h2.replace(opacity=h1_opacity(count, 1.0 if row["opacity_mean"] > 0 else 0.0))
    return {"H1": h1, "H2": h2}


def matches(metrics: dict, row: pd.Series) -> dict[str, bool]:
    """Which of the write-up's printed numbers ``metrics`` reproduces (count exactly).

    Example:
        >>> matches({"count": 1, "opacity_mean": -9.2102, "opacity_min": -9.2102,
        ...          "opacity_std": 0.0, "scale_std": 0.0061},
        ...         manifest().loc["g01"])["scale_std"]
        True
    """
    out = {"count": int(metrics["count"]) == int(row["count"])}
    for name, decimals in PRINTED_DECIMALS.items():
        printed = round(float(row[name]), decimals)
        out[name] = abs(metrics[name] - printed) <= 0.5 * 10 ** -decimals + 1e-12
    return out


def reproduce(rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each documented row under H1 and H2 at full count: the chain's output and what matches.

    One row a (generation, hypothesis): ``producible`` (the hypothesis as stated
    can give that row), the measured numbers, ``match_*`` flags, ``match`` (all)
    and a note that says why not, with numbers.

    Example:
        >>> reproduce().query("hypothesis == 'H1' and not producible")["generation"].tolist()
        ['g12', 'g18']
    """
    rows = documented() if rows is None else rows
    records = []
    for gen, row in rows.iterrows():
        for hypothesis, raw in _raws(row, 1.0).items():
            submitted = miner_double_logit(raw)
            metrics = opacity_metrics(submitted)
            ok = matches(metrics, row)
            records.append({"generation": gen, "hypothesis": hypothesis,
                            "producible": _producible(hypothesis, row),
                            **{k: metrics[k] for k in ("count", *PRINTED_DECIMALS)},
                            **{f"match_{k}": v for k, v in ok.items()}, "match": all(ok.values()),
                            "note": _note(hypothesis, row, metrics)})
    return pd.DataFrame(records)


def _producible(hypothesis: str, row: pd.Series) -> bool:
    if hypothesis == "H2":
        return min(h2_shares(row["opacity_mean"], row["opacity_std"])) >= -1e-9
    return round(float(row["opacity_std"]), 2) == 0.0


def _note(hypothesis: str, row: pd.Series, metrics: dict) -> str:
    collapsed = row["scale_std"] < 0.05
    if hypothesis == "H2":
        f, h, u = h2_shares(row["opacity_mean"], row["opacity_std"])
        text = (f"raw logits: {f:.2%} <= 1e-4, {u:.2%} in (1e-4, 0.9999), {h:.2%} >= 0.9999"
                " (activated opacity <= 0.5 for the first)")
        scales = "; scale std is the generator's (the chain keeps log scales)"
        return text + (scales + ", piled at log(9e-4)" if collapsed else scales)
    if _producible("H1", row):
        return (f"uniform 0.0 -> all {FLOOR:.4f}; scale std {row['scale_std']} needs"
                " near-uniform scales, not the identical values H1 states (std 0)")
    return (f"uniform opacity gives std {metrics['opacity_std']:.2f}, not {row['opacity_std']:.2f};"
            f" a mix of all-0.0 and all-1.0 at mean {row['opacity_mean']} gives std"
            f" {two_point_std(row['opacity_mean']):.2f}: only values strictly between the"
            " clamp bounds, which uniform output lacks, give the row")


# ---------------------------------------------------------------------------- data set
def build(out: str | os.PathLike, scale: float = 1.0, table: pd.DataFrame | None = None,
          overwrite: bool = False) -> pd.DataFrame:
    """Write ``raw/gNN.ply`` (generator output, H2), ``submitted/gNN.ply`` (after the
    miner's chain) and ``validator/gNN.ply`` (what the validator decoded from the
    submission: the submitted file after pyspz compress and decompress, byte for byte).

    Deterministic: the same scale gives byte-identical files. Returns the
    manifest with ``built_count``, ``raw``, ``submitted`` and ``validator`` paths, also
    written as ``manifest.csv`` in ``out``.

    Example:
        >>> import tempfile
        >>> built = build(tempfile.mkdtemp(), scale=0.001, table=documented())
        >>> built["built_count"].tolist(), Path(built.loc["g01", "validator"]).parent.name
        ([7008, 7008, 7008, 7008], 'validator')
    """
    out = Path(out)
    table = manifest() if table is None else table.copy()
    folders = ("raw", "submitted", "validator")
    for sub in folders:
        (out / sub).mkdir(parents=True, exist_ok=True)
    paths: dict[str, list[str]] = {sub: [] for sub in folders}
    counts = []
    for gen, row in progress(table.iterrows(), "incident build", total=len(table),
                             unit="generation"):
        raw, submitted = generation(row, "H2", scale)
        for sub, splat in zip(folders, (raw, submitted, spz_roundtrip(submitted))):
            paths[sub].append(str(save(splat, out / sub / f"{gen}.ply", overwrite=overwrite)))
        counts.append(raw.count)
    table["built_count"] = counts
    for sub in folders:
        table[sub] = paths[sub]
    table.to_csv(out / "manifest.csv")
    return table


# ---------------------------------------------------------------------------- evidence
def evidence(files: Iterable[str | os.PathLike | Splat]) -> pd.DataFrame:
    """What each file shows about the chain it went through (index: ``folder/name``).

    ``floor``/``ceiling``: shares at logit(1e-4)/logit(0.9999); ``floor_decade``/
    ``ceiling_decade``: shares just inside (activated opacity in (1e-4, 1e-3] and
    [0.999, 0.9999)); ``*_ratio``: gaussians at the spike per gaussian in that
    decade (+1). Clamped logits (H2) pile far more at a bound than a smooth
    distribution of probabilities (H1's generator) puts just inside it:
    :func:`h1_world_contrast` measures the latter. ``values_look``: "logit" or
    "probability" (a raw file under H1 is all in [0, 1]).

    Example:
        >>> from splatlab import data
        >>> evidence([data.path("chained.ply")])["reading"].tolist()
        ['spikes far above the next decade: clamped logits (H2)']
    """
    rows = []
    for i, item in enumerate(files):
        splat = item if isinstance(item, Splat) else load(item)
        source = Path(splat.source) if splat.source else None
        name = f"{source.parent.name}/{source.stem}" if source else f"splat{i}"
        rows.append({"file": name, **_evidence_row(splat)})
    return pd.DataFrame(rows).set_index("file")


def _evidence_row(splat: Splat) -> dict:
    o = np.asarray(splat.opacity)
    n = max(len(o), 1)
    at_floor, at_ceiling = near(o, FLOOR, SPIKE_ULPS), near(o, CEILING, SPIKE_ULPS)
    with np.errstate(invalid="ignore"):
        floor_decade = (o > FLOOR) & (o <= LOGIT_1E3) & ~at_floor
        ceiling_decade = (o >= LOGIT_1E3_HIGH) & (o < CEILING) & ~at_ceiling
        finite = np.isfinite(o)
        outside = finite & ((o < 0) | (o > 1))
    k_floor, k_ceiling = int(at_floor.sum()), int(at_ceiling.sum())
    row = {
        "count": len(o), "floor": k_floor / n, "ceiling": k_ceiling / n,
        "between": float((finite & ~at_floor & ~at_ceiling).sum()) / n,
        "floor_decade": float(floor_decade.sum()) / n,
        "ceiling_decade": float(ceiling_decade.sum()) / n,
        "floor_ratio": k_floor / (int(floor_decade.sum()) + 1),
        "ceiling_ratio": k_ceiling / (int(ceiling_decade.sum()) + 1),
        "old_clamp": float((near(o, LOGIT_1E3, SPIKE_ULPS) | near(o, LOGIT_1E3_HIGH, SPIKE_ULPS))
                           .sum()) / n,
        "values_look": splat.encoding.opacity_looks,
        "outside_0_1": float(outside.sum()) / n,
    }
    row["reading"] = reading(row)
    return row


RATIO_THRESHOLD = 100.0
"""A spike this many times its next decade is read as clamped logits (see :func:`reading`)."""


def reading(row: dict) -> str:
    """One phrase for an :func:`evidence` row; thresholds in the module's constants.

    Example:
        >>> reading({"floor": 1.0, "ceiling": 0.0, "old_clamp": 0.0})
        'all at logit(1e-4): H1 and H2 give this same file'
    """
    if row["floor"] >= 1.0:
        return "all at logit(1e-4): H1 and H2 give this same file"
    if row["ceiling"] >= 1.0:
        return "all at logit(0.9999): H1 and H2 give this same file"
    if row["floor"] + row["ceiling"] < 1e-3 and row["old_clamp"] < 1e-3:
        return f"no clamp spikes; opacity values look like {row['values_look']}s"
    spikes = [r for share, r in ((row["floor"], row["floor_ratio"]),
                                 (row["ceiling"], row["ceiling_ratio"])) if share >= 0.01]
    if spikes and max(spikes) >= RATIO_THRESHOLD:
        return "spikes far above the next decade: clamped logits (H2)"
    return "spikes comparable to the next decade: clamped smooth probabilities (H1's world)"


def h1_world_contrast(count: int = 64_000, spreads: Iterable[float] = (2, 4, 8, 16, 32, 64),
                      seed: int = 0) -> pd.DataFrame:
    """Files H1's world would submit: a generator writing smooth probabilities sigmoid(s * z).

    One row a spread ``s``: the submitted file's stored std and mean, its spike
    shares and ratios (as :func:`evidence`). Shows how large a spike a smooth
    probability generator leaves beside its next decade at each std.

    Example:
        >>> h1_world_contrast(32 * 500, spreads=(16,))["reading"].tolist()
        ["spikes comparable to the next decade: clamped smooth probabilities (H1's world)"]
    """
    z = _truncated_normal(count, 0.0, 1.0)
    rows = []
    for spread in spreads:
        probability = sigmoid(np.float32(spread) * z.astype(np.float32))
        raw = synth.trellis(count, seed, opacity=probability, scales=raw_scales(count, 0.7, seed))
        submitted = miner_double_logit(raw)
        metrics = opacity_metrics(submitted)
        rows.append({"spread": spread, "opacity_mean": metrics["opacity_mean"],
                     "opacity_std": metrics["opacity_std"],
                     **{k: v for k, v in _evidence_row(submitted).items()
                        if k in ("floor", "ceiling", "floor_ratio", "ceiling_ratio", "reading")}})
    return pd.DataFrame(rows).set_index("spread")


# ---------------------------------------------------------------------------- summary
def rates(table: pd.DataFrame | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Success and corruption rates of the manifest with Wilson intervals.

    Corruption: the write-up's four rows (documented) of all generations.

    Example:
        >>> rates().loc["success", ["k", "n"]].tolist()
        [9, 21]
    """
    table = manifest() if table is None else table
    n = len(table)
    counts = {"success": int(table["success"].sum()),
              "corrupted (write-up)": int((table["provenance"] == "documented").sum())}
    rows = []
    for name, k in counts.items():
        low, high = wilson_interval(k, n, confidence)
        rows.append({"rate": name, "k": k, "n": n, "share": k / n, "low": low, "high": high})
    return pd.DataFrame(rows).set_index("rate")


def verdicts(scanned: pd.DataFrame, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Scan rows of submitted files beside the outcome: the gate as the validator applied it
    (``gate``: on what it decoded through SPZ; ``gate_as_is``: on the submitted file
    itself), the invisible share on each path, and the write-up's std rule.

    Example:
        >>> import tempfile
        >>> built = build(tempfile.mkdtemp(), scale=0.001, table=documented())
        >>> table = verdicts(scan(list(built["submitted"])))
        >>> table[["success", "gate", "gate_as_is"]].drop_duplicates().values.tolist()
        [[False, 'reject', 'reject']]
    """
    table = manifest() if table is None else table
    frame = scanned.assign(generation=[Path(f).stem for f in scanned["file"]])
    frame = frame.set_index("generation").join(table[["provenance", "status", "success"]])
    return frame[["provenance", "status", "success", "count", "opacity_mean", "opacity_min",
                  "opacity_std", "scale_std", "alpha_below_1e-3", "alpha_below_1e-3_spz",
                  "spike_neg_9_21", "spike_pos_9_21", "uniform_rule", "gate", "gate_failed",
                  "gate_as_is"]]


def crosstab(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts of gate verdict and write-up rule (std < 1) against success, from :func:`verdicts`.

    Example:
        >>> import tempfile
        >>> built = build(tempfile.mkdtemp(), scale=0.001, table=documented())
        >>> table = crosstab(verdicts(scan(list(built["submitted"]))))
        >>> int(table.loc[("write-up rule (std < 1.0)", "failure"), "flagged"])
        3
    """
    rows = []
    for rule, flagged in (("sn17 gate rejects (as the validator received it)",
                           frame["gate"] != "pass"),
                          ("sn17 gate rejects (the file as-is)", frame["gate_as_is"] != "pass"),
                          ("write-up rule (std < 1.0)", frame["uniform_rule"].astype(bool))):
        for success in (True, False):
            part = flagged[frame["success"] == success]
            rows.append({"rule": rule, "outcome": "success" if success else "failure",
                         "flagged": int(part.sum()), "not flagged": int((~part).sum())})
    return pd.DataFrame(rows).set_index(["rule", "outcome"])


@dataclass
class RunResult:
    """What :func:`run` made: the tables and where they were written."""

    out: Path
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        """A short text summary of the run."""
        t = self.tables
        rate = t["rates"].loc["success"]
        rep = t["reproduction"]
        lines = [f"splatlab incident run: {len(t['verdicts'])} generations in {self.seconds:.0f} s",
                 f"  success {int(rate.k)}/{int(rate.n)} = {rate.share:.1%}"
                 f" (95 % Wilson {rate.low:.1%}-{rate.high:.1%})"]
        for hyp in ("H1", "H2"):
            ok = rep[(rep["hypothesis"] == hyp) & rep["match"]]["generation"].tolist()
            lines.append(f"  {hyp} reproduces {len(ok)}/4 documented rows: {', '.join(ok) or '-'}")
        lines.append("  H2's inputs are fitted to each row: its match proves the chain can"
                     " give the rows; H1 cannot give the PARTIAL rows at all")
        v = t["verdicts"]
        docs = v[v["provenance"] == "documented"]
        rejected, as_is = v["gate"] != "pass", v["gate_as_is"] != "pass"
        lines.append(f"  sn17 gate, as the validator received the files (through SPZ): rejects"
                     f" {int(rejected.sum())}/{len(v)} ({int(rejected[docs.index].sum())}/"
                     f"{len(docs)} documented; the rest depend on assumed rows); on the files"
                     f" as-is {int(as_is.sum())}/{len(v)}; write-up rule (std < 1) flags"
                     f" {int(v['uniform_rule'].sum())}")
        evidence = t["evidence"]
        folders = evidence.index.str.split("/").str[0]
        for folder, readings in evidence.groupby(folders)["reading"]:
            lines += [f"  evidence, {folder} files: {k} x {r}"
                      for r, k in readings.value_counts().items()]
        lines.append(f"  outputs: {self.out}")
        if "report" in self.files:
            lines.append(f"  case report: {self.files['report']}")
        return "\n".join(lines)


def planned_bytes(scale: float, table: pd.DataFrame | None = None) -> int:
    """Bytes :func:`build` writes at ``scale``: three PLYs a generation (raw, submitted and
    the validator's decode), headers aside.

    Example:
        >>> round(planned_bytes(1.0) / 1e9, 2)     # GB at full size
        2.47
    """
    table = manifest() if table is None else table
    rows = sum(scaled_count(int(c), scale) for c in table["count"])
    return rows * (len(trellis.PROPERTIES) * 4 * 2 + 14 * 4)  # validator files: no normals


REPORTED = ("g01", "g12", "g18", "g19", "g02")
"""Generations in the run's case report: the write-up's four rows and one success."""


def run(out: str | os.PathLike = "splatlab-out", scale: float = 0.05, *,
        report: bool = True) -> RunResult:
    """The incident end to end: build, scan, diagnose, gate, reproduce, summarise.

    Writes ``data/`` (raw, submitted and validator-decoded PLYs), ``scan.csv``,
    ``verdicts.csv``, ``evidence.csv``, ``reproduction.csv``, ``h1_world.csv``,
    ``diagnose.csv``, ``rates.csv``, ``summary.json`` and (``report=True``) ``report.html``,
    the case report of the submitted files of :data:`REPORTED`, under ``out``.

    Example:
        >>> import tempfile
        >>> result = run(tempfile.mkdtemp(), scale=0.001, report=False)
        >>> result.tables["verdicts"]["gate"].value_counts().to_dict()
        {'pass': 12, 'reject': 9}
    """
    start = time.perf_counter()
    out = Path(out)
    built = build(out / "data", scale, overwrite=True)
    scanned = scan(list(built["submitted"]))
    tables = {
        "scan": scanned,
        "verdicts": verdicts(scanned),
        "evidence": evidence([*built["raw"], *built["submitted"]]),
        "reproduction": reproduce(),
        "h1_world": h1_world_contrast(),
        "diagnose": pd.DataFrame([{"file": Path(p).stem, "codes": " ".join(diagnose(load(p)).codes)}
                                  for p in built["submitted"]]).set_index("file"),
        "rates": rates(),
    }
    result = RunResult(out, tables)
    for name, frame in tables.items():
        result.files[name] = out / f"{name}.csv"
        frame.to_csv(result.files[name])
    if report:
        from ..viz.report import report as write_report

        result.files["report"] = write_report(
            [built.loc[gen, "submitted"] for gen in REPORTED if gen in built.index],
            out / "report.html", title="The Phase-3 opacity incident: submitted files")
    result.seconds = time.perf_counter() - start
    summary = {"scale": scale, "seconds": result.seconds, "text": result.summary(),
               "files": {k: str(v) for k, v in result.files.items()}}
    result.files["summary"] = out / "summary.json"
    result.files["summary"].write_text(json.dumps(summary, indent=2))
    return result


__all__ = ["CEILING", "FLOOR", "MANIFEST_COLUMNS", "PRINTED_DECIMALS", "RATIO_THRESHOLD",
           "REPORTED", "RunResult", "build", "crosstab", "planned_bytes", "documented", "evidence",
           "generation", "h1_opacity", "h1_world_contrast", "h2_opacity", "h2_shares", "manifest",
           "matches", "raw_scales", "rates", "reading", "reproduce", "run", "scaled_count",
           "two_point_std", "verdicts"]
