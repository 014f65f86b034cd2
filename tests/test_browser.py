"""The explorer in a real JupyterLab 4 and Chromium, driven through the DOM like a user.

A notebook displays ``splatlab.explore`` over a healthy and a corrupted synthetic splat; each
interaction (field, raw / activated, bins, preview picker, range slider by mouse and by
keyboard, render button) must change what the page shows, the explorer's state in the
kernel (printed by the notebook's second cell) must agree, and the page must raise no
JavaScript error. ``explorer.png`` in the test's tmp
folder is the page at the end (also after a failure). Skipped without Debian's Chromium or
the ``playwright`` package (``scripts/setup.sh --test`` installs both).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from _lab import CHROMIUM, ExplorerPage, running_lab, write_notebook

if TYPE_CHECKING:
    from playwright.sync_api import Locator

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} absent (apt-get install chromium)")]
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="playwright absent (pip install -e '.[test]')")
expect = sync_api.expect

COUNT = 20_000
SETUP = f"""\
import splatlab
from splatlab import synth
healthy = synth.trellis({COUNT}, seed=0)
corrupted = synth.corrupt(synth.trellis({COUNT}, seed=1), near_zero_opacity_share=0.5)
ex = splatlab.explore([healthy, corrupted], labels=["healthy", "corrupted"], resolution=96,
                      render_resolution=64)"""
TIMEOUT = 120_000
"""Milliseconds any wait may take (generous: a loaded 2-core machine runs this)."""
SELECTED = re.compile(r"([\d,]+) of [\d,]+ selected")
RENDERED = re.compile(r"rendered ([\d,]+) gaussians with pytorch")


@pytest.fixture
def explorer(tmp_path: Path) -> Iterator[ExplorerPage]:
    """The notebook open and run in JupyterLab in headless Chromium; a screenshot at the end."""
    write_notebook(tmp_path / "explorer.ipynb", SETUP)
    with running_lab(tmp_path) as lab, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT)
        expect.set_options(timeout=TIMEOUT)
        try:
            yield ExplorerPage.open(page, lab, "explorer.ipynb")
        finally:
            page.screenshot(path=tmp_path / "explorer.png", full_page=True)
            browser.close()


def _redraws(image: Locator, action: Callable[[], None]) -> None:
    """Do ``action`` and wait until ``image`` shows another PNG."""
    before = image.get_attribute("src")
    action()
    expect(image).not_to_have_attribute("src", before)


def _shown_counts(ex: ExplorerPage) -> list[int]:
    """The selected counts the status line shows, one a splat."""
    return [int(n.replace(",", "")) for n in SELECTED.findall(ex.status.inner_text())]


def test_explorer_follows_the_user(explorer: ExplorerPage):
    ex = explorer
    expect(ex.field).to_have_value("opacity")
    expect(ex.status).to_contain_text(f"healthy: {COUNT:,} of {COUNT:,} selected")
    state = ex.kernel_state()
    assert state["selected"] == [COUNT, COUNT] and state["raw"] is True
    assert ex.range_readout() == pytest.approx(state["range"], rel=1e-3)

    # field picker: a new histogram, the slider spans the new field
    _redraws(ex.histogram, lambda: ex.field.select_option("scale_0"))
    state = ex.kernel_state()
    assert state["field"] == "scale_0"
    assert ex.range_readout() == pytest.approx(state["range"], rel=1e-3)

    # activated opacity: a logit slider (alpha's axis is logit), its readout not cut off
    _redraws(ex.histogram, lambda: ex.field.select_option("opacity"))
    _redraws(ex.histogram, lambda: ex.values_button("activated").click())
    expect(ex.values_button("activated")).to_have_class(re.compile("mod-active"))
    expect(ex.range_label).to_have_text("logit range")
    state = ex.kernel_state()
    assert state["field"] == "opacity" and state["raw"] is False
    assert ex.range_readout() == pytest.approx(state["range"], rel=1e-3)
    assert ex.range.locator(".widget-readout").evaluate("r => r.scrollWidth <= r.clientWidth")
    full = state["range"]

    _redraws(ex.histogram, lambda: ex.bins.select_option("64"))
    _redraws(ex.preview, lambda: ex.picker.select_option("corrupted"))
    state = ex.kernel_state()
    assert state["bins"] == 64 and state["picked"] == 1

    # drag the low end to 40 % of the track: fewer selected, the kernel agrees with the page
    _redraws(ex.histogram, lambda: ex.drag_range("lower", 0.4))
    expect(ex.status).not_to_contain_text(f"{COUNT:,} of {COUNT:,}")
    state = ex.kernel_state()
    lo, hi = full
    assert state["range"][0] == pytest.approx(lo + 0.4 * (hi - lo), abs=0.03 * (hi - lo))
    assert state["range"][1] == pytest.approx(hi)
    assert ex.range_readout() == pytest.approx(state["range"], rel=1e-3)
    assert _shown_counts(ex) == state["selected"] and 0 < state["selected"][1] < COUNT

    # render the corrupted splat's selection: the image appears, the counts stay
    expect(ex.rendered).to_be_hidden()
    assert ex.render_button.evaluate("b => b.scrollWidth <= b.clientWidth")  # label not cut
    ex.render_button.click()
    expect(ex.status).to_contain_text(RENDERED)
    expect(ex.rendered).to_be_visible()
    assert int(RENDERED.search(ex.status.inner_text())[1].replace(",", "")) == \
        state["selected"][1]
    assert _shown_counts(ex) == state["selected"]
    assert ex.rendered.evaluate("img => img.decode().then(() => img.naturalWidth)") == 64

    # keyboard: Home takes the low handle back to the limit, everything is selected again
    _redraws(ex.histogram, lambda: ex.range_handle("lower").press("Home"))
    expect(ex.status).to_contain_text(f"corrupted: {COUNT:,} of {COUNT:,} selected")
    state = ex.kernel_state()
    assert state["range"] == pytest.approx(full) and state["selected"] == [COUNT, COUNT]
    assert _shown_counts(ex) == [COUNT, COUNT]
    assert ex.errors == []  # no uncaught JavaScript error in the page all along
