"""Whatever splatlab writes, from an input the submission path accepts, the path accepts too.

The real ``pyspz.compress`` refused every PLY splatlab used to write (a ``comment`` line
after ``format``); these tests hold every writer to the library's rules
(:func:`splatlab.loadchain.submission_problems`, checked against the real library's
verdicts in ``tests/test_spz.py``).
"""

from __future__ import annotations

import numpy as np
import pytest

import splatlab
from splatlab import incident, synth
from splatlab.cli.main import EXIT_OK, main
from splatlab.data import trellis_like
from splatlab.loadchain import LOGIT_1E4, submission_problems
from splatlab.repair.export import export


@pytest.fixture
def source(tmp_path):
    path = splatlab.save(trellis_like(8_000, opacity=LOGIT_1E4), tmp_path / "in.ply")
    assert submission_problems(path) == []
    return path


def test_save_of_a_changed_splat(source, tmp_path):
    splat = splatlab.load(source)
    out = splatlab.save(splat.replace(opacity=np.zeros(splat.count)), tmp_path / "out.ply")
    assert submission_problems(out) == []
    taken = splatlab.save(splat.take(np.arange(7_500)), tmp_path / "taken.ply")
    assert submission_problems(taken) == []
    # a comment only when asked for, and then the path says so
    commented = splatlab.save(splat, tmp_path / "commented.ply", comment="fixed by hand")
    assert submission_problems(commented)[0].startswith("line 3 must start 'element vertex '")


def test_export_and_every_repair(source, tmp_path):
    splat = splatlab.load(source)
    fixed, record = splatlab.repair.auto(splat)
    export(source, fixed, record, tmp_path / "auto.ply")
    assert submission_problems(tmp_path / "auto.ply") == []
    assert record.gate_after is record.steps[-1].gate_after
    assert record.gate_after.passed and record.gate_after.path == "submission"
    for strategy in ("uniform_noise", "nonfinite", "scales"):
        assert main(["repair", str(source), "-o", str(tmp_path / f"{strategy}.ply"),
                     "--strategy", strategy, "--seed", "1"]) == EXIT_OK
        assert submission_problems(tmp_path / f"{strategy}.ply") == [], strategy


def test_synthetic_and_incident_files(tmp_path):
    for name, splat in (("trellis", synth.trellis(7_040)), ("inria", synth.inria(2_000))):
        assert submission_problems(splatlab.save(splat, tmp_path / f"{name}.ply")) == []
    built = incident.build(tmp_path / "incident", 0.01, incident.documented())
    for folder in ("raw", "submitted", "validator"):
        for path in built[folder]:
            assert submission_problems(path) == [], path


def test_take_and_comment_on_a_header_with_indented_lines(tmp_path):
    # plyfile reads headers whose lines start with blanks; rewriting them must not break
    columns = trellis_like(64)
    path = splatlab.save(columns, tmp_path / "plain.ply")
    data = path.read_bytes()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    lines = data[:end].split(b"\n")
    indented = b"\n".join([lines[0], *(b"  " + ln for ln in lines[1:-2]), *lines[-2:]])
    (tmp_path / "indented.ply").write_bytes(indented + data[end:])
    splat = splatlab.load(tmp_path / "indented.ply")
    taken = splatlab.save(splat.take(np.arange(10)), tmp_path / "taken.ply")
    assert splatlab.load(taken).count == 10
    commented = splatlab.save(splat, tmp_path / "commented.ply", comment="note")
    assert splatlab.load(commented).header.comments == ("note",)
