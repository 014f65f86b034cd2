"""The explorer in a real JupyterLab, for tests/test_browser.py and bench/bench_explorer_browser.py.

:func:`running_lab` starts ``jupyter lab`` from this Python on a free port, serving one folder,
with its settings, runtime files and page config in that folder's ``.lab`` (no news, update
check, build prompt or extension manager); :func:`write_notebook` writes a notebook whose first
cell displays an explorer ``ex`` and whose second prints ``ex``'s state as JSON;
:class:`ExplorerPage` opens it in a browser page, runs it and locates the widgets as a user
sees them. Playwright is only imported by the callers (this module is imported by
``--doctest-modules`` where it may be missing).

Example:
    >>> write_notebook(root / "explorer.ipynb", "ex = splatlab.explore(s)")  # doctest: +SKIP
    >>> with running_lab(root) as lab:                                        # doctest: +SKIP
    ...     ex = ExplorerPage.open(browser.new_page(), lab, "explorer.ipynb")
    ...     ex.field.select_option("scale_0")
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium (``apt-get install chromium``); Playwright's own download is not used."""
TOKEN = "splatlab-browser-test"
PAGE_CONFIG = {
    "buildCheck": False,  # open3d's dash ships a source extension: "Build Recommended" dialog
    "disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True},  # news toast
}
STATE = ("import json\n"
         "print(json.dumps({'field': ex.field.value, 'raw': ex.raw.value, 'bins': ex.bins.value,\n"
         "                  'range': ex.range.value, 'picked': ex.picker.value,\n"
         "                  'selected': [int(m.sum()) for m in ex.selections]}))")
