"""Every notebook runs top to bottom at a small scale and is stored without outputs; every
cell that plots shows a PNG, and no figure shows as the text ``<Figure size ...>``."""

from __future__ import annotations

import nbformat
import pytest
from _notebooks import NOTEBOOKS, PLOTS, at_test_scale, plotting_cells
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient


def test_plot_calls_are_found():
    assert PLOTS.search('plots.histogram(s, "x")') and PLOTS.search("render_grid(images)")
    assert not PLOTS.search("np.histogram(x)") and not PLOTS.search("chunk_histogram(b)")
    found = {p.name: plotting_cells(nbformat.read(p, as_version=4)) for p in NOTEBOOKS}
    assert found["01_reproduce_incident.ipynb"] and found["02_noise_fix_on_gpu.ipynb"], found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, path.name
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "SCALE = 1.0" in tagged[0].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_runs_top_to_bottom(path, tmp_path):
    assert "python3" in KernelSpecManager().find_kernel_specs()
    nb = at_test_scale(path, tmp_path / "out")
    client = NotebookClient(nb, kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    for i in plotting_cells(nb):  # shown as an image in a kernel without %matplotlib inline
        kinds = [sorted(o.get("data", {})) or o.output_type for o in nb.cells[i].outputs]
        assert any("image/png" in kind for kind in kinds), (i, nb.cells[i].source, kinds)
    texts = [str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
             for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [t for t in texts if "<Figure size" in t]
