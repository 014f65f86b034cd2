"""The HTML case report: what it holds, from the library and the CLI, and in a real browser."""

from __future__ import annotations

import html
import re

import pytest
from _lab import CHROMIUM

from splatlab import data, save
from splatlab.cli.main import EXIT_BAD_INPUT, EXIT_OK, main
from splatlab.data import trellis_like
from splatlab.viz.report import report


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    commented = save(trellis_like(8_000), root / "commented.ply", comment="edited")
    files = [data.path("trellis.ply"), data.path("corrupted.ply"), data.path("trellis.spz"),
             commented]
    return report(files, root / "case.html", views=2, resolution=48), files


def test_one_section_a_file_and_a_summary_row_each(case):
    path, files = case
    text = path.read_text()
    assert text.count("<section") == len(files)
    summary = text.split("Files side by side", 1)[1].split("</table>", 1)[0]
    verdicts = re.findall(r"<span class='(pass|reject|refused)'>([^<]+)</span>", summary)
    assert [v for _, v in verdicts] == ["pass", "pass", "reject", "reject", "pass", "pass",
                                        "cannot be submitted", "pass"]
    assert "SPZ v2 (zstd), quantised" in summary


def test_self_contained_figures_and_words(case):
    text = html.unescape(case[0].read_text())
    assert "src='http" not in text and "<script" not in text
    # per file: 3 histograms, and a render grid where the file has gaussians
    assert text.count("data:image/png;base64,") == 4 * 4
    assert "double-logit signature" in text and "line 3 must start 'element vertex '" in text
    assert "as the validator decodes it" in text and "the file itself" in text


def test_the_cli_writes_once_unless_told(tmp_path, capsys):
    out = tmp_path / "r.html"
    args = ["report", str(data.path("trellis.ply")), "-o", str(out), "--views", "1",
            "--resolution", "32"]
    assert main(args) == EXIT_OK and out.exists()
    assert main(args) == EXIT_BAD_INPUT
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == EXIT_OK


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} absent")
def test_it_opens_in_a_browser_with_every_image(case):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(case[0].as_uri())
        page.wait_for_load_state("load")
        images = page.eval_on_selector_all(
            "img", "els => els.map(e => e.complete && e.naturalWidth > 0)")
        browser.close()
    assert images and all(images) and errors == []
