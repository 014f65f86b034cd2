"""The command line on the submission path: convert, gate on both paths, info of SPZ."""

from __future__ import annotations

import json

import numpy as np

from splatlab import load, save
from splatlab.cli.main import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK, main
from splatlab.data import trellis_like
from splatlab.loadchain import spz_roundtrip


def test_convert_ply_to_spz_and_back_is_the_validator_decode(tmp_path, capsys):
    splat = trellis_like(8_000)
    ply = save(splat, tmp_path / "a.ply")
    assert main(["convert", str(ply), str(tmp_path / "a.spz")]) == EXIT_OK
    out = capsys.readouterr().out
    assert "SPZ (zstd)" in out and "dropped: nx, ny, nz" in out
    assert main(["convert", str(tmp_path / "a.spz"), str(tmp_path / "back.ply")]) == EXIT_OK
    back, expected = load(tmp_path / "back.ply"), spz_roundtrip(splat)
    assert back.properties == expected.properties
    for name in back.properties:
        assert np.array_equal(back.column(name).view(np.uint32),
                              expected.column(name).view(np.uint32))
    assert main(["convert", str(ply), str(tmp_path / "n.bin"), "--to", "spz",
                 "--container", "gzip"]) == EXIT_OK
    assert (tmp_path / "n.bin").read_bytes()[:2] == b"\x1f\x8b"
    assert load(tmp_path / "n.bin").provenance.format.container == "gzip"


def test_convert_refuses_to_overwrite_and_to_write_over_its_input(tmp_path, capsys):
    ply = save(trellis_like(64), tmp_path / "a.ply")
    (tmp_path / "a.spz").write_bytes(b"taken")
    assert main(["convert", str(ply), str(tmp_path / "a.spz")]) == EXIT_BAD_INPUT
    assert (tmp_path / "a.spz").read_bytes() == b"taken"
    assert main(["convert", str(ply), str(ply), "--overwrite"]) == EXIT_BAD_INPUT
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all(line.startswith("splatlab: ") for line in errors)


def test_gate_shows_both_paths_and_refusals(tmp_path, capsys):
    identity = trellis_like(8_000).replace(quats=np.tile(np.float32([1, 0, 0, 0]), (8_000, 1)))
    path = save(identity, tmp_path / "identity.ply")
    assert main(["gate", str(path)]) == EXIT_OK  # what the validator receives passes
    out = capsys.readouterr().out
    assert "PASS [sn17" in out and "as-is: REJECT (rotation)" in out
    assert main(["gate", "--as-is", str(path)]) == EXIT_FINDINGS
    commented = save(trellis_like(8_000), tmp_path / "commented.ply", comment="by hand")
    assert main(["gate", "--json", str(commented)]) == EXIT_FINDINGS
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["verdict"] == "cannot be submitted" and result["as_is"]["passed"]


def test_info_names_format_container_and_version(tmp_path, capsys):
    ply = save(trellis_like(64), tmp_path / "a.ply")
    save(load(ply), tmp_path / "a.spz", container="gzip")
    assert main(["info", "--json", str(tmp_path / "a.spz")]) == EXIT_OK
    facts = json.loads(capsys.readouterr().out)
    assert (facts["format"], facts["container"], facts["layout"]) == ("spz", "gzip", "version 2")
    assert facts["quantised"] and facts["fractional_bits"] == 12
    commented = save(trellis_like(64), tmp_path / "c.ply", comment="x")
    assert main(["info", str(commented)]) == EXIT_OK
    assert "cannot be submitted (pyspz would refuse it): line 3" in capsys.readouterr().out
