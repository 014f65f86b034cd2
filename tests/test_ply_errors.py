"""Every refusal of the loader: a bad file gives SplatFormatError with one line naming it."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest

import splatlab
import splatlab.core.ply
from splatlab import SplatFormatError

HEAD = b"ply\nformat binary_little_endian 1.0\n"
XYZ = b"property float x\nproperty float y\nproperty float z\n"


def _write(tmp_path, data: bytes, name: str = "bad.ply"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _refused(path, *words: str) -> str:
    with pytest.raises(SplatFormatError) as info:
        splatlab.load(path)
    message = str(info.value)
    assert message.startswith(str(path) + ": ")
    assert "\n" not in message
    for word in words:
        assert word in message, message
    return message


def test_empty_file(tmp_path):
    _refused(_write(tmp_path, b""), "empty file")


def test_not_a_ply(tmp_path):
    _refused(_write(tmp_path, b"solid cube\nfacet normal 0 0 1\n"), "not a PLY")


def test_missing_end_header(tmp_path):
    _refused(_write(tmp_path, HEAD + b"element vertex 1\n" + XYZ), "missing 'end_header'")


def test_header_larger_than_bound(tmp_path):
    comments = b"comment " + b"x" * 70 + b"\n"
    data = HEAD + comments * 20_000 + b"element vertex 0\n" + XYZ + b"end_header\n"
    assert len(data) > splatlab.core.ply.MAX_HEADER_BYTES
    _refused(_write(tmp_path, data), "larger than 1 MiB")


@pytest.mark.parametrize("line", [b"format binary_middle_endian 1.0\n", b"format ascii 2.0\n"])
def test_unknown_format_or_version(tmp_path, line):
    data = b"ply\n" + line + b"element vertex 0\n" + XYZ + b"end_header\n"
    _refused(_write(tmp_path, data), "bad header")


def test_unknown_property_type(tmp_path):
    data = HEAD + b"element vertex 1\nproperty half x\nend_header\n" + b"\0\0"
    _refused(_write(tmp_path, data), "half")


def test_duplicate_property(tmp_path):
    data = HEAD + b"element vertex 1\nproperty float x\nproperty float x\nend_header\n" + bytes(8)
    _refused(_write(tmp_path, data), "same name")


def test_list_property_in_vertex(tmp_path):
    data = HEAD + b"element vertex 1\nproperty list uchar float x\nend_header\n" + b"\1" + bytes(4)
    _refused(_write(tmp_path, data), "list property 'x'")


def test_negative_count(tmp_path):
    _refused(_write(tmp_path, HEAD + b"element vertex -5\n" + XYZ + b"end_header\n"), "negative")


def test_impossible_count_fails_at_once_allocating_nothing(tmp_path):
    path = _write(tmp_path, HEAD + b"element vertex 1000000000000\n" + XYZ + b"end_header\n"
                  + bytes(12))
    tracemalloc.start()
    _refused(path, "truncated body", "1,000,000,000,000")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20


def test_truncated_binary_body(tmp_path):
    _refused(_write(tmp_path, HEAD + b"element vertex 3\n" + XYZ + b"end_header\n" + bytes(35)),
             "truncated body", "36 bytes", "35 bytes")


def test_truncated_element_after_vertex(tmp_path):
    data = (HEAD + b"element vertex 1\n" + XYZ + b"element extra 2\nproperty int k\n"
            + b"end_header\n" + bytes(12) + bytes(4))
    _refused(_write(tmp_path, data), "truncated body", "after 'vertex'")


def test_no_vertex_element(tmp_path):
    data = HEAD + b"element face 0\nproperty list uchar int vertex_indices\nend_header\n"
    _refused(_write(tmp_path, data), "no 'vertex' element")


def test_non_ascii_header(tmp_path):
    data = HEAD + "comment caf\u00e9\n".encode() + b"element vertex 0\n" + XYZ + b"end_header\n"
    _refused(_write(tmp_path, data), "not ASCII")


@pytest.mark.parametrize("row", [b"1 2 abc\n", b"1 2\n", b"1 2 3 4\n"])
def test_unparsable_ascii_row(tmp_path, row):
    data = b"ply\nformat ascii 1.0\nelement vertex 2\n" + XYZ + b"end_header\n1 2 3\n" + row
    _refused(_write(tmp_path, data), "row 1")


def test_ascii_integer_out_of_range(tmp_path):
    data = b"ply\nformat ascii 1.0\nelement vertex 1\nproperty uchar k\nend_header\n300\n"
    _refused(_write(tmp_path, data), "does not fit")


def test_truncated_ascii_body(tmp_path):
    data = b"ply\nformat ascii 1.0\nelement vertex 3\n" + XYZ + b"end_header\n1 2 3\n"
    _refused(_write(tmp_path, data), "truncated body")


def test_missing_file_and_folder(tmp_path):
    _refused(tmp_path / "absent.ply", "cannot open")
    _refused(tmp_path, "folder")


def test_trailing_bytes_load_with_warning(tmp_path):
    body = np.arange(6, dtype="<f4").tobytes()
    path = _write(tmp_path, HEAD + b"element vertex 2\n" + XYZ + b"end_header\n" + body + b"junk")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        splat = splatlab.load(path)
    assert splat.positions.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert any("4 trailing bytes" in str(w.message) for w in caught)
    out = tmp_path / "copy.ply"
    splatlab.save(splat, out)
    assert out.read_bytes() == path.read_bytes()


def test_crlf_header_is_tolerated(tmp_path):
    body = np.arange(3, dtype="<f4").tobytes()
    header = (HEAD + b"element vertex 1\n" + XYZ + b"end_header\n").replace(b"\n", b"\r\n")
    path = _write(tmp_path, header + body)
    assert splatlab.load(path).positions.tolist() == [[0, 1, 2]]
