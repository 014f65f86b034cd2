"""Validator input gates: the checks a validator runs before it renders a file.

``gate(splat, rules="sn17")`` evaluates the subnet-17 gate (``shared/FACTS.md``
section 2) on what the validator's loader makes of the file it *receives*: by default
(``path="submission"``) the file after the SPZ submission path (compress, then
decompress: :func:`splatlab.submission.spz_roundtrip`), which is what a validator
really judges; ``path="as-is"`` judges the file itself. A file the path refuses gets
the verdict "cannot be submitted" with the reasons. A submission-path result carries
the as-is result too (``result.as_is``), and shows both where they differ. Each check
carries its measured value, threshold and verdict. Other validators' gates go into
:data:`RULES` beside it.

Two sn17 checks cannot fire as written (the centroid test compares rows 0-2 with a
column of ones; the scale test reduces every scale to one boolean and divides by
the count). They are reported as such; ``intended=True`` evaluates what they
evidently meant instead, under these assumptions:

* centroid (intended): the column of each axis is compared with ones, as the
  ``(N, 1)`` checker shows was meant: the file is rejected when every coordinate of
  one axis is 1 (``allclose``, rtol 1e-5, atol 1e-8);
* scales (intended): per gaussian, all three activated scales below
  ``INTENDED_SCALE_EPS`` = 1e-4, rejected above 80 %. The written epsilon 0.05 cannot
  be what was meant: per gaussian it would reject the validator's own test asset
  (hamburger.ply: 99.0 % of gaussians have all scales < 0.05).

Example:
    >>> from splatlab import data
    >>> result = gate(data.trellis_like())
    >>> result.passed, result.to_frame()["verdict"].tolist()
    (True, ['pass', 'cannot fire as written', 'pass', 'pass', 'cannot fire as written'])
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from ..core.display import html_table, text_table
from ..core.fields import missing_properties
from ..core.floats import values_as_data
from ..core.jsonsafe import json_safe
from ..core.splat import BlockMemo, Splat
from ..world import sn17
from ..world.sn17 import INTENDED_SCALE_EPS, ValidatorData, validator_load
from ..world.submission import remembered_roundtrips, spz_roundtrip, submission_problems

CANNOT_FIRE = "cannot fire as written"
CANNOT_SUBMIT = "cannot be submitted"
SUBMISSION, AS_IS = "submission", "as-is"
PATHS = (SUBMISSION, AS_IS)
"""Where a gate looks: what the validator receives through SPZ, or the file itself."""
_LIMIT = 100.0 * sn17.MAX_INVISIBLE_SHARE
"""The gate's share limits in percent, as the checks report them."""


@dataclass(frozen=True)
class GateCheck:
    """One check of a gate: what was measured, against what, and the verdict.

    ``rejects`` is True when this check rejects the file. ``verdict`` is ``"pass"``,
    ``"reject"``, ``"cannot fire as written"`` (a check that did not fire and, as
    written, practically never can) or ``"cannot be submitted"`` (the ``submission``
    check: the SPZ path refuses the file; its note gives the reasons).
    """

    name: str
    description: str
    measured: float
    threshold: float
    rejects: bool
    verdict: str
    note: str = ""