"""The second cell: what the kernel's explorer holds, one JSON line."""


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab server and the folder it serves."""

    root: Path
    port: int

    def url(self, path: str) -> str:
        """The address of ``path`` on the server, with the token."""
        return f"http://127.0.0.1:{self.port}{path}?token={TOKEN}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_lab(root: Path, timeout: float = 120.0, page_config: dict | None = None,
                settings: dict[str, dict] | None = None) -> Iterator[Lab]:
    """Run ``jupyter lab`` serving ``root`` until the block exits (also on error); its log is
    ``root/.lab/server.log``.

    ``page_config`` goes into the server's own config folder (default :data:`PAGE_CONFIG`);
    the environment's (``sys.prefix/etc/jupyter``, written by ``scripts/setup.sh``) applies
    beneath it as for a user. ``settings`` maps a plugin id (``"@jupyterlab/notebook-
    extension:tracker"``) to user settings of this server.
    """
    state = root / ".lab"
    (state / "config" / "labconfig").mkdir(parents=True, exist_ok=True)
    (state / "config" / "labconfig" / "page_config.json").write_text(
        json.dumps(PAGE_CONFIG if page_config is None else page_config))
    for plugin, values in (settings or {}).items():
        package, name = plugin.split(":")
        path = state / "settings" / package / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(state / "config"),
               JUPYTER_RUNTIME_DIR=str(state / "runtime"), JUPYTER_DATA_DIR=str(state / "data"))
    lab = Lab(root, _free_port())
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",  # CI runs as root
        "--ip=127.0.0.1", f"--port={lab.port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly", f"--LabApp.user_settings_dir={state / 'settings'}",
        f"--LabApp.workspaces_dir={state / 'workspaces'}",
    ]
    with open(state / "server.log", "wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                  start_new_session=True)
    try:
        _wait_until_up(lab, server, timeout)
        yield lab
    finally:
        server.terminate()  # the server shuts its kernels down on SIGTERM
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _wait_until_up(lab: Lab, server: subprocess.Popen, timeout: float) -> None:
    """Poll ``/api/status`` until the server answers; raise if it exits or never does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(lab.url("/api/status"), timeout=5):
                return
        except (urllib.error.URLError, ConnectionError):
            if server.poll() is not None or time.monotonic() > deadline:
                log = (lab.root / ".lab" / "server.log").read_text()[-3000:]
                raise RuntimeError(f"jupyter lab did not come up:\n{log}") from None
            time.sleep(0.25)


def write_notebook(path: Path, setup: str) -> None:
    """A notebook at ``path``: ``setup`` (which must define the explorer ``ex``) then ``ex``,
    and a cell printing the explorer's state (:data:`STATE`)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(f"{setup}\nex"), nbformat.v4.new_code_cell(STATE)]
    nbformat.write(nb, path)


class ExplorerPage:
    """The explorer's widgets in a notebook page, found by what a user sees.

    ``output`` is the first cell's output (the explorer), ``state_cell`` the second cell;
    ``field``, ``bins`` and ``picker`` are the ``<select>`` of those dropdowns, ``range`` the
    range slider and ``range_label`` its label, ``histogram``, ``preview`` and ``rendered`` the
    images, ``status`` the selection counts (or the render's report). ``errors`` collects the
    page's uncaught JavaScript errors. Waits take the page's default timeout
    (``page.set_default_timeout``).
    """

    def __init__(self, page: Page):
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        cells = page.locator(".jp-Notebook .jp-Cell")
        self.state_cell = cells.nth(1)
        self.output = out = cells.first.locator(".jp-OutputArea-output")
        self.field = out.get_by_label("field", exact=True)
        self.bins = out.get_by_label("bins", exact=True)
        self.picker = out.get_by_label("preview", exact=True)
        self.range = out.locator(".widget-hslider").first
        self.range_label = self.range.locator(".widget-label")
        self.histogram, self.preview, self.rendered = (
            out.locator("img.widget-image").nth(i) for i in range(3))
        self.status = out.locator(".widget-html-content")
        self.render_button = out.get_by_role("button", name="Render selection")

    @classmethod
    def open(cls, page: Page, lab: Lab, notebook: str) -> ExplorerPage:
        """Open ``notebook`` in JupyterLab, wait for an idle kernel, run all cells and wait for
        the state cell's output (the explorer is then displayed)."""
        explorer = cls(page)
        page.goto(lab.url(f"/lab/tree/{notebook}"))
        page.locator(".jp-StatusBar-TextItem", has_text="| Idle").wait_for()
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.locator("[data-command='runmenu:run-all']").click()
        explorer.state_cell.locator(".jp-OutputArea-output").wait_for()
        return explorer

    def values_button(self, name: str) -> Locator:
        """The raw / activated toggle button called ``name``."""
        return self.output.locator(".widget-toggle-buttons", has_text="values").get_by_role(
            "button", name=name, exact=True)

    def range_handle(self, which: str) -> Locator:
        """The range slider's ``"lower"`` or ``"upper"`` handle."""
        return self.range.locator(f".noUi-handle-{which}")

    def range_readout(self) -> tuple[float, float]:
        """The two ends the range slider's readout shows."""
        text = self.range.locator(".widget-readout").inner_text().replace("\u2212", "-")
        lo, hi = text.split(" \u2013 ")
        return float(lo), float(hi)

    def drag_range(self, which: str, fraction: float) -> None:
        """Drag a handle with the mouse to ``fraction`` of the slider's track."""
        self.range.scroll_into_view_if_needed()
        handle = self.range_handle(which).bounding_box()
        track = self.range.locator(".noUi-base").bounding_box()
        y = handle["y"] + handle["height"] / 2
        self.page.mouse.move(handle["x"] + handle["width"] / 2, y)
        self.page.mouse.down()
        self.page.mouse.move(track["x"] + fraction * track["width"], y, steps=8)
        self.page.mouse.up()

    def kernel_state(self) -> dict:
        """Run the state cell (select it, Ctrl+Enter) and parse what it prints: the kernel's
        ``field``, ``raw``, ``bins``, ``range``, ``picked`` and ``selected`` (one a splat)."""
        prompt = self.state_cell.locator(".jp-InputPrompt")
        before = prompt.inner_text()
        prompt.click()
        self.page.keyboard.press("Control+Enter")
        self.page.wait_for_function(
            "([el, before]) => el.innerText !== before && /\\[\\d+\\]/.test(el.innerText)",
            arg=[prompt.element_handle(), before])
        return json.loads(self.state_cell.locator(".jp-OutputArea-output").inner_text())
