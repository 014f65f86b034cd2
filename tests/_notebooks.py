"""The project's notebooks at test scale, for tests/test_notebooks.py (nbclient) and
tests/test_browser_notebooks.py (JupyterLab in Chromium).

Example:
    >>> [p.name for p in NOTEBOOKS][0]
    '01_reproduce_incident.ipynb'
    >>> bool(PLOTS.search('plots.histogram(s, "x")')), bool(PLOTS.search("np.histogram(x)"))
    (True, False)
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
SMALL = 0.02
"""The notebooks' ``SCALE`` in tests: a fiftieth of the incident's files."""
EXTRA_SMALL = {"02_noise_fix_on_gpu.ipynb": "VIEWS = 2\nRESOLUTION = 64\nREPEAT = 2"}
"""Further parameters a notebook needs at test scale (fewer, smaller renders)."""
PLOTS = re.compile(r"(?<![\w.])(?:(?:splatlab\.)?(?:plots|preview)\.|splatlab\.)?"
                   r"(?:histogram|field_grid|render_grid|point_view|montage)\(")
"""A call of a splatlab function that returns a figure or an image (not ``np.histogram``)."""


def plotting_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indexes of the code cells that call a splatlab function returning a figure or image."""
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and PLOTS.search(c.source)]


def at_test_scale(path: Path, out: Path) -> nbformat.NotebookNode:
    """The notebook at ``path`` with a cell after its ``parameters`` cell that sets the test
    scale and writes under ``out``, as papermill would inject it."""
    nb = nbformat.read(path, as_version=4)
    index = next(i for i, c in enumerate(nb.cells)
                 if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(
        f"SCALE = {SMALL}\nOUT = {str(out)!r}\n{EXTRA_SMALL.get(path.name, '')}"))
    return nb
