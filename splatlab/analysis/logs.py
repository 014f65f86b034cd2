"""Parse miner and generation-worker logs into tidy tables, with honest rates.

Replaces the incident write-up's ``tail | grep | awk`` pipelines, which counted each corrupted
generation twice (both its "detected" and its "FIXED" line match ``/UNIFORM/``), counted the
repeats of overlapping ``tail`` snapshots, and gave rates without intervals.  Two kinds of line
are read:

- the opacity fixer's (``ply_fixer``) lines: ``UNIFORM opacity corruption detected: std=0.003``,
  ``UNIFORM opacity FIXED: std 0.003 → 2.047``, ``No opacity corruption detected (354,400
  gaussians)``, plus the continuation lines of a detection block (``All N gaussians have nearly
  identical opacity``, ``avg_opacity: X, This creates invisible models!``, ``Adding Gaussian
  noise ...``, ``New range: [lo, hi]``, ``New avg: X``);
- the miner's validator feedback: ``Feedback from [UID]: Score=S, AvgScore=A, ELO=E, Reward=R,
  Observations=N``.

Messages are found anywhere in a line, so loguru prefixes (``2025-11-04 21:01:04.123 | WARNING
| module:function:42 - ...``), pm2 prefixes (``0|gen-wor | 2025-11-04T21:01:04: ...``), emoji and
their mojibake (``âš ï¸``) do not matter; ANSI escape codes are stripped first.  The event time
is the last timestamp before the message; a timezone-aware time is converted to naive UTC, a
naive one is kept as written.

Choices worth knowing:

- **Duplicates.** Overlapping ``tail`` snapshots repeat events.  An event is counted once per
  (timestamp, normalised text), across all files of one parse; the normalised text is the event
  kind and its parsed values, so emoji, prefixes and arrow spelling do not matter.  Lines without
  a timestamp are never deduplicated: two identical untimed lines may be two real events, and
  dropping one would silently undercount.  Timed repeats are counted in ``duplicates``.
- **Continuation lines** attach only to the event directly above them (blank lines and other
  continuation lines may sit between); one with no such event is counted in ``skipped``.
- **Skipped lines** are non-blank lines that yield nothing: unrelated log output, garbled or
  truncated feedback (all five fields are required), orphan continuation lines.
- **Success** is ``score > 0``, as in the write-up; pass ``success_above=0.6`` to use the
  validator's own failure threshold instead.

Example:
    >>> tables = parse_lines([
    ...     "2025-11-04 22:10:00 | INFO | miner:fb:7 - Feedback from [27]: Score=0.0, "
    ...     "AvgScore=0.41, ELO=1012, Reward=0.0, Observations=40",
    ...     "No opacity corruption detected (354,400 gaussians)",
    ... ])
    >>> len(tables.feedback), tables.fixer["gaussians"].tolist()
    (1, [354400.0])
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from os import PathLike
from statistics import NormalDist
from typing import Any

import pandas as pd

__all__ = [
    "LogTables",
    "format_summary",
    "parse_files",
    "parse_lines",
    "parse_time",
    "rates_by_validator",
    "rates_by_window",
    "summarize",
    "wilson_interval",
]

TimeLike = str | datetime

_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: titles, hyperlinks
    r"|\x1b[@-Z\\-_]"  # other two-byte escapes
    r"|\^\[\[[0-9;]*m"  # colour codes whose ESC was rendered as "^["
)
_NUM = (
    r"[-+]?(?:(?:\d{1,3}(?:[,_]\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
    r"|[-+]?(?i:nan|inf(?:inity)?)\b"
)
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}\b)?"
)
_FEEDBACK = re.compile(
    r"Feedback from\s*\[?\s*(?:UID\s*[:=#]?\s*)?(?P<uid>\d{1,9})\s*\]?\s*:(?P<body>.*)",
    re.IGNORECASE,
)
_FIELD = re.compile(rf"(?P<key>[A-Za-z_]+)\s*=\s*(?P<value>{_NUM})")
_FEEDBACK_FIELDS = {
    "score": "score",
    "avgscore": "avg_score",
    "elo": "elo",
    "reward": "reward",
    "observations": "observations",
}

_LINE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("fixed", rf"UNIFORM opacity FIXED:?\s*std\s*[=:]?\s*(?P<std_before>{_NUM})\s*"
                  rf"(?:-+>|[^\d\s+\-.,]{{1,6}})\s*(?P<std_after>{_NUM})"),  # arrow: → -> â†’
        ("detected", rf"UNIFORM opacity corruption detected:?\s*std\s*[=:]\s*"
                     rf"(?P<std_before>{_NUM})"),
        ("clean", rf"No opacity corruption detected"
                  rf"(?:\s*\(\s*(?P<gaussians>{_NUM})\s*gaussians?)?"),
        ("all_gaussians", rf"All\s+(?P<gaussians>{_NUM})\s+gaussians have nearly identical"),
        ("avg_opacity", rf"avg_opacity:\s*(?P<avg_opacity>{_NUM})\s*,\s*This creates invisible"),
        ("noise", r"Adding Gaussian noise to restore opacity"),
        ("new_range", rf"New range:\s*\[\s*(?P<new_min>{_NUM})\s*,\s*(?P<new_max>{_NUM})\s*\]"),
        ("new_avg", rf"New avg:\s*(?P<new_avg>{_NUM})"),
    )
)
_CONTINUES = {
    "all_gaussians": "detected",
    "avg_opacity": "detected",
    "noise": "detected",
    "new_range": "fixed",
    "new_avg": "fixed",
}

_FEEDBACK_DTYPES = {
    "time": "datetime64[ns]",
    "uid": "int64",
    "score": "float64",
    "avg_score": "float64",
    "elo": "float64",
    "reward": "float64",
    "observations": "float64",
    "source": "object",
    "line": "int64",
}
_FIXER_DTYPES = {
    "time": "datetime64[ns]",
    "kind": "object",
    "std_before": "float64",
    "std_after": "float64",
    "gaussians": "float64",
    "avg_opacity": "float64",
    "new_min": "float64",
    "new_max": "float64",
    "new_avg": "float64",
    "source": "object",
    "line": "int64",
}
_RATE_COLUMNS = ["n", "successes", "rate", "low", "high", "mean_score"]


@dataclass(frozen=True)
class LogTables:
    """Parsed log events.

    ``feedback``: one row a validator feedback (time, uid, score, avg_score, elo, reward,
    observations, source, line).  ``fixer``: one row a fixer event, ``kind`` one of
    ``"detected"``, ``"fixed"``, ``"clean"`` (time, kind, std_before, std_after, gaussians,
    avg_opacity, new_min, new_max, new_avg, source, line).  ``skipped``: non-blank lines that
    yielded nothing.  ``duplicates``: timed repeats dropped.  ``line`` is 1-based in ``source``.

    Example:
        >>> parse_lines(["UNIFORM opacity FIXED: std 0.003 -> 2.047"]).fixer["std_after"].tolist()
        [2.047]
    """

    feedback: pd.DataFrame
    fixer: pd.DataFrame
    skipped: int = 0
    duplicates: int = 0


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``successes / trials``.

    With no trials nothing is known and the whole range ``(0.0, 1.0)`` is returned.

    Example:
        >>> low, high = wilson_interval(4, 21)
        >>> round(low, 3), round(high, 3)
        (0.077, 0.4)
    """
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    if trials == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    p = successes / trials
    shrink = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / shrink
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / shrink
    low = 0.0 if successes == 0 else centre - half  # exact ends, free of rounding error
    high = 1.0 if successes == trials else centre + half
    return low, high


