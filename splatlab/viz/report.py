"""A case report a person can open: one self-contained HTML file about one or more 3DGS files.

For each file: its format and layout, whether the submission path accepts it, the sn17 gate
on both paths (as the validator receives the file, and as it is), the findings explained in
words, the statistics of the fields that matter, histograms of opacity and scales, and the
validator rig's renders of what the validator decodes. Several files are compared side by
side in a summary table first. Figures are inlined as PNG (``data:`` URLs): the file needs
nothing beside it and no network.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from splatlab import data
    >>> out = report([data.path("trellis.ply"), data.path("corrupted.ply")],
    ...              Path(tempfile.mkdtemp()) / "case.html", views=1, resolution=32)
    >>> text = out.read_text()
    >>> text.count("<section"), "cannot be submitted" in text, "data:image/png;base64," in text
    (2, False, True)
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .._version import __version__
from ..analysis.diagnosis import CODES, Report, diagnose
from ..analysis.gates import GateResult, gate
from ..analysis.statistics import stats
from ..core.io import load
from ..core.ply import atomic_write
from ..core.progress import progress
from ..core.splat import Splat
from ..rendering.cameras import validator_rig
from ..rendering.rasterizer import render
from ..world.submission import spz_roundtrip, submission_problems
from .plots import histogram, render_grid

FIELDS = ("opacity", "alpha", "scale_0", "scale_1", "scale_2")
"""The fields whose statistics and histograms a report shows."""
STATS_COLUMNS = ("finite", "nan", "posinf", "neginf", "mean", "std", "min", "p50", "max",
                 "mode_share")

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f4f4f4; } td.text, th.text { text-align: left; }
caption { text-align: left; font-weight: 600; padding: 0.3em 0; }
.pass { color: #2e7d32; } .reject, .refused { color: #c62828; font-weight: 600; }
img { max-width: 100%; } .note { color: #555; font-size: 0.9em; }
.figures3 img { width: 32%; margin-right: 1%; }
"""


def report(files: Sequence[str | os.PathLike | Splat], out: str | os.PathLike, *,
           title: str = "splatlab case report", views: int = 4, resolution: int = 256,
           device: str | None = None, overwrite: bool = True) -> Path:
    """Write the case report of ``files`` (paths or Splats) to ``out``; returns its path.

    ``views`` of the validator's 16-view rig are rendered at ``resolution`` pixels (of what
    the validator decodes through SPZ; of the file itself when the path refuses it).
    """
    splats = [item if isinstance(item, Splat) else load(item) for item in files]
    names = [_name(s, i) for i, s in enumerate(splats)]
    cases = [_case(splat, name, views, resolution, device)
             for splat, name in progress(zip(splats, names), "report", total=len(splats))]
    body = [f"<h1>{html.escape(title)}</h1>",
            f"<p class='note'>Written {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by"
            f" splatlab {__version__}. The sn17 gate is shown on what the validator receives"
            " (the file after the SPZ submission path, pyspz compress then decompress) and on"
            " the file as it is.</p>",
            _summary(cases), *(case["html"] for case in cases), _legend(cases)]
    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
            + "\n".join(body) + "</body></html>")
    path = Path(out)
    atomic_write(path, iter([page.encode("utf-8")]), overwrite=overwrite)
    return path


def _name(splat: Splat, index: int) -> str:
    return Path(splat.source).name if splat.source else f"splat {index}"


