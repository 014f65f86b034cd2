"""One table, two views: the text and the HTML of a result drawn from the same rows.

A result (a :class:`~splatlab.core.splat.Splat`, a diagnosis ``Report``, a ``GateResult``)
keeps its content as a list of records, one a row; its ``to_frame`` (where it has one) is
those records as a DataFrame, its ``__repr__`` is :func:`text_table` of them and its
``_repr_html_`` :func:`html_table`, so the terminal, the notebook and the frame always show
the same numbers in the same words. Plain Python: the core floor loads no pandas.

Example:
    >>> rows = [{"check": "count", "measured": 7040, "verdict": "pass"},
    ...         {"check": "invisible", "measured": 0.987654, "verdict": "reject"}]
    >>> print(text_table(rows, {"measured": "{:.4g}"}))
    check      measured  verdict
    count          7040  pass
    invisible    0.9877  reject
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence

Format = str | Callable[[object], str]
"""How a column's values are shown: a ``str.format`` spec such as ``"{:,}"``, or a function."""


def shown(value: object, spec: Format | None = None) -> str:
    """``value`` as text: by ``spec``; else floats to 6 significant digits, integers with
    thousands separators, None and NaN as ``-``.

    Example:
        >>> shown(0.1234567), shown(52709), shown(float("nan")), shown(3, "{:.1%}")
        ('0.123457', '52,709', '-', '300.0%')
    """
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if callable(spec):
        return spec(value)
    if spec is not None:
        return spec.format(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def text_table(rows: Sequence[Mapping[str, object]], formats: Mapping[str, Format] | None = None,
               indent: str = "") -> str:
    """``rows`` as aligned text, a header line first; numbers right-aligned, text left."""
    formats = formats or {}
    columns = list(dict.fromkeys(k for row in rows for k in row))
    cells = [[shown(row.get(c), formats.get(c)) for c in columns] for row in rows]
    numeric = [all(_is_number(row.get(c)) for row in rows) for c in columns]
    widths = [max([len(c), *(len(line[j]) for line in cells)]) for j, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if right else v.ljust(w)
                 for v, w, right in zip(values, widths, numeric)]
        return (indent + "  ".join(parts)).rstrip()

    return "\n".join([line(columns), *(line(c) for c in cells)])


def html_table(rows: Sequence[Mapping[str, object]], caption: str | Sequence[str] = "",
               formats: Mapping[str, Format] | None = None,
               styles: Mapping[str, Callable[[object], str]] | None = None) -> str:
    """``rows`` as an HTML table, everything escaped. ``caption`` is text, or a sequence of
    texts whose odd-numbered parts show in bold; ``styles`` maps a column to a function
    giving a cell's CSS.

    Example:
        >>> table = html_table([{"a": 1}], ["x < y: ", "PASS"])
        >>> table.startswith("<table><caption>x &lt; y: <b>PASS</b></caption><tr><th>a</th>")
        True
        >>> "<td style='text-align:right'>1</td>" in table
        True
    """
    formats, styles = formats or {}, styles or {}
    columns = list(dict.fromkeys(k for row in rows for k in row))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            value = row.get(c)
            align = "right" if _is_number(value) else "left"
            style = f"text-align:{align}" + (f";{styles[c](value)}" if c in styles else "")
            cells.append(f"<td style='{style}'>{html.escape(shown(value, formats.get(c)))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    parts = [caption] if isinstance(caption, str) else list(caption)
    title = "".join(f"<b>{html.escape(p)}</b>" if i % 2 else html.escape(p)
                    for i, p in enumerate(parts))
    return f"<table><caption>{title}</caption><tr>{head}</tr>{''.join(body)}</table>"


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1.

    Example:
        >>> counted(1, "error"), counted(3, "warning"), counted(1234, "file")
        ('1 error', '3 warnings', '1,234 files')
    """
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


__all__ = ["counted", "html_table", "shown", "text_table"]