def parse_time(value: TimeLike) -> pd.Timestamp:
    """Parse an ISO-like time to a naive timestamp (aware times are converted to UTC).

    Example:
        >>> parse_time("2025-11-04 22:00")
        Timestamp('2025-11-04 22:00:00')
    """
    stamp = pd.Timestamp(value.replace(",", ".") if isinstance(value, str) else value)
    if pd.isna(stamp):
        raise ValueError(f"not a time: {value!r}")
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp


def parse_lines(lines: Iterable[str], source: str = "<lines>") -> LogTables:
    """Parse log lines (ANSI codes, prefixes and emoji allowed) into :class:`LogTables`.

    A single string is split into lines first.

    Example:
        >>> lines = ["0|gen-wor | 2025-11-04T21:01:04: Feedback from [UID 42]: Score=0.71, "
        ...          "AvgScore=0.5, ELO=1204, Reward=1.2e-3, Observations=17"] * 2
        >>> tables = parse_lines(lines)
        >>> tables.feedback["uid"].tolist(), tables.duplicates
        ([42], 1)
    """
    collector = _Collector()
    collector.feed(lines.splitlines() if isinstance(lines, str) else lines, source)
    return collector.tables()


def parse_files(paths: Iterable[str | PathLike[str]]) -> LogTables:
    """Parse log files, deduplicating repeats across them; undecodable bytes become U+FFFD.

    Raises ``OSError`` (with ``filename`` set) for a missing or unreadable file.

    Example:
        >>> from splatlab import data
        >>> tables = parse_files([data.path("gen-worker-1-error.log"), data.path("miner-out.log")])
        >>> len(tables.feedback), int((tables.fixer["kind"] == "detected").sum())
        (31, 4)
    """
    collector = _Collector()
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as handle:
            collector.feed(handle, str(path))
    return collector.tables()


