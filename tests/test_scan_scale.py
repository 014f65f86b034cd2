"""scan at scale: every file a row, the same rows on every executor (this process, local
processes, a real Dask LocalCluster), resume by sha256, reports read back, exit codes, the
dashboard link a notebook sees."""

from __future__ import annotations

import os
import shutil

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient

import splatlab
from conftest import FIXTURES
from splatlab import synth
from splatlab.analysis.scan_reports import read_report, write_report
from splatlab.analysis.scanning import expand, failing, scan, worst_first
from splatlab.cli.main import main
from splatlab.core.io import detect_format
from splatlab.loadchain import LOGIT_1E4

N = 32 * 250


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Healthy and corrupted PLY, SPZ, truncated, empty, not 3DGS, unknown, hidden, a FIFO,
    a link to a file and a link loop; with the real reference files of fixtures/spz."""
    root = tmp_path_factory.mktemp("mixed")
    healthy = synth.trellis(N, seed=3)
    splatlab.save(healthy, root / "healthy.ply")
    splatlab.save(healthy, root / "healthy.spz")
    splatlab.save(synth.corrupt(healthy, uniform={"opacity": LOGIT_1E4}), root / "uniform.ply")
    whole = (root / "healthy.ply").read_bytes()
    (root / "truncated.ply").write_bytes(whole[: len(whole) // 2])
    (root / "empty.ply").write_bytes(b"")
    (root / "cloud.ply").write_bytes(b"ply\nformat ascii 1.0\nelement vertex 1\n"
                                     b"property float x\nend_header\n0\n")
    (root / "notes.txt").write_text("not a splat")
    (root / ".hidden.ply").write_bytes(whole)
    (root / "sub").mkdir()
    (root / "sub" / "link.ply").symlink_to(root / "healthy.ply")
    (root / "sub" / "loop").symlink_to(root)  # a folder that contains itself
    os.mkfifo(root / "sub" / "pipe")
    spz_fixtures = FIXTURES / "spz"
    if spz_fixtures.exists():
        for name in ("edge_sh1.ply", "edge_sh1.spz", "hamburger.spz"):  # the real library's
            (root / "reference").mkdir(exist_ok=True)
            (root / "reference" / name).symlink_to(spz_fixtures / name)
    return root


@pytest.fixture(scope="module")
def serial(mixed):
    return scan(mixed, workers=1)


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as local, \
            distributed.Client(local) as client:
        yield client


def test_every_file_is_a_row(mixed, serial):
    names = [os.path.relpath(f, mixed) for f in serial["file"]]
    expected = ["cloud.ply", "empty.ply", "healthy.ply", "healthy.spz", "notes.txt",
                "sub/link.ply", "sub/pipe", "truncated.ply", "uniform.ply"]
    if (mixed / "reference").exists():
        expected += ["reference/edge_sh1.ply", "reference/edge_sh1.spz",
                     "reference/hamburger.spz"]
    assert names == sorted(expected)  # sorted paths; no hidden file; the loop walked once
    errors = dict(zip(names, serial["error"]))
    assert errors["empty.ply"].endswith("empty file")
    assert "not a PLY, SPZ" in errors["notes.txt"]
    assert "not a 3DGS file" in errors["cloud.ply"]
    assert errors["sub/pipe"].endswith("not a regular file")
    assert errors["truncated.ply"].startswith(str(mixed / "truncated.ply"))
    readable = serial[serial["error"].isna()]
    assert (readable["count"] > 0).all() and readable["sha256"].str.len().eq(64).all()
    assert readable["format"].tolist() == [detect_format(f) for f in readable["file"]]
    link = serial.set_index(pd.Index(names)).loc[["healthy.ply", "sub/link.ply"]]
    assert link["sha256"].nunique() == 1 and link["opacity_std"].nunique() == 1


def test_rows_equal_on_every_executor(mixed, serial, cluster):
    pd.testing.assert_frame_equal(scan(mixed, "processes", workers=2), serial,
                                  check_exact=True)
    on_dask = scan(mixed, cluster)
    pd.testing.assert_frame_equal(on_dask, serial, check_exact=True)
    assert on_dask.attrs["dashboard"] == cluster.dashboard_link
    address = f"dask://{cluster.scheduler.address}"  # a scheduler named by its address
    some = [mixed / "uniform.ply", mixed / "empty.ply"]
    pd.testing.assert_frame_equal(scan(some, address),
                                  serial[serial["file"].isin(map(str, some))]
                                  .reset_index(drop=True), check_exact=True)


def test_findings_and_verdicts_in_the_row(serial):
    row = serial[serial["file"].str.endswith("/uniform.ply")].iloc[0]
    report = splatlab.diagnose(splatlab.load(row["file"]))
    assert row["findings"].split() == list(dict.fromkeys(f"{f.code}:{f.severity}"
                                                          for f in report))
    assert row["worst"] == "error" and row["gate"] == "reject"
    order = worst_first(serial)
    assert failing(order).tolist() == sorted(failing(order).tolist(), reverse=True)


@pytest.mark.parametrize("kind", ["csv", "json", "html", "parquet"])
def test_each_report_format_reads_back(serial, tmp_path, kind):
    if kind == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            with pytest.raises(ValueError, match="pip install 'splatlab\\[parquet\\]'"):
                write_report(serial, tmp_path / "scan.parquet")
            return
    back = read_report(write_report(serial, tmp_path / f"scan.{kind}"))
    pd.testing.assert_frame_equal(back, serial, check_exact=True)


def test_resume_takes_known_files_from_the_report(mixed, tmp_path):
    folder = tmp_path / "more"
    folder.mkdir()
    for name in ("healthy.ply", "uniform.ply", "empty.ply"):
        shutil.copy(mixed / name, folder / name)
    before = scan(folder, workers=1)
    before.loc[before["file"].str.endswith("healthy.ply"), "opacity_mean"] = 123.0  # a marker
    report = write_report(before, tmp_path / "before.json")
    shutil.copy(mixed / "healthy.ply", folder / "renamed.ply")  # known content, a new name
    splatlab.save(synth.trellis(N, seed=9), folder / "new.ply")
    resumed = scan(folder, workers=1, resume=report).set_index("file")
    assert resumed.loc[str(folder / "healthy.ply"), "opacity_mean"] == 123.0  # not rescanned
    assert resumed.loc[str(folder / "renamed.ply"), "opacity_mean"] == 123.0  # same sha256
    new = resumed.loc[str(folder / "new.ply")]
    assert new["count"] == N and new["gate"] == "pass" and new["opacity_mean"] != 123.0
    assert len(resumed) == 5 and resumed.loc[str(folder / "uniform.ply"), "gate"] == "reject"


def test_cli_exit_codes_reports_and_links(mixed, tmp_path, capsys):
    healthy = str(mixed / "healthy.ply")
    assert main(["scan", healthy, "--quiet"]) == 0
    assert main(["scan", str(mixed / "uniform.ply"), "--quiet"]) == 3   # the gate rejects
    assert main(["scan", str(mixed / "empty.ply"), "--quiet"]) == 3     # unreadable
    capsys.readouterr()
    for args in (["scan", str(tmp_path / "nothing")], ["scan", healthy, "--report", "x.txt"],
                 ["scan", healthy, "--workers", "0"], ["scan", str(tmp_path / "*.ply")],
                 ["scan", healthy, "--resume", str(tmp_path / "none.csv")]):
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("splatlab: "), err
    (tmp_path / "empty_folder").mkdir()
    assert main(["scan", str(tmp_path / "empty_folder")]) == 2
    captured = capsys.readouterr()
    assert "no files found" in captured.err and "Empty DataFrame" not in captured.out
    page = tmp_path / "scan.html"
    assert main(["scan", healthy, str(mixed / "uniform.ply"), "--report", str(page),
                 "--case-reports", str(tmp_path / "cases"), "--quiet", "--workers", "1"]) == 3
    text = page.read_text()
    assert "http" not in text.replace("http-equiv", "")  # offline: no CDN, no link out
    rows = text.split("<tbody>")[1]
    assert rows.index("uniform.ply") < rows.index("healthy.ply")  # worst first
    link = rows.split("href='")[1].split("'")[0]
    assert not os.path.isabs(link) and (tmp_path / link).is_file()
    assert "uniform" in link and rows.count("href=") == 1  # only the failing file


def test_progress_stays_out_of_captured_output(mixed, capsys, monkeypatch):
    monkeypatch.delenv("SPLATLAB_PROGRESS", raising=False)
    assert main(["scan", str(mixed / "healthy.ply"), str(mixed / "healthy.spz"), "--csv",
                 "--workers", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and len(captured.out.splitlines()) == 3
    monkeypatch.setenv("SPLATLAB_PROGRESS", "1")
    scan([mixed / "healthy.ply", mixed / "healthy.spz"], workers=1)
    err = capsys.readouterr().err
    assert "scan" in err and "/2 files" in err


def test_expand_names_globs_and_missing_paths(mixed, tmp_path):
    gone = tmp_path / "gone.ply"
    found = expand([str(mixed / "*.ply"), mixed / "healthy.ply", gone])
    assert found == sorted([mixed / n for n in ("cloud.ply", "empty.ply", "healthy.ply",
                                                "truncated.ply", "uniform.ply")] + [gone],
                           key=str)  # the glob skips .hidden.ply; healthy.ply once


def test_a_notebook_sees_the_dashboard_link(mixed, tmp_path):
    pytest.importorskip("distributed")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from distributed import Client, LocalCluster\n"
        "import splatlab\n"
        "client = Client(LocalCluster(n_workers=1, processes=False, dashboard_address=':0'))\n"
        f"table = splatlab.scan({str(mixed / 'healthy.ply')!r}, executor=client)\n"
        "print(client.dashboard_link)")])
    NotebookClient(nb, kernel_name="python3", timeout=120,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[0].outputs
    link = next(o["text"] for o in outputs if o.get("name") == "stdout").strip()
    shown = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert link.startswith("http") and any(f"href='{link}'" in html for html in shown)


def test_bad_worker_count_and_executor():
    with pytest.raises(ValueError, match="workers"):
        scan([], workers=0)
    with pytest.raises(ValueError, match="unknown executor"):
        scan([], "nonsense")
    assert np.array_equal(scan([], workers=1).columns, scan([], "here").columns)


def test_gate_diagnose_and_repair_on_workers_say_what_they_say_here(mixed, tmp_path, capsys,
                                                                   cluster):
    files = [str(mixed / n) for n in ("healthy.ply", "uniform.ply", "empty.ply")]
    on_dask = ["--dask", cluster.scheduler.address]
    for command, where in ((["diagnose", *files], ["--workers", "2"]),
                           (["gate", "--json", *files], on_dask)):
        said = []
        for options in (["--workers", "1"], where):
            status = main([*command, *options])
            said.append((status, capsys.readouterr()))
        assert said[0] == said[1] and said[0][0] == 2, command  # 2: empty.ply is unreadable
        assert "uniform.ply" in said[0][1].out and "empty.ply" in said[0][1].err
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"fixed{workers}"
        assert main(["repair", *files[:2], "-o", str(out), "--strategy", "uniform_noise",
                     "--seed", "1", "--workers", workers]) == 0
        lines = capsys.readouterr().out.replace(str(out), "OUT").splitlines()
        outputs.append((lines, [p.read_bytes() for p in sorted(out.glob("*.ply"))]))
    assert outputs[0] == outputs[1] and len(outputs[0][1]) == 2
    twice = ["repair", files[0], files[0], "-o", str(tmp_path / "x"), "--strategy", "nonfinite"]
    assert main(twice) == 2 and "also the output of" in capsys.readouterr().err
