"""A scan's table as a report file, and back: CSV, JSON, Parquet or a sortable HTML page.

The format follows the name's extension. Every format reads back to the same rows
(:func:`read_report`), so that any of them can resume a scan. The HTML page is one
self-contained file (plain JavaScript, no network): a table with the worst files first,
sortable by any column (click its heading), rows that fail in red, and, where given,
each file's name linking to its case report; the rows are also embedded as JSON for
reading back.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from splatlab import data
    >>> from splatlab.analysis.scanning import scan
    >>> table = scan([data.path("trellis.ply"), data.path("corrupted.ply")], workers=1)
    >>> out = write_report(table, Path(tempfile.mkdtemp()) / "scan.json")
    >>> read_report(out)["gate"].tolist()
    ['reject', 'pass']
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ..core.jsonsafe import json_safe
from ..core.ply import SplatFormatError, atomic_write
from .scanning import failing, typed, worst_first

FORMATS = {".csv": "csv", ".json": "json", ".parquet": "parquet", ".html": "html",
           ".htm": "html"}
"""Report name extension -> format."""

_ROWS_ID = "splatlab-scan-rows"


def report_format(path: str | os.PathLike) -> str:
    """The format a report's name asks for; ValueError (one line) for any other name, or for
    Parquet without pyarrow.

    Example:
        >>> report_format("out/scan.CSV")
        'csv'
    """
    kind = FORMATS.get(Path(path).suffix.lower())
    if kind is None:
        raise ValueError(f"{path}: a report is .csv, .json, .parquet or .html")
    if kind == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValueError(f"{path}: Parquet needs pyarrow: pip install 'splatlab[parquet]'"
                             ) from None
    return kind


def write_report(table: pd.DataFrame, path: str | os.PathLike, *,
                 case_reports: Mapping[str, str] | None = None, overwrite: bool = True
                 ) -> Path:
    """Write ``table`` (from :func:`splatlab.scan`) to ``path`` atomically; returns the path.

    ``case_reports`` maps a row's ``file`` to its case report's address (relative to the
    report's folder, or absolute); the HTML links each file's name to it.
    """
    path = Path(path)
    kind = report_format(path)
    if kind == "csv":
        data = table.to_csv(index=False).encode()
    elif kind == "json":
        data = json.dumps(_records(table), allow_nan=False, indent=0).encode()
    elif kind == "parquet":
        import io

        buffer = io.BytesIO()
        table.to_parquet(buffer, index=False)
        data = buffer.getvalue()
    else:
        data = html_page(table, case_reports or {}).encode()
    atomic_write(path, iter([data]), overwrite=overwrite)
    return path


def _records(table: pd.DataFrame) -> list[dict]:
    return json_safe(table.astype(object).where(table.notna(), None).to_dict("records"))


def read_report(path: str | os.PathLike) -> pd.DataFrame:
    """The rows of a report written by :func:`write_report` (any format), in :data:`COLUMNS`.

    Raises :class:`SplatFormatError` (one line) for a file that is no such report.
    """
    path = Path(path)
    kind = report_format(path)
    try:
        if kind == "csv":
            table = pd.read_csv(path, dtype={"sha256": str})
        elif kind == "parquet":
            table = pd.read_parquet(path)
        else:
            text = path.read_text(encoding="utf-8")
            if kind == "html":
                start = text.find(f'<script type="application/json" id="{_ROWS_ID}">')
                if start < 0:
                    raise ValueError("no scan rows in it")
                text = text[text.index(">", start) + 1:text.index("</script>", start)]
            table = pd.DataFrame(json.loads(text))
    except (ValueError, KeyError, ImportError) as e:  # pandas' and json's parse errors
        raise SplatFormatError(path, f"not a splatlab scan report ({e})") from None
    missing = [c for c in ("file", "sha256") if c not in table.columns]
    if missing:
        raise SplatFormatError(path, f"not a splatlab scan report (no {', '.join(missing)})")
    return typed(table)


# ------------------------------------------------------------------------------- HTML
_SHOWN = {"file": "file", "format": "format", "count": "gaussians", "gate": "gate",
          "gate_as_is": "gate as-is", "gate_failed": "fails", "worst": "worst finding",
          "findings": "findings", "alpha_below_1e-3": "invisible",
          "alpha_below_1e-3_spz": "invisible via SPZ", "opacity_mean": "opacity mean",
          "opacity_std": "opacity std", "opacity_min": "opacity min", "scale_std": "scale std",
          "size": "bytes", "layout": "layout", "encoding": "encoding", "error": "error",
          "sha256": "sha256"}
"""Columns of the HTML table, in order, with their headings."""

_STYLE = """
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right;white-space:nowrap}
th{background:#f0f0f0;cursor:pointer;position:sticky;top:0}
th.asc::after{content:" \\25B2"} th.desc::after{content:" \\25BC"}
td.text{text-align:left} td.hash{font-family:monospace;font-size:11px}
tr.fail td:first-child{border-left:4px solid #c62828} tr.fail .verdict{color:#c62828}
.reject,.cannot,.error{color:#c62828;font-weight:600} .warning{color:#e65100}
.pass{color:#2e7d32} .note{color:#555}
"""

_SCRIPT = """
document.querySelectorAll('table.scan th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0];
    var asc = !th.classList.contains('asc');
    th.parentNode.querySelectorAll('th').forEach(function (h) {
      h.classList.remove('asc', 'desc'); });
    th.classList.add(asc ? 'asc' : 'desc');
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.sort, y = b.cells[col].dataset.sort;
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""


def _cell(column: str, value, link: str | None) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "<td data-sort=''>-</td>"
    sort = html.escape(str(value), quote=True)
    if column == "file":
        name = html.escape(str(value))
        shown = f"<a href='{html.escape(link, quote=True)}'>{name}</a>" if link else name
        return f"<td class='text' data-sort='{sort}'>{shown}</td>"
    if column in ("alpha_below_1e-3", "alpha_below_1e-3_spz"):
        return f"<td data-sort='{value!r}'>{value:.1%}</td>"
    if column in ("count", "size"):
        return f"<td data-sort='{int(value)}'>{int(value):,}</td>"
    if isinstance(value, float):
        return f"<td data-sort='{value!r}'>{value:.4g}</td>"
    css = "text"
    if column in ("gate", "gate_as_is", "worst"):
        css += f" verdict {str(value).split()[0]}"
    elif column == "sha256":
        css += " hash"
        value = str(value)[:16]
    return f"<td class='{css}' data-sort='{sort}'>{html.escape(str(value))}</td>"


def html_page(table: pd.DataFrame, case_reports: Mapping[str, str] | None = None) -> str:
    """The HTML report: worst files first, sortable, self-contained.

    Example:
        >>> from splatlab import data
        >>> from splatlab.analysis.scanning import scan
        >>> page = html_page(scan([data.path("corrupted.ply")]))
        >>> "<table class='scan'>" in page and "http" not in page
        True
    """
    case_reports = case_reports or {}
    ordered = worst_first(table)
    bad = failing(ordered)
    columns = [c for c in _SHOWN if c in ordered.columns]
    head = "".join(f"<th title='{c}'>{html.escape(_SHOWN[c])}</th>" for c in columns)
    body = []
    for (_, row), fails in zip(ordered.iterrows(), bad):
        cells = "".join(_cell(c, row[c], case_reports.get(row["file"]) if c == "file" else None)
                        for c in columns)
        body.append(f"<tr class='{'fail' if fails else 'ok'}'>{cells}</tr>")
    rows = json.dumps(_records(table), allow_nan=False).replace("</", "<\\/")
    summary = (f"{len(table):,} files, {int(bad.sum()):,} failing (unreadable, not passed by"
               " the sn17 gate as the validator receives them, or with an error-level"
               " finding); worst first. Click a heading to sort.")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>splatlab scan</title><style>{_STYLE}</style></head><body>"
            f"<h1>splatlab scan</h1><p class='note'>{html.escape(summary)}</p>"
            f"<table class='scan'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}"
            f"</tbody></table>"
            f'<script type="application/json" id="{_ROWS_ID}">{rows}</script>'
            f"<script>{_SCRIPT}</script></body></html>")


__all__ = ["FORMATS", "html_page", "read_report", "report_format", "write_report"]