def _case(splat: Splat, name: str, views: int, resolution: int, device: str | None) -> dict:
    problems = submission_problems(splat) if splat.provenance.format.name != "spz" else []
    result = gate(splat)
    findings = diagnose(splat)
    parts = [f"<section id='{html.escape(_anchor(name))}'><h2>{html.escape(name)}</h2>",
             _facts(splat, problems), _gate_html(result), _findings_html(findings)]
    if splat.is_gaussian and splat.count:
        table = stats(splat, quantiles="histogram")
        rows = [f for f in FIELDS if f in table.index]
        parts.append(_table(table.loc[rows, list(STATS_COLUMNS)],
                            "Statistics (stored values; alpha = sigmoid(opacity))"))
        parts.append(_figure_row([histogram(splat, "opacity"), histogram(splat, "alpha"),
                                  histogram(splat, "scale_0")], "histograms", "figures3"))
        shown = splat if problems else spz_roundtrip(splat)
        rig = validator_rig(resolution)
        cams = [rig[i * len(rig) // views] for i in range(views)] if views else []
        if cams:
            label = "as the validator decodes it" if not problems else "the file itself"
            grid = render_grid({label: render(shown, cams, device)}, size=2.2)
            step = len(rig) // views
            parts.append(f"<p class='note'>Views {', '.join(str(i * step) for i in range(views))}"
                         f" of the validator's 16-view rig at {resolution} px, of {label}"
                         + (" (the submission path refuses the file: the validator receives"
                            " nothing)" if problems else "") + ".</p>")
            parts.append(_figure_row([grid], "validator rig renders"))
    parts.append("</section>")
    return {"name": name, "splat": splat, "gate": result, "report": findings,
            "html": "\n".join(parts)}


def _anchor(name: str) -> str:
    return "file-" + "".join(c if c.isalnum() else "-" for c in name)


def _summary(cases: list[dict]) -> str:
    rows = []
    for case in cases:
        splat, result, findings = case["splat"], case["gate"], case["report"]
        checks = {c.name: c for c in result.checks}
        invisible = checks["opacity"].measured if "opacity" in checks else float("nan")
        rows.append({
            "file": f"<a href='#{_anchor(case['name'])}'>{html.escape(case['name'])}</a>",
            "format": splat.provenance.format.label, "gaussians": f"{splat.count:,}",
            "gate (validator)": _verdict(result.verdict),
            "gate (as-is)": _verdict(result.as_is.verdict if result.as_is else result.verdict),
            "invisible, through SPZ": "-" if invisible != invisible else f"{invisible:.1f} %",
            "errors": len(findings.errors), "warnings": len(findings.warnings),
            "codes": " ".join(findings.codes)})
    frame = pd.DataFrame(rows).set_index("file")
    return _table(frame, "Files side by side", escape=False)


def _verdict(verdict: str) -> str:
    kind = {"pass": "pass", "reject": "reject"}.get(verdict, "refused")
    return f"<span class='{kind}'>{html.escape(verdict)}</span>"


def _facts(splat: Splat, problems: list[str]) -> str:
    enc = splat.encoding if splat.is_gaussian else None
    facts = {"source": str(splat.source or "in memory"),
             "format": splat.provenance.format.label,
             "layout": f"{splat.header.format}, {len(splat.properties)} properties"
                       f" ({splat.stored_table.dtype.itemsize} bytes a gaussian)",
             "gaussians": f"{splat.count:,}",
             "submission path": "accepts the file" if not problems
             else "refuses it: " + "; ".join(problems)}
    if enc is not None:
        facts["opacity"] = f"declared {enc.opacity}, looks {enc.opacity_looks}"
        facts["scales"] = f"declared {enc.scales}, look {enc.scales_look}"
    rows = "".join(f"<tr><th class='text'>{html.escape(k)}</th><td class='text'>"
                   f"{html.escape(v)}</td></tr>" for k, v in facts.items())
    return f"<table><caption>The file</caption>{rows}</table>"


def _gate_html(result: GateResult) -> str:
    return result._repr_html_()


def _findings_html(findings: Report) -> str:
    if not len(findings):
        return "<p>No findings.</p>"
    rows = "".join(
        f"<tr><td class='text'><code>{f.code}</code></td><td class='text {f.severity}'>"
        f"{f.severity}</td><td class='text'>{html.escape(f.title)}</td>"
        f"<td class='text'>{html.escape(f.message)}</td></tr>" for f in findings)
    head = ("<tr><th class='text'>code</th><th class='text'>severity</th>"
            "<th class='text'>what</th><th class='text'>in this file</th></tr>")
    return f"<table><caption>Findings</caption>{head}{rows}</table>"


def _legend(cases: list[dict]) -> str:
    codes = sorted({code for case in cases for code in case["report"].codes})
    if not codes:
        return ""
    items = "".join(f"<li><code>{c}</code> {html.escape(CODES[c])}</li>" for c in codes)
    return f"<h2>Finding codes</h2><ul>{items}</ul>"


def _table(frame: pd.DataFrame, caption: str, escape: bool = True) -> str:
    shown = frame.copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = [("-" if pd.isna(v) else f"{v:.4g}") for v in shown[column]]
        elif pd.api.types.is_integer_dtype(shown[column]):
            shown[column] = [f"{v:,}" for v in shown[column]]
    shown.index.name = None  # the caption says what the rows are
    text = shown.to_html(escape=escape, border=0)
    opened = text.index(">") + 1
    return f"{text[:opened]}<caption>{html.escape(caption)}</caption>{text[opened:]}"


def _figure_row(figures: list, alt: str, css: str = "figures") -> str:
    images = "".join(f"<img alt='{html.escape(alt)}' src='data:image/png;base64,"
                     f"{base64.b64encode(figure._repr_png_()).decode()}'>" for figure in figures)
    return f"<div class='{css}'>{images}</div>"


__all__ = ["FIELDS", "report"]
