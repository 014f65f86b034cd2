"""Progress bars: drawn on a terminal or in a notebook, never into pipes or captured output."""

from __future__ import annotations

from splatlab.core import progress as bars


def test_no_bar_where_stderr_is_not_a_terminal(capsys, monkeypatch):
    monkeypatch.delenv("SPLATLAB_PROGRESS", raising=False)
    assert not bars.enabled()  # pytest captures stderr: not a terminal, not a notebook
    assert list(bars.progress(range(3), "work")) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_the_environment_turns_bars_on_and_off(capsys, monkeypatch):
    monkeypatch.setenv("SPLATLAB_PROGRESS", "1")
    assert list(bars.progress(range(3), "counting", unit="step")) == [0, 1, 2]
    assert "counting" in capsys.readouterr().err
    monkeypatch.setenv("SPLATLAB_PROGRESS", "0")
    assert not bars.enabled()


def test_the_incident_build_and_scan_show_their_progress(tmp_path, capsys, monkeypatch):
    from splatlab import incident, scan

    monkeypatch.setenv("SPLATLAB_PROGRESS", "1")
    built = incident.build(tmp_path, 0.001, incident.documented())
    scan(list(built["submitted"]))
    err = capsys.readouterr().err
    assert "incident build" in err and "generation" in err and "scan" in err


def test_a_repair_of_several_files_shows_its_progress(tmp_path, capsys, monkeypatch):
    from splatlab import data
    from splatlab.cli.main import main

    monkeypatch.setenv("SPLATLAB_PROGRESS", "1")
    files = [str(data.path("chained.ply")), str(data.path("corrupted.ply"))]
    assert main(["repair", *files, "--strategy", "auto", "-o", str(tmp_path / "out")]) == 0
    assert "repair" in capsys.readouterr().err


def test_a_kernel_without_ipywidgets_gets_a_text_bar_not_an_error():
    """A Jupyter kernel of the core install (no ``[notebook]`` extra): tqdm's widget bar
    would raise "IProgress not found"; the text bar is drawn instead (a real kernel)."""
    import nbformat
    from nbclient import NotebookClient

    cells = ["import sys; sys.modules['ipywidgets'] = None  # as if not installed",
             "import os; os.environ['SPLATLAB_PROGRESS'] = '1'",
             "from splatlab.core.progress import progress, tally\n"
             "print(list(progress(range(3), 'counting')))\n"
             "with tally('bytes', files=1, total_bytes=10) as advance:\n    advance(10)"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = notebook.cells[-1].outputs
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "[0, 1, 2]" in text and "counting" in text    # stdout, and the bar on stderr
