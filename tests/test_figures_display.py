"""What a notebook user sees: figures and point views show as PNG images in a fresh kernel
(no ``%matplotlib inline``), once each with the inline backend on, and open3d prints nothing.

The notebooks are generated and run with nbclient in a new ``python3`` kernel, as JupyterLab,
the classic notebook and VS Code run theirs (all ipykernel).
"""

from __future__ import annotations

import base64
import re

import nbformat
import pytest
from nbclient import NotebookClient

from splatlab.viz.preview import rendering_available

SETUP = """\
import sys
import torch
from IPython.display import display
from splatlab import synth
from splatlab.viz import plots, preview
from splatlab.rendering.rasterizer import RenderResult
splat = synth.trellis(count=32 * 100, seed=0)
pixels = RenderResult(torch.rand(16, 16, 3), torch.ones(16, 16))"""

SHOWN = {  # cells whose figure or image must show as one PNG
    "histogram": 'plots.histogram(splat, "opacity", log_count=True)',
    "two histograms": 'plots.histogram([splat, splat], "scale_0", raw=False, labels=["a", "b"])',
    "field grid": "plots.field_grid(splat, bins=16)",
    "render grid": 'plots.render_grid({"a": [pixels, pixels], "b": [pixels]}, title="t")',
    "point view": 'preview.point_view(splat, color_by="opacity")',
    "montage": "preview.montage([preview.point_view(splat)] * 2)",
    "display()": 'display(plots.histogram(splat, "alpha"))\nprint("after")',
}
INLINE = {  # the same after %matplotlib inline: still exactly one image
    "inline histogram": 'plots.histogram(splat, "opacity")',
    "inline render grid": 'plots.render_grid({"a": [pixels]})',
    "inline display()": 'fig = plots.field_grid(splat, bins=8)\ndisplay(fig)',
}


def _run(cells: list[str], tmp_path) -> list[nbformat.NotebookNode]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert not errors, "\n".join(f"{o.ename}: {o.evalue}" for o in errors)
    return nb.cells


def _texts(cell) -> list[str]:
    """Every text in a cell's outputs: streams and all non-image representations."""
    texts = []
    for output in cell.outputs:
        texts.append(output.get("text", ""))
        texts += [str(v) for k, v in output.get("data", {}).items() if not k.startswith("image/")]
    return texts


def _pngs(cell) -> list[bytes]:
    return [base64.b64decode(o.data["image/png"]) for o in cell.outputs
            if "image/png" in o.get("data", {})]


def test_figures_show_as_images_in_a_fresh_kernel(tmp_path):
    probe = "'matplotlib.pyplot' in sys.modules, sys.modules['matplotlib'].get_backend()"
    cells = _run([SETUP, *SHOWN.values(), probe, "%matplotlib inline", *INLINE.values()],
                 tmp_path)
    shown = dict(zip([*SHOWN, "probe", "magic", *INLINE], cells[1:]))
    # splatlab itself never imported pyplot (the kernel's default backend is inline)
    assert shown["probe"].outputs[0].data["text/plain"].startswith("(False, ")
    for name in [*SHOWN, *INLINE]:
        cell = shown[name]
        pngs = _pngs(cell)
        assert len(pngs) == 1, (name, [list(o.get("data", o)) for o in cell.outputs])
        assert pngs[0].startswith(b"\x89PNG"), name
        assert not any("<Figure size" in text for text in _texts(cell)), (name, _texts(cell))
    assert "after\n" in _texts(shown["display()"])
    # the inline backend's formatter draws INLINE (same image as ours, not a second one)
    assert [o.output_type for o in shown["inline display()"].outputs] == ["display_data"]


def test_open3d_prints_nothing_into_the_cell(tmp_path):
    pytest.importorskip("open3d")
    cells = [SETUP, "cloud = preview.to_open3d(splat)"]
    if rendering_available()[0]:
        cells.append("from splatlab.rendering.cameras import orbit_cameras\n"
                     "camera = orbit_cameras(1, 2.5, 0.0, 50.0, 24, 24)\n"
                     "preview.render_open3d(splat, camera)[0].shape")
    cells.append("import open3d\nopen3d.utility.get_verbosity_level()")
    ran = _run(cells, tmp_path)
    streams = [o.text for c in ran for o in c.outputs if o.output_type == "stream"]
    assert not streams, streams
    assert re.search(r"VerbosityLevel\.Error", ran[-1].outputs[0].data["text/plain"])
    if len(cells) == 4:
        assert ran[2].outputs[0].data["text/plain"] == "(24, 24, 3)"
