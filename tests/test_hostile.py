"""Defect classes the fuzzer of issue 15 found, each built here in a temporary folder."""

from __future__ import annotations

import numpy as np
import pytest
from _splats import trellis_columns

import splatlab
from splatlab import Splat, SplatFormatError
from splatlab.cli.main import EXIT_BAD_INPUT, main
from splatlab.world.trellis import PROPERTIES


def _binary_file(path, newline: bytes, body: bytes, count: int, names=("x", "y")) -> None:
    lines = [b"ply", b"format binary_little_endian 1.0", b"element vertex %d" % count,
             *(b"property float " + n.encode() for n in names), b"end_header"]
    path.write_bytes(newline.join(lines) + newline + body)


def test_a_cr_header_keeps_a_body_that_starts_with_a_line_feed(tmp_path):
    # the first float's first byte is 0x0A: the loader must not eat it as part of a line end
    values = np.array([[np.frombuffer(b"\x0a\x00\x80\x3f", "<f4")[0], 2.0],
                       [3.0, 4.0]], "<f4")
    path = tmp_path / "cr.ply"
    _binary_file(path, b"\r", values.tobytes(), 2)
    splat = splatlab.load(path)
    np.testing.assert_array_equal(splat.column("x"), values[:, 0])
    np.testing.assert_array_equal(splat.column("y"), values[:, 1])
    # and a CR header is rewritten with its own line ends: take reloads
    taken = splatlab.load(splatlab.save(splat.take([1]), tmp_path / "taken.ply"))
    assert taken.count == 1 and taken.column("y").tolist() == [4.0]


def test_an_ascii_body_with_bytes_that_are_not_text_is_refused_in_one_line(tmp_path):
    path = tmp_path / "ascii.ply"
    path.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nend_header\n"
                     b"1.0\n\xff\xfe\n")
    with pytest.raises(SplatFormatError, match="row 1 of 'vertex': property 'x' holds bytes"):
        splatlab.load(path)


def test_a_file_name_with_a_newline_gives_one_line(tmp_path, capsys):
    path = tmp_path / "two\nlines.ply"
    path.write_bytes(b"not a ply")
    with pytest.raises(SplatFormatError) as caught:
        splatlab.load(path)
    assert "\n" not in str(caught.value) and "two\\nlines.ply" in str(caught.value)
    assert main(["info", str(path)]) == EXIT_BAD_INPUT
    assert len(capsys.readouterr().err.splitlines()) == 1


@pytest.mark.parametrize("name", ["alpha", "linear_scale_0", "scale_max", "anisotropy",
                                  "volume", "quat_norm"])
def test_stored_properties_named_like_derived_rows_are_kept_apart(name):
    columns = trellis_columns(8_000)
    columns[name] = columns.pop("nx")
    splat = Splat.from_arrays(columns)
    table = splatlab.stats(splat)
    assert table.index.is_unique and f"{name} (derived)" in table.index
    assert table.loc[name, "mean"] == pytest.approx(float(columns[name].mean()), rel=1e-6)
    splatlab.diagnose(splat)  # runs: no TypeError or ValueError from a doubled label
    assert [n for n in PROPERTIES if n != "nx"] == [n for n in splat.properties if n != name]
