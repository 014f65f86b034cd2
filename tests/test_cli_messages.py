"""What the command line says: one line an error, words a person reads without a manual."""

from __future__ import annotations

from splatlab import save
from splatlab.cli.main import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK, main
from splatlab.data import trellis_like


def test_a_second_incident_build_names_the_flag(tmp_path, capsys):
    from splatlab import incident

    incident.build(tmp_path, 0.001, incident.documented().iloc[:1])
    assert main(["incident", "build", str(tmp_path), "--scale", "0.001"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--overwrite" in err[0] and "overwrite=True" not in err[0]


def test_scan_of_unreadable_files_prints_no_empty_table(tmp_path, capsys):
    (tmp_path / "a.ply").write_bytes(b"ply\nnot really\n")
    assert main(["scan", str(tmp_path)]) == EXIT_FINDINGS  # a file that fails is a row
    captured = capsys.readouterr()
    assert "Empty DataFrame" not in captured.out
    assert "a.ply" in captured.out and "unreadable" in captured.out
    assert len(captured.err.strip().splitlines()) == 1
    (tmp_path / "a.ply").unlink()
    assert main(["scan", str(tmp_path)]) == EXIT_BAD_INPUT  # nothing to scan
    captured = capsys.readouterr()
    assert "Empty DataFrame" not in captured.out and captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1


def test_counts_are_plural_only_when_more_than_one(tmp_path, capsys):
    path = save(trellis_like(8_000), tmp_path / "a.ply")
    assert main(["diagnose", str(path)]) == EXIT_OK
    head = capsys.readouterr().out.splitlines()[0]
    assert "0 errors, 0 warnings, 1 info" in head


def test_repair_prints_one_short_line_a_file(tmp_path, capsys):
    path = save(trellis_like(8_000, opacity=-9.21024), tmp_path / "a.ply")
    assert main(["repair", str(path), "-o", str(tmp_path / "b.ply"), "--strategy",
                 "uniform_noise", "--seed", "0"]) == EXIT_OK
    (line,) = capsys.readouterr().out.splitlines()
    summary = line.split("b.ply: ", 1)[1]
    assert summary == "uniform_noise: touched 8,000 gaussians; gate reject -> reject"


def test_tables_fit_100_columns_unless_wide(tmp_path, capsys):
    from splatlab import incident

    built = incident.build(tmp_path, 0.001, incident.documented())
    for command in (["stats", built.loc["g01", "raw"]], ["scan", str(tmp_path)]):
        main(command)
        narrow = [line for line in capsys.readouterr().out.splitlines()
                  if not line.startswith("==")]  # the file's own path heads a stats table
        assert narrow and max(map(len, narrow)) <= 100, command
        main([command[0], "--wide", *command[1:]])
        wide = capsys.readouterr().out.splitlines()
        assert max(map(len, wide)) > 100, command
    main(["scan", str(tmp_path)])
    rows = capsys.readouterr().out.splitlines()[2:]
    # every file is a row: the build's manifest too (not a splat: "unreadable")
    assert {r.split()[0].split("/")[0] for r in rows} == {"manifest.csv", "raw", "submitted",
                                                          "validator"}


def _trailing_bytes_file(tmp_path, name="trailing.ply"):
    path = tmp_path / name
    save(trellis_like(64, seed=1), path)
    with open(path, "ab") as f:
        f.write(b"\0" * 7)
    return path


def test_a_file_that_loads_with_a_warning_prints_it_once(tmp_path, capsys):
    path = _trailing_bytes_file(tmp_path)
    assert main(["info", str(path)]) == EXIT_OK
    err = capsys.readouterr().err.splitlines()
    assert err == [f"splatlab: warning: {path}: 7 trailing bytes after the declared body"
                   " (kept as they are)"]


def test_a_refused_file_gets_its_error_line_alone(tmp_path, capsys):
    """The load warns of trailing bytes, then diff refuses the pair: one line, no warning."""
    path = _trailing_bytes_file(tmp_path)
    other = tmp_path / "other.ply"
    save(trellis_like(32, seed=2), other)
    assert main(["diff", str(path), str(other)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "warning" not in err[0]
    assert str(path) in err[0] and str(other) in err[0]


def test_a_system_error_is_one_line_naming_the_file(tmp_path, capsys):
    folder = tmp_path / "no-such-folder"
    source = tmp_path / "a.ply"
    save(trellis_like(32, seed=1), source)
    assert main(["convert", str(source), str(folder / "a.spz")]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and str(folder) in err[0] and "internal error" not in err[0]
