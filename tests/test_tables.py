"""splatlab.viz.tables.readable: each column formatted for what it holds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from splatlab.viz.tables import LONG_TEXT, readable


def _cells(styler) -> list[list[str]]:
    """The displayed text of each body cell, row by row (what the HTML shows)."""
    translated = styler._translate(False, False)
    return [[cell["display_value"] for cell in row if cell["type"] == "td"]
            for row in translated["body"]]


def test_each_column_is_shown_for_what_it_holds():
    frame = pd.DataFrame({"count": [1234567, 8], "alpha_share": [0.5, np.nan],
                          "below": [0.25, 1.0], "std": [0.000123456, 22088.333333],
                          "ok": [True, False], "note": ["short", "x" * (LONG_TEXT + 1)]})
    cells = _cells(readable(frame, percent=["below"]))
    assert cells[0][:5] == ["1,234,567", "50.0%", "25.0%", "0.0001235", "yes"]
    assert cells[1][:5] == ["8", "-", "100.0%", "2.209e+04", "no"]
    html = readable(frame).to_html()
    assert 'class="data row0 col5 text wrapped"' in html.replace("  ", " ")
    assert "alpha_\u200bshare" in html  # headers may break after an underscore


def test_the_frame_is_not_changed():
    frame = pd.DataFrame({"x": [1 / 3]})
    readable(frame)
    assert frame["x"].iloc[0] == 1 / 3


def test_an_empty_frame_is_shown():
    assert "<table" in readable(pd.DataFrame({"x": pd.Series([], dtype=object)})).to_html()
