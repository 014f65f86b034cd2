"""Tables a person can read in a notebook: each column formatted for what it holds.

:func:`readable` turns a DataFrame into a pandas ``Styler`` that JupyterLab shows as HTML:
integers with thousands separators, shares as percentages, other floats to four
significant digits, booleans as yes/no, missing values as a dash; headers wrap at their
underscores instead of widening the table; text is left-aligned and stays on one line
unless it is long, and then wraps in a column of bounded width. The frame itself is not
changed: its numbers are what the library computed.

Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"count": [7104, 12256], "alpha_share": [0.474521, 0.98],
    ...                       "opacity_std": [8.8012, 1.87], "ok": [True, False]},
    ...                      index=["g02", "g03"])
    >>> shown = readable(frame, percent=["alpha_share"]).to_html()
    >>> all(text in shown for text in ("12,256", "47.5%", "8.801", "yes"))
    True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

SIGNIFICANT = 4
"""Significant digits of a float that is not a share."""
LONG_TEXT = 40
"""Characters from which a text column wraps (in a column at most 28 characters wide)."""
STYLE = [
    {"selector": "th.col_heading", "props": "white-space: normal; max-width: 7.5em;"
                                            " vertical-align: bottom; text-align: right;"},
    {"selector": "td", "props": "white-space: nowrap;"},
    {"selector": "td.text", "props": "text-align: left;"},
    {"selector": "td.wrapped", "props": "white-space: normal; min-width: 16em; max-width: 28em;"},
]


def readable(frame: pd.DataFrame, *, percent: Iterable[str] = (),
             digits: int = SIGNIFICANT) -> Styler:
    """``frame`` styled for reading: see the module's description.

    ``percent`` names the columns holding shares in [0, 1] (shown as ``47.5%``); a column
    whose name ends in ``share`` is one without being named.
    """
    import pandas as pd

    shares = {*percent, *(c for c in frame.columns if str(c).endswith("share"))}
    formats: dict = {}
    classes: dict = {}
    for column in frame.columns:
        values = frame[column]
        if column in shares:
            formats[column] = _number("{:.1%}")
        elif pd.api.types.is_bool_dtype(values):
            formats[column] = lambda v: "yes" if v else "no"
        elif pd.api.types.is_integer_dtype(values):
            formats[column] = _number("{:,}")
        elif pd.api.types.is_float_dtype(values):
            formats[column] = _number(f"{{:.{digits}g}}")
        else:
            long = len(values) and values.astype(str).str.len().max() > LONG_TEXT
            classes[column] = "text wrapped" if long else "text"
    styler = frame.style.format(formats, na_rep="-")
    styler = styler.format_index(_wrap_at_underscores, axis=1)
    styler = styler.set_table_styles(STYLE)
    if classes:
        styler = styler.set_td_classes(pd.DataFrame(
            [[classes.get(c, "") for c in frame.columns]] * len(frame),
            index=frame.index, columns=frame.columns))
    return styler


def _number(spec: str):
    """A formatter of ``spec`` that shows a missing value as a dash."""
    def shown(value) -> str:
        return "-" if value != value else spec.format(value)  # NaN != NaN
    return shown


def _wrap_at_underscores(name) -> str:
    """A header that may break after each underscore (a zero-width break opportunity)."""
    return str(name).replace("_", "_\u200b")


__all__ = ["readable"]
