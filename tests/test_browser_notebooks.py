"""Every notebook, run top to bottom in a real JupyterLab 4 in headless Chromium, as a reader
sees it.

The lab runs as the README starts it: the environment's page config from
``scripts/setup.sh`` (no build check) is the only thing keeping the "Build Recommended"
dialog away; the test's own config only turns off the news prompt, and its settings render
every cell (no windowing, so each cell's output is in the page). For each notebook, at the
test scale of ``tests/test_notebooks.py``:

* no dialog when the page loads;
* every code cell ran and none shows an error, a warning or any other stderr text;
* every cell that draws (a splatlab figure or image) shows an image, and no cell shows the
  text ``<Figure size``;
* every table fits the notebook's width (no column cut off behind a scroll bar);
* the page raises no JavaScript error and logs no console error.

A screenshot of each cell with output is kept in the test's tmp folder
(``screens/NOTEBOOK-NN.png``) as the artefact a person looks at.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from _lab import CHROMIUM, running_lab
from _notebooks import NOTEBOOKS, at_test_scale, plotting_cells

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} absent (apt-get install chromium)")]
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="playwright absent (pip install -e '.[test]')")

TIMEOUT = 300_000
"""Milliseconds a notebook may take to run (a loaded 2-core machine runs this)."""
ONLY_NO_NEWS = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
EVERY_CELL_RENDERED = {"@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"}}
CELLS = """() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map(cell => {
  const outputs = [...cell.querySelectorAll('.jp-OutputArea-output')];
  return {
    code: cell.classList.contains('jp-CodeCell'),
    prompt: cell.querySelector('.jp-InputArea-prompt')?.innerText ?? '',
    mimes: outputs.map(o => o.getAttribute('data-mime-type')),
    images: cell.querySelectorAll('.jp-OutputArea-output img').length,
    text: outputs.map(o => o.innerText).join('\\n'),
    tables: [...cell.querySelectorAll('.jp-OutputArea-output table')].map(t => [
      Math.ceil(t.getBoundingClientRect().width), t.closest('.jp-OutputArea-output').clientWidth]),
  };
})"""
"""What the page shows of each cell: prompt, output types, images, text, table widths."""
FINISHED = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]
    .map(p => p.innerText);
  return prompts.some(p => /\\[\\d+\\]/.test(p)) && !prompts.some(p => p.includes('*'));
}"""
"""True once run-all has ended: some cell ran and none is running or queued."""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_reads_well_in_jupyterlab(path: Path, tmp_path: Path):
    nb = at_test_scale(path, tmp_path / "out")
    nbformat.write(nb, tmp_path / path.name)
    screens = tmp_path / "screens"
    screens.mkdir()
    problems: list[str] = []
    with running_lab(tmp_path, page_config=ONLY_NO_NEWS, settings=EVERY_CELL_RENDERED) as lab, \
            sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT)
        page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
        page.on("console", lambda message: message.type == "error" and problems.append(
            f"console error: {message.text}"))
        try:
            page.goto(lab.url(f"/lab/tree/{path.name}"))
            idle = page.locator(".jp-StatusBar-TextItem", has_text="| Idle")
            idle.or_(page.locator(".jp-Dialog")).first.wait_for()
            page.wait_for_timeout(2_000)  # the build check answers after the page settles
            dialogs = page.locator(".jp-Dialog").all_inner_texts()
            assert dialogs == [], f"a dialog on load: {dialogs}"
            idle.wait_for()
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.locator("[data-command='runmenu:run-all']").click()
            page.wait_for_function(FINISHED)
            cells = page.evaluate(CELLS)
            shown = page.locator(".jp-Notebook .jp-Cell")
            for i, cell in enumerate(cells):
                if cell["mimes"]:
                    shown.nth(i).screenshot(path=screens / f"{path.stem}-{i:02d}.png")
        finally:
            page.screenshot(path=tmp_path / "page.png")
            browser.close()

    assert len(cells) == len(nb.cells)
    for i, (cell, source) in enumerate(zip(cells, nb.cells)):
        where = f"cell {i} ({source.source.strip().splitlines()[0][:60]!r})"
        if not cell["code"]:
            continue
        if not any(ch.isdigit() for ch in cell["prompt"]):
            problems.append(f"{where} did not run: prompt {cell['prompt']!r}")
        if "application/vnd.jupyter.stderr" in cell["mimes"]:
            problems.append(f"{where} shows stderr: {cell['text'][:300]!r}")
        if "<Figure size" in cell["text"]:
            problems.append(f"{where} shows a figure as text")
        for width, room in cell["tables"]:
            if width > room:
                problems.append(f"{where} has a table {width} px wide in {room} px")
    for i in plotting_cells(nb):
        if not cells[i]["images"]:
            problems.append(f"cell {i} draws but shows no image: {cells[i]['mimes']}")
    assert not problems, "\n".join(problems)