@dataclass(frozen=True)
class GateResult:
    """The outcome of a gate: every check and the overall verdict.

    ``path`` says what was judged: ``"submission"`` (what the validator receives
    through SPZ) or ``"as-is"`` (the file itself); a submission result holds the as-is
    result in ``as_is``.

    Example:
        >>> from splatlab import synth
        >>> result = gate(synth.trellis(7040))
        >>> result.passed, result.path, result.as_is.passed
        (True, 'submission', True)
    """

    rules: str
    version: str
    intended: bool
    checks: tuple[GateCheck, ...]
    source: str | None = None
    path: str = AS_IS
    as_is: GateResult | None = None

    @property
    def passed(self) -> bool:
        """True when no check rejects the file."""
        return not any(c.rejects for c in self.checks)

    @property
    def failed(self) -> list[str]:
        """Names of the checks that reject the file."""
        return [c.name for c in self.checks if c.rejects]

    @property
    def refused(self) -> list[str]:
        """Why the submission path refuses the file (empty when it goes through)."""
        return [reason for c in self.checks if c.verdict == CANNOT_SUBMIT
                for reason in c.note.split("; ")]

    @property
    def verdict(self) -> str:
        """``"pass"``, ``"reject"`` or ``"cannot be submitted"``."""
        return CANNOT_SUBMIT if self.refused else "pass" if self.passed else "reject"

    @property
    def differs(self) -> bool:
        """True when the as-is file would get another verdict or other measurements."""
        if self.as_is is None:
            return False
        mine = {c.name: (c.measured, c.verdict) for c in self.checks}
        theirs = {c.name: (c.measured, c.verdict) for c in self.as_is.checks}
        return mine != theirs

    def to_frame(self) -> pd.DataFrame:
        """One row a check: description, measured, threshold, verdict, note; with the
        as-is ``measured_as_is`` and ``verdict_as_is`` beside them for a submission result.
        """
        frame = pd.DataFrame([asdict(c) for c in self.checks]).set_index("name")
        if self.as_is is not None:
            other = pd.DataFrame([asdict(c) for c in self.as_is.checks]).set_index("name")
            frame = frame.join(other[["measured", "verdict"]].add_suffix("_as_is"), how="outer")
            frame = frame.reindex([*dict.fromkeys([*(c.name for c in self.checks),
                                                   *(c.name for c in self.as_is.checks)])])
        return frame

    def to_dict(self) -> dict:
        out = {"rules": self.rules, "version": self.version, "intended": self.intended,
               "source": self.source, "path": self.path, "verdict": self.verdict,
               "passed": self.passed, "checks": [asdict(c) for c in self.checks]}
        if self.as_is is not None:
            out["as_is"] = self.as_is.to_dict()
        return out

    def to_json(self, **kwargs) -> str:
        return json.dumps(json_safe(self.to_dict()), **kwargs)

    def __repr__(self) -> str:
        columns = ["name", "verdict", "measured", "threshold", *self._as_is_columns()]
        rows = self.to_frame().reset_index()[columns].to_dict("records")
        return (f"<GateResult {self.rules} {self.version} ({self.path}): {self._verdicts()}>\n"
                + text_table(rows, _FORMATS, indent="  "))

    def _repr_html_(self) -> str:
        where = "as the validator receives it" if self.path == SUBMISSION else "the file as it is"
        verdict = self.verdict.upper()
        if self.verdict == "reject":
            verdict += " (" + ", ".join(self.failed) + ")"
        caption = [f"{self.rules} gate {self.version}{' (intended)' if self.intended else ''},"
                   f" {where}: ", verdict]
        if self._as_is_columns():
            caption += ["; as-is: ", self.as_is.verdict.upper()]
        columns = ["name", "description", "measured", "threshold", "verdict",
                   *self._as_is_columns(), "note"]
        frame = self.to_frame().reset_index()[columns].rename(columns=_HTML_HEADERS)
        return html_table(frame.to_dict("records"), caption, _FORMATS, _verdict_styles())

    def _verdicts(self) -> str:
        """The verdict in capitals (with ``(intended checks)``), and as-is when it differs."""
        text = f"{self.verdict.upper()}{' (intended checks)' if self.intended else ''}"
        return text + (f"; as-is: {self.as_is.verdict.upper()}" if self.differs else "")

    def _as_is_columns(self) -> list[str]:
        """The as-is columns of :meth:`to_frame` worth showing: when the verdicts differ."""
        return ["measured_as_is", "verdict_as_is"] if self.differs else []


_FORMATS = {"measured": "{:.6g}", "threshold": "{:.6g}", "measured_as_is": "{:.6g}",
            "measured as-is": "{:.6g}"}
_HTML_HEADERS = {"name": "check", "description": "rejects when",
                 "measured_as_is": "measured as-is", "verdict_as_is": "verdict as-is"}


def _verdict_styles() -> dict:
    """CSS of verdict cells: green pass, red reject or refusal, grey a check that cannot fire."""
    colour = {"pass": "#2e7d32", "reject": "#c62828", CANNOT_FIRE: "#757575",
              CANNOT_SUBMIT: "#c62828"}

    def style(verdict: object) -> str:
        return f"color:{colour.get(verdict, 'inherit')}"
    return {"verdict": style, "verdict as-is": style}


def _check(name: str, description: str, measured: float, threshold: float, rejects: bool,
           note: str = "", as_written_dead: bool = False) -> GateCheck:
    verdict = "reject" if rejects else (CANNOT_FIRE if as_written_dead else "pass")
    return GateCheck(name, description, float(measured), float(threshold), bool(rejects),
                     verdict, note)


def _sn17(data: ValidatorData, intended: bool) -> list[GateCheck]:
    n = data.count
    checks = [_check("count", f"fewer than {sn17.MIN_COUNT:,} gaussians", n, sn17.MIN_COUNT,
                     n < sn17.MIN_COUNT)]
    if intended:
        hits = [i for i in range(3) if n and np.allclose(data.means[:, i], 1.0)]
        checks.append(_check(
            "centroid", "every coordinate of one axis equals 1 (intended: per-axis column test)",
            len(hits), 1, bool(hits), "assumption: the (N, 1) checker was meant for a column"))
    else:
        hits = [i for i in range(min(3, n)) if np.allclose(data.means[i], 1.0)]
        checks.append(_check(
            "centroid", "one of points[0..2] (a row) equals (1, 1, 1)", len(hits), 1, bool(hits),
            "as written it compares one row with a column of ones", as_written_dead=True))
    low = int(np.sum(sn17.invisible(data.opacities)))
    share = 100.0 * low / n if n else 0.0
    checks.append(_check("opacity", f"over {_LIMIT:g} % of gaussians with sigmoid(opacity) <"
                         f" {sn17.INVISIBLE_ALPHA:g}", share, _LIMIT, share > _LIMIT,
                         "measured in percent"))
    identity = n > 0 and bool(np.allclose(data.quats, np.array([1.0, 0.0, 0.0, 0.0])))
    checks.append(_check("rotation", "every rotation equals (1, 0, 0, 0) after normalising",
                         float(identity), 1, identity))
    if intended:
        tiny = int(np.sum(np.all(data.scales < INTENDED_SCALE_EPS, axis=1)))
        share = 100.0 * tiny / n if n else 0.0
        checks.append(_check(
            "scales", f"over {_LIMIT:g} % of gaussians with all scales < {INTENDED_SCALE_EPS:g}"
            " (intended: per-gaussian test)", share, _LIMIT, share > _LIMIT,
            f"assumption: epsilon {INTENDED_SCALE_EPS:g}, not the written"
            f" {sn17.WRITTEN_SCALE_EPS:g}; in percent"))
    else:
        all_small = bool(np.all(data.scales < sn17.WRITTEN_SCALE_EPS))
        share = 100.0 * all_small / n if n else 0.0
        checks.append(_check(
            "scales", f"100 * all(scales < {sn17.WRITTEN_SCALE_EPS:g}) / count > {_LIMIT:g}"
            " (one boolean for the whole file)", share, _LIMIT, share > _LIMIT,
            "as written it can only fire for a single gaussian", as_written_dead=True))
    return checks