class _Collector:
    """Accumulates events over several sources, remembering timed events already seen."""

    def __init__(self) -> None:
        self.feedback: list[dict[str, Any]] = []
        self.fixer: list[dict[str, Any]] = []
        self.skipped = 0
        self.duplicates = 0
        self._seen: set[tuple[pd.Timestamp, str]] = set()

    def feed(self, lines: Iterable[str], source: str) -> None:
        block: dict[str, Any] | None = None  # the event that continuation lines attach to
        for number, raw in enumerate(lines, start=1):
            block = self._feed_line(_ANSI.sub("", raw), source, number, block)

    def _feed_line(
        self, text: str, source: str, number: int, block: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """Record one line; return the event later continuation lines attach to."""
        if not text.strip():
            return block
        parsed = _match_message(text)
        if parsed is None:
            self.skipped += 1
            return None
        start, kind, fields = parsed
        time = _time_before(text, start)
        if self._is_repeat(time, kind, fields):
            self.duplicates += 1
            return block if kind in _CONTINUES else None
        if kind in _CONTINUES:
            return self._attach(block, kind, fields)
        row = {"time": time, **fields, "source": source, "line": number}
        if kind == "feedback":
            self.feedback.append(row)
            return None
        row["kind"] = kind
        self.fixer.append(row)
        return row

    def _is_repeat(self, time: pd.Timestamp, kind: str, fields: dict[str, float]) -> bool:
        if pd.isna(time):
            return False
        key = (time, f"{kind} " + " ".join(f"{k}={v!r}" for k, v in sorted(fields.items())))
        if key in self._seen:
            return True
        self._seen.add(key)
        return False

    def _attach(
        self, block: dict[str, Any] | None, kind: str, fields: dict[str, float]
    ) -> dict[str, Any] | None:
        if block is None or block["kind"] != _CONTINUES[kind] or fields.keys() & block.keys():
            self.skipped += 1
            return None
        block.update(fields)
        return block

    def tables(self) -> LogTables:
        return LogTables(
            feedback=_frame(self.feedback, _FEEDBACK_DTYPES),
            fixer=_frame(self.fixer, _FIXER_DTYPES),
            skipped=self.skipped,
            duplicates=self.duplicates,
        )


def _match_message(text: str) -> tuple[int, str, dict[str, float]] | None:
    """Find a known message in ``text``: (where it starts, its kind, its numeric fields)."""
    feedback = _FEEDBACK.search(text)
    if feedback:
        fields = _feedback_fields(feedback)
        return None if fields is None else (feedback.start(), "feedback", fields)
    for kind, pattern in _LINE_PATTERNS:
        found = pattern.search(text)
        if found:
            values = {k: _number(v) for k, v in found.groupdict().items() if v is not None}
            return found.start(), kind, values
    return None


def _feedback_fields(found: re.Match[str]) -> dict[str, float] | None:
    """The five feedback values (and uid), or None when any is missing or unreadable."""
    fields: dict[str, Any] = {"uid": int(found["uid"])}
    for item in _FIELD.finditer(found["body"]):
        column = _FEEDBACK_FIELDS.get(item["key"].lower())
        if column is not None:
            fields.setdefault(column, _number(item["value"]))
    return fields if len(fields) == len(_FEEDBACK_FIELDS) + 1 else None


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("_", ""))


