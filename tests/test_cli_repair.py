"""The diagnose, gate, repair and diff commands: output, exit codes, files left behind."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from splatlab import load, save
from splatlab.cli.main import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK, main
from splatlab.data import trellis_like
from splatlab.loadchain import LOGIT_1E4, miner_double_logit

N = 8192


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"healthy": tmp_path / "healthy.ply", "corrupt": tmp_path / "corrupt.ply",
             "chain": tmp_path / "chain.ply", "junk": tmp_path / "junk.ply"}
    save(trellis_like(N), paths["healthy"])
    save(trellis_like(N, opacity=LOGIT_1E4), paths["corrupt"])
    save(miner_double_logit(trellis_like(N)), paths["chain"])
    paths["junk"].write_text("not a ply\n")
    return paths


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def one_line_errors(err: str) -> list[str]:
    lines = err.strip().splitlines()
    assert all(line.startswith("splatlab: ") for line in lines) and "Traceback" not in err
    return lines


# ----------------------------------------------------------------------------- diagnose / gate
def test_diagnose_exit_codes(files, capsys):
    assert main(["diagnose", str(files["healthy"])]) == EXIT_OK
    assert main(["diagnose", str(files["corrupt"])]) == EXIT_FINDINGS
    out = capsys.readouterr().out
    assert "SL302" in out and "SL402" in out
    assert main(["diagnose", str(files["junk"]), str(files["healthy"])]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert "healthy.ply" in captured.out  # the batch went on
    assert one_line_errors(captured.err) == [f"splatlab: {files['junk']}: not a PLY, SPZ, SOG,"
                                             " .splat or .ksplat file (it starts b'not a pl')"]


def test_diagnose_json(files, capsys):
    assert main(["diagnose", "--json", str(files["corrupt"]), str(files["healthy"])]) == 3
    reports = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["has_errors"] for r in reports] == [True, False]


def test_diagnose_non_3dgs_file(tmp_path, capsys):
    from splatlab import Splat
    path = save(Splat.from_arrays({"x": np.zeros(4, np.float32)}), tmp_path / "points.ply")
    assert main(["diagnose", str(path)]) == EXIT_FINDINGS
    assert "SL001" in capsys.readouterr().out


def test_gate_command(files, capsys):
    assert main(["gate", str(files["healthy"])]) == EXIT_OK
    assert main(["gate", "--json", "--intended", str(files["corrupt"])]) == EXIT_FINDINGS
    lines = capsys.readouterr().out.splitlines()
    result = json.loads(lines[-1])
    assert result["intended"] and not result["passed"]
    assert "cannot fire as written" in lines[2]


# ----------------------------------------------------------------------------- repair
def test_repair_writes_output_and_sidecar(files, tmp_path, capsys):
    out = tmp_path / "fixed.ply"
    code = main(["repair", str(files["corrupt"]), "-o", str(out), "--strategy", "uniform_noise",
                 "--seed", "5"])
    assert code == EXIT_OK
    meta = json.loads((tmp_path / "fixed.ply.repair.json").read_text())
    assert meta["input_sha256"] == sha(files["corrupt"]) and meta["output_sha256"] == sha(out)
    assert meta["strategy"] == "uniform_noise" and meta["seed"] == 5
    assert meta["device"] == "numpy" and meta["splatlab_version"]
    assert meta["gate_before"]["passed"] is False and meta["gate_after"]["passed"] is False
    assert meta["stats_after"]["opacity"]["std"] == pytest.approx(2.0, abs=0.1)
    assert leftovers(tmp_path) == []
    assert "uniform_noise" in capsys.readouterr().out


def test_repair_refuses_to_overwrite(files, tmp_path, capsys):
    out = tmp_path / "fixed.ply"
    args = ["repair", str(files["corrupt"]), "-o", str(out), "--strategy", "uniform_noise"]
    assert main(args) == EXIT_OK
    before = sha(out)
    assert main(args) == EXIT_BAD_INPUT
    assert "exists" in one_line_errors(capsys.readouterr().err)[0]
    assert sha(out) == before
    assert main([*args, "--overwrite"]) == EXIT_OK


def test_repair_batch_into_a_folder_with_one_bad_file(files, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["repair", str(files["corrupt"]), str(files["junk"]), str(files["chain"]),
                 "-o", str(out), "--strategy", "undo_double_logit"])
    assert code == EXIT_BAD_INPUT
    assert sorted(p.name for p in out.iterdir()) == [
        "chain.ply", "chain.ply.repair.json", "corrupt.ply", "corrupt.ply.repair.json"]
    assert len(one_line_errors(capsys.readouterr().err)) == 1
    restored = load(out / "chain.ply")
    assert np.array_equal(miner_double_logit(restored).opacity, load(files["chain"]).opacity)


def test_repair_in_place_keeps_a_backup(files, capsys):
    original = sha(files["corrupt"])
    args = ["repair", str(files["corrupt"]), "--in-place", "--strategy", "uniform_noise"]
    assert main(args) == EXIT_OK
    backup = files["corrupt"].with_name("corrupt.ply.bak")
    assert sha(backup) == original and sha(files["corrupt"]) != original
    meta = json.loads(files["corrupt"].with_name("corrupt.ply.repair.json").read_text())
    assert meta["input_sha256"] == original and meta["backup"] == str(backup)
    assert main(args) == EXIT_OK  # a second run gets a timestamped backup
    assert len(list(files["corrupt"].parent.glob("corrupt.ply.*.bak"))) == 1


def test_sidecar_failure_leaves_nothing_behind(files, tmp_path, capsys):
    out = tmp_path / "fixed.ply"
    (tmp_path / "fixed.ply.repair.json").mkdir()  # the sidecar cannot be written
    code = main(["repair", str(files["corrupt"]), "-o", str(out), "--strategy", "uniform_noise",
                 "--overwrite"])
    assert code == EXIT_BAD_INPUT and not out.exists()
    assert len(one_line_errors(capsys.readouterr().err)) == 1
    assert leftovers(tmp_path) == []


def test_in_place_sidecar_failure_keeps_the_input(files, capsys):
    original = sha(files["corrupt"])
    (files["corrupt"].parent / "corrupt.ply.repair.json").mkdir()
    code = main(["repair", str(files["corrupt"]), "--in-place", "--strategy", "uniform_noise"])
    assert code == EXIT_BAD_INPUT and sha(files["corrupt"]) == original
    assert not files["corrupt"].with_name("corrupt.ply.bak").exists()
    assert leftovers(files["corrupt"].parent) == []


def test_repair_argument_errors(files, capsys):
    base = ["repair", str(files["corrupt"]), "-o", str(files["corrupt"].parent / "x.ply")]
    assert main([*base, "--strategy", "nonfinite", "--device", "cpu"]) == EXIT_BAD_INPUT
    assert main([*base, "--strategy", "match_distribution"]) == EXIT_BAD_INPUT
    assert len(one_line_errors(capsys.readouterr().err)) == 2


def test_repair_match_distribution_with_a_reference_file(files, tmp_path, capsys):
    out = tmp_path / "m.ply"
    code = main(["repair", str(files["corrupt"]), "-o", str(out), "--strategy",
                 "match_distribution", "--field", "opacity", "--reference", str(files["healthy"])])
    assert code == EXIT_OK
    assert np.array_equal(np.sort(load(out).opacity), np.sort(load(files["healthy"]).opacity))


# ----------------------------------------------------------------------------- diff
def test_diff_command(files, tmp_path, capsys):
    out = tmp_path / "fixed.ply"
    main(["repair", str(files["corrupt"]), "-o", str(out), "--strategy", "uniform_noise"])
    capsys.readouterr()
    assert main(["diff", str(files["corrupt"]), str(out), "--json"]) == EXIT_OK
    rows = {r["field"]: r for r in json.loads(capsys.readouterr().out)}
    assert [f for f, r in rows.items() if r["changed"]] == ["opacity"]
    assert main(["diff", str(files["corrupt"]), str(out), "--csv"]) == EXIT_OK
    assert capsys.readouterr().out.startswith("field,status,changed")
    assert main(["diff", str(files["corrupt"]), str(out)]) == EXIT_OK
    assert "opacity" in capsys.readouterr().out


def test_diff_command_errors(files, tmp_path, capsys):
    small = save(trellis_like(64), tmp_path / "small.ply")
    assert main(["diff", str(files["healthy"]), str(small)]) == EXIT_BAD_INPUT
    assert main(["diff", str(files["healthy"]), str(tmp_path / "missing.ply")]) == EXIT_BAD_INPUT
    assert len(one_line_errors(capsys.readouterr().err)) == 2


def test_python_dash_m(files):
    result = subprocess.run([sys.executable, "-m", "splatlab", "diagnose", str(files["corrupt"])],
                            capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert result.returncode == EXIT_FINDINGS and "SL402" in result.stdout


def test_repair_auto_many_files_into_a_folder(files, tmp_path, capsys):
    out = tmp_path / "fixed"
    code = main(["repair", str(files["chain"]), str(files["healthy"]), "-o", str(out),
                 "--strategy", "auto"])
    assert code == EXIT_OK
    meta = json.loads((out / "chain.ply.repair.json").read_text())
    assert meta["strategy"] == "auto"
    assert [step["strategy"] for step in meta["steps"]] == ["undo_double_logit"]
    assert meta["gate_after"]["passed"] is True
    assert meta["gate_before"] == meta["steps"][0]["gate_before"]
    assert meta["gate_after"] == meta["steps"][-1]["gate_after"]
    assert meta["output_sha256"] == sha(out / "chain.ply")
    healthy = json.loads((out / "healthy.ply.repair.json").read_text())
    assert healthy["steps"] == [] and healthy["triggered"] is False
    assert healthy["touched"]["count"] == 0 and healthy["gate_after"] == healthy["gate_before"]
    # nothing to repair: the export is the input, byte for byte
    assert sha(out / "healthy.ply") == sha(files["healthy"])
    lines = capsys.readouterr().out.splitlines()
    assert f"{files['chain']} -> {out / 'chain.ply'}: auto: undo_double_logit touched" in lines[0]
    assert lines[1].endswith(": auto: nothing to repair; gate pass")


def test_cli_strategy_names_are_the_registry():
    from splatlab.cli.commands.repair import STRATEGY_NAMES
    from splatlab.repair import STRATEGIES

    assert STRATEGY_NAMES == tuple(sorted(STRATEGIES))