@dataclass(frozen=True)
class RuleSet:
    """A validator's gate: name, version, a description and the check function."""

    name: str
    version: str
    description: str
    checks: Callable[[ValidatorData, bool], list[GateCheck]]


RULES: dict[str, RuleSet] = {
    "sn17": RuleSet("sn17", sn17.GATE_VERSION,
                    "404-Repo three-gen-subnet validator, is_input_data_valid"
                    " (gs_data_checker_utils.py), GPU-memory check left out", _sn17),
}
"""Known gates by key. Add a new validator's gate as a new key; never change a released one."""


_RESULTS = BlockMemo("gates")


@contextmanager
def remembered() -> Iterator[None]:
    """Inside the block, :func:`gate` of one Splat (one object) with the same arguments is
    computed once, and so is its SPZ round trip: a scan's row and its findings
    (:func:`splatlab.diagnose` gates the file too) share them.

    Example:
        >>> from splatlab import data
        >>> s = data.trellis_like()
        >>> with remembered():
        ...     gate(s) is gate(s)
        True
    """
    with _RESULTS.block(), remembered_roundtrips():
        yield


def gate(splat: Splat, rules: str = "sn17", *, intended: bool = False,
         path: str = SUBMISSION) -> GateResult:
    """Judge ``splat`` as a validator's input gate would, check by check.

    ``path="submission"`` (the default) judges what the validator receives: the file
    after the SPZ submission path; a file the path refuses fails one ``submission``
    check ("cannot be submitted", the reasons in its note). ``path="as-is"`` judges the
    file itself. A file the validator's loader cannot read (a 3DGS property missing)
    fails a ``load`` check and no other check runs.

    Example:
        >>> from splatlab import synth
        >>> noise = np.random.default_rng(0).normal(0, 2, 70_400).astype(np.float32)
        >>> noisy = synth.trellis(70_400, opacity=np.float32(-9.2102) + noise)  # the noise fix
        >>> [round(gate(noisy, path=p).checks[2].measured, 1) for p in PATHS]
        [93.2, 87.6]
    """
    return _RESULTS(splat, ("gates.gate", rules, intended, path),
                    lambda: _gate(splat, rules, intended, path))


@values_as_data
def _gate(splat: Splat, rules: str, intended: bool, path: str) -> GateResult:
    if rules not in RULES:
        raise ValueError(f"unknown gate rules {rules!r}; known: {', '.join(RULES)}")
    if path not in PATHS:
        raise ValueError(f"unknown gate path {path!r}; known: {', '.join(PATHS)}")
    rule = RULES[rules]
    source = str(splat.source) if splat.source else None
    as_is = _judge(splat, rule, intended, source)
    if path == AS_IS:
        return as_is
    problems = submission_problems(splat)
    if problems:
        check = GateCheck("submission", "the SPZ submission path refuses the file",
                          float(len(problems)), 0.0, True, CANNOT_SUBMIT, "; ".join(problems))
        return GateResult(rule.name, rule.version, intended, (check,), source, SUBMISSION, as_is)
    received = _judge(spz_roundtrip(splat), rule, intended, source)
    return replace(received, path=SUBMISSION, as_is=as_is)


def _judge(splat: Splat, rule: RuleSet, intended: bool, source: str | None) -> GateResult:
    missing = missing_properties(splat.properties)
    if missing:
        check = _check("load", "a 3DGS property the loader reads is missing", len(missing), 1,
                       True, "missing: " + ", ".join(missing))
        return GateResult(rule.name, rule.version, intended, (check,), source)
    checks = rule.checks(validator_load(splat), intended)
    return GateResult(rule.name, rule.version, intended, tuple(checks), source)


__all__ = ["AS_IS", "CANNOT_FIRE", "CANNOT_SUBMIT", "INTENDED_SCALE_EPS", "PATHS", "RULES",
           "SUBMISSION", "GateCheck", "GateResult", "RuleSet", "gate", "remembered"]