def _time_before(text: str, end: int) -> pd.Timestamp:
    """The last timestamp in ``text[:end]`` (NaT when there is none or it is not a real time)."""
    stamps = _TIMESTAMP.findall(text, 0, end)
    if not stamps:
        return pd.NaT
    try:
        return parse_time(stamps[-1])
    except ValueError:
        return pd.NaT


def _frame(rows: list[dict[str, Any]], dtypes: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(dtypes)).astype(dtypes)


def _between(frame: pd.DataFrame, since: TimeLike | None, until: TimeLike | None) -> pd.DataFrame:
    """Rows with ``since <= time < until``; with either bound, untimed rows are dropped."""
    keep = pd.Series(True, index=frame.index)
    if since is not None:
        keep &= frame["time"] >= parse_time(since)
    if until is not None:
        keep &= frame["time"] < parse_time(until)
    return frame[keep]


def _rates(feedback: pd.DataFrame, by: pd.Series | str, success_above: float) -> pd.DataFrame:
    """n, successes, rate, Wilson 95 % bounds and mean score per group of ``by``."""
    groups = feedback.assign(success=feedback["score"] > success_above).groupby(by)
    table = groups.agg(
        n=("score", "size"), successes=("success", "sum"), mean_score=("score", "mean")
    )
    table["rate"] = table["successes"] / table["n"]
    bounds = [wilson_interval(k, n) for k, n in zip(table["successes"], table["n"], strict=True)]
    table["low"] = [low for low, _ in bounds]
    table["high"] = [high for _, high in bounds]
    return table.astype({"rate": "float64", "low": "float64", "high": "float64"})[_RATE_COLUMNS]


def rates_by_validator(tables: LogTables, success_above: float = 0.0) -> pd.DataFrame:
    """Success counts and rates per validator uid (index ``uid``), with Wilson 95 % bounds.

    Example:
        >>> from splatlab import data
        >>> tables = parse_files([data.path("miner-out.log")])
        >>> rates_by_validator(tables).loc[27, ["n", "successes"]].tolist()
        [12, 0]
    """
    return _rates(tables.feedback, "uid", success_above)


def rates_by_window(
    tables: LogTables, window: str = "1h", success_above: float = 0.0
) -> pd.DataFrame:
    """Success counts and rates per time window (index ``window_start``); untimed rows dropped.

    ``window`` is a pandas frequency such as ``"1h"`` or ``"30min"``; empty windows are omitted.

    Example:
        >>> from splatlab import data
        >>> tables = parse_files([data.path("miner-out.log")])
        >>> rates_by_window(tables, "1h")["rate"].round(3).tolist()
        [0.429, 0.5]
    """
    timed = tables.feedback.dropna(subset=["time"])
    start = timed["time"].dt.floor(window).rename("window_start")
    return _rates(timed, start, success_above)


