"""Time explorer interactions in a real browser: from a user's action to the new histogram.

A notebook in JupyterLab (headless Debian Chromium, set up as in tests/test_browser.py)
displays ``explore`` over one synthetic TRELLIS splat. Each interaction is done through the DOM
like a user (select a field or bins, click raw / activated, drag the range slider's low end)
and timed in the page: from the input event that completes it (``pointerup`` ending a click or
a drag, ``keydown``, a select's ``change``; caught before the widget sees it) until the
histogram ``<img>`` has a new ``src`` and that image is decoded. That covers the widget's
message to the kernel, the kernel's work (bench/bench_explorer.py times that alone), the PNG's
way back and its decoding. Between two timed actions the notebook's state cell runs, so that
the kernel has finished the previous one.
"cold" is the max over the row's actions the first time each is done (nothing cached yet),
then the median and max of the repeats. Prints a Markdown table.

Run:
    python bench/bench_explorer_browser.py            # 500,000 gaussians, 7 repeats
    python bench/bench_explorer_browser.py --quick    # 20,000 gaussians, 2 repeats: a smoke run
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _lab import CHROMIUM, ExplorerPage, running_lab, write_notebook  # noqa: E402

TIMEOUT = 300_000
"""Milliseconds any one wait may take (the page's default timeout)."""
ARM = """img => {
    window.__latency = undefined;
    const before = img.src, events = ["pointerup", "keydown", "change"];
    let start;
    const mark = () => { start ??= performance.now(); };
    events.forEach(e => document.addEventListener(e, mark, true));
    new MutationObserver((_, observer) => {
        if (img.src === before) return;
        observer.disconnect();
        events.forEach(e => document.removeEventListener(e, mark, true));
        img.decode().then(() => { window.__latency = performance.now() - start; });
    }).observe(img, {attributes: true, attributeFilter: ["src"]});
}"""
"""Listen for the next input event and the histogram's next image: ``window.__latency`` (ms)."""


def interactions(ex: ExplorerPage) -> dict[str, list[Callable[[], None]]]:
    """Name -> the actions of one interaction, cycled: the first run of each is cold."""
    return {
        "range (drag low end)": [lambda: ex.drag_range("lower", 0.3),
                                 lambda: ex.drag_range("lower", 0.6)],
        "bins": [lambda: ex.bins.select_option("64"), lambda: ex.bins.select_option("256")],
        "field": [lambda: ex.field.select_option("scale_0"),
                  lambda: ex.field.select_option("opacity")],
        "raw / activated": [lambda: ex.values_button("activated").click(),
                            lambda: ex.values_button("raw").click()],
    }


def latency(ex: ExplorerPage, action: Callable[[], None]) -> float:
    """Milliseconds from ``action``'s completing input event to the new histogram, decoded."""
    ex.histogram.evaluate(ARM)
    action()
    shown = ex.page.wait_for_function("() => window.__latency").json_value()
    ex.kernel_state()  # the kernel is done with the action (preview, status) too
    return shown


def table(ex: ExplorerPage, repeat: int) -> None:
    """Time every interaction and print a Markdown row for each."""
    print("| interaction, ms to the new histogram | cold (max) | warm median | warm max |")
    print("|---|---:|---:|---:|")
    for name, actions in interactions(ex).items():
        cold = [latency(ex, action) for action in actions]
        warm = [latency(ex, action) for _ in range(repeat) for action in actions]
        print(f"| {name} | {max(cold):.0f} | {statistics.median(warm):.0f} "
              f"| {max(warm):.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500_000, help="gaussians in the splat")
    parser.add_argument("--repeat", type=int, default=7, help="warm repeats of each action")
    parser.add_argument("--quick", action="store_true", help="20,000 gaussians, 2 repeats")
    args = parser.parse_args()
    count, repeat = (20_000, 2) if args.quick else (args.count, args.repeat)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_notebook(root / "bench.ipynb", "import splatlab\nfrom splatlab import synth\n"
                       f"ex = splatlab.explore(synth.trellis({count}, seed=0))")
        with running_lab(root) as lab, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT)
            ex = ExplorerPage.open(page, lab, "bench.ipynb")
            print(f"{count:,} gaussians, JupyterLab in headless Chromium {browser.version}, "
                  f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}\n")
            table(ex, repeat)
            browser.close()
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