def summarize(
    tables: LogTables,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    window: str | None = None,
    success_above: float = 0.0,
) -> dict[str, Any]:
    """Counts, rates and Wilson 95 % intervals of the events with ``since <= time < until``.

    Rates over no events are NaN and their interval ``(0.0, 1.0)``.  ``by_validator`` (and
    ``by_window`` when ``window`` is given) hold the breakdown tables as lists of records.
    ``skipped_lines`` and ``duplicate_lines`` describe the whole parse, not the time range.

    Example:
        >>> from splatlab import data
        >>> tables = parse_files([data.path("miner-out.log")])
        >>> summary = summarize(tables, since="2025-11-04 22:00")
        >>> summary["successes"], summary["feedback_events"]
        (5, 10)
    """
    chosen = replace(
        tables,
        feedback=_between(tables.feedback, since, until),
        fixer=_between(tables.fixer, since, until),
    )
    n = len(chosen.feedback)
    successes = int((chosen.feedback["score"] > success_above).sum())
    kinds = chosen.fixer["kind"].value_counts()
    detected, clean = int(kinds.get("detected", 0)), int(kinds.get("clean", 0))
    summary: dict[str, Any] = {
        "since": None if since is None else parse_time(since).isoformat(),
        "until": None if until is None else parse_time(until).isoformat(),
        "success_above": success_above,
        "feedback_events": n,
        "successes": successes,
        "success_rate": _ratio(successes, n),
        "success_interval": wilson_interval(successes, n),
        "validators": int(chosen.feedback["uid"].nunique()),
        "corruption_detected": detected,
        "corruption_fixed": int(kinds.get("fixed", 0)),
        "clean": clean,
        "corruption_rate": _ratio(detected, detected + clean),
        "corruption_interval": wilson_interval(detected, detected + clean),
        "skipped_lines": chosen.skipped,
        "duplicate_lines": chosen.duplicates,
        "by_validator": _records(rates_by_validator(chosen, success_above)),
    }
    if window is not None:
        summary["window"] = window
        summary["by_window"] = _records(rates_by_window(chosen, window, success_above))
    return summary


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else math.nan


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return table.reset_index().to_dict("records")


def format_summary(summary: dict[str, Any]) -> str:
    """Human-readable report of a :func:`summarize` result (replaces the grep/awk pipelines).

    Example:
        >>> from splatlab import data
        >>> tables = parse_files([data.path("miner-out.log")])
        >>> print(format_summary(summarize(tables)))  # doctest: +ELLIPSIS
        Validator feedback: 31 events from 3 validators
          successes (score > 0): 14/31 = 45.2%, 95% Wilson CI ...
        ...
    """
    detected, clean = summary["corruption_detected"], summary["clean"]
    lines = [
        f"Validator feedback: {summary['feedback_events']} events"
        f" from {summary['validators']} validators",
        f"  successes (score > {summary['success_above']:g}): "
        + _rate_text(summary["successes"], summary["feedback_events"], summary["success_interval"]),
        f"Opacity fixer: {detected} uniform-opacity detections, "
        f"{summary['corruption_fixed']} fixed, {clean} clean",
        "  corruption rate: "
        + _rate_text(detected, detected + clean, summary["corruption_interval"]),
        f"Lines: {summary['duplicate_lines']} repeats dropped, "
        f"{summary['skipped_lines']} skipped (unrecognised)",
    ]
    if summary["since"] or summary["until"]:
        lines.append(f"Time range: {summary['since'] or 'start'} to {summary['until'] or 'end'}")
    lines += _breakdown("Per validator", summary["by_validator"], "uid")
    if "by_window" in summary:
        lines += _breakdown(f"Per {summary['window']} window", summary["by_window"], "window_start")
    return "\n".join(lines)


def _rate_text(part: int, whole: int, interval: tuple[float, float]) -> str:
    if not whole:
        return "0/0 (no events)"
    low, high = interval
    return f"{part}/{whole} = {part / whole:.1%}, 95% Wilson CI {low:.1%}-{high:.1%}"


def _breakdown(title: str, records: list[dict[str, Any]], key: str) -> list[str]:
    if not records:
        return []
    table = pd.DataFrame(
        {
            key: [str(row[key]) for row in records],
            "n": [row["n"] for row in records],
            "successes": [row["successes"] for row in records],
            "rate": [f"{row['rate']:.1%}" for row in records],
            "95% CI": [f"{row['low']:.1%}-{row['high']:.1%}" for row in records],
            "mean score": [f"{row['mean_score']:.3f}" for row in records],
        }
    )
    return ["", f"{title}:", table.to_string(index=False)]
