"""Round trips over random layouts: unchanged -> identical bytes; changed -> reload equal."""

from __future__ import annotations

import numpy as np
import plyfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import splatlab

TYPES = ["i1", "u1", "i2", "u2", "i4", "u4", "f4", "f8"]
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
NAMES = ["x", "y", "z", "opacity", "scale_0", "rot_0", "f_dc_0", "red", "weird_prop", "nx"]


@st.composite
def ply_files(draw):
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6, unique=True))
    types = [draw(st.sampled_from(TYPES)) for _ in names]
    count = draw(st.integers(0, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    table = np.zeros(count, [(n, t) for n, t in zip(names, types)])
    for name, t in zip(names, types):
        dtype = np.dtype(t)
        if dtype.kind == "f":
            values = rng.normal(0, 10, count).astype(dtype)
            if count and draw(st.booleans()):
                values[rng.integers(count)] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        else:
            info = np.iinfo(dtype)
            values = rng.integers(info.min, info.max, count, endpoint=True, dtype=dtype)
        table[name] = values
    elements = [plyfile.PlyElement.describe(table, "vertex")]
    if draw(st.booleans()):
        faces = np.empty(2, [("vertex_indices", object)])
        faces["vertex_indices"] = [np.array([0, 1, 2], "i4"), np.array([1, 2], "i4")]
        elements.append(plyfile.PlyElement.describe(faces, "face"))
    text = draw(st.sampled_from(["ascii", "<", ">"]))
    comments = draw(st.lists(st.sampled_from(["made by a test", "x y z", "TRELLIS"]), max_size=2))
    obj_info = draw(st.lists(st.just("obj info line"), max_size=1))
    byte_order = "=" if text == "ascii" else text
    data = plyfile.PlyData(elements, text=text == "ascii", byte_order=byte_order,
                           comments=comments, obj_info=obj_info)
    return data, draw(st.booleans())


def _write(data: plyfile.PlyData, path, crlf: bool) -> bytes:
    data.write(str(path))
    raw = path.read_bytes()
    if crlf:
        end = raw.index(b"end_header\n") + len(b"end_header\n")
        raw = raw[:end].replace(b"\n", b"\r\n") + raw[end:]
        path.write_bytes(raw)
    return raw


@SETTINGS
@given(ply_files())
def test_unchanged_is_byte_identical(tmp_path_factory, case):
    data, crlf = case
    folder = tmp_path_factory.mktemp("rt")
    original = _write(data, folder / "in.ply", crlf)
    splat = splatlab.load(folder / "in.ply")
    splatlab.save(splat, folder / "out.ply")
    assert (folder / "out.ply").read_bytes() == original


@SETTINGS
@given(ply_files(), st.integers(0, 2**32 - 1))
def test_changed_reloads_equal(tmp_path_factory, case, seed):
    data, crlf = case
    folder = tmp_path_factory.mktemp("rt")
    _write(data, folder / "in.ply", crlf)
    splat = splatlab.load(folder / "in.ply")
    name = splat.properties[0]
    dtype = splat.table.dtype[name].newbyteorder("=")
    rng = np.random.default_rng(seed)
    if dtype.kind == "f":
        new = rng.normal(0, 5, splat.count).astype(dtype)
    else:
        info = np.iinfo(dtype)
        new = rng.integers(info.min, info.max, splat.count, endpoint=True, dtype=dtype)
    changed = splat.replace(**{name: new})
    splatlab.save(changed, folder / "out.ply")
    back = splatlab.load(folder / "out.ply")
    assert back.properties == splat.properties
    assert back.header.format == splat.header.format
    assert [e.name for e in back.header.elements] == [e.name for e in splat.header.elements]
    np.testing.assert_array_equal(back.column(name), new)
    for other in splat.properties[1:]:
        np.testing.assert_array_equal(back.column(other), splat.column(other))
        assert back.table.dtype[other] == splat.table.dtype[other]
    assert back.header.raw == splat.header.raw  # provenance goes in sidecars, not the header
    assert back.header.obj_info == splat.header.obj_info
    assert bytes(back.provenance.raw.tail) == bytes(splat.provenance.raw.tail)
    # a comment only when asked for, and a repeated one kept once
    splatlab.save(back.replace(**{name: new}), folder / "again.ply", comment="fixed")
    splatlab.save(splatlab.load(folder / "again.ply"), folder / "twice.ply", comment="fixed")
    again = splatlab.load(folder / "twice.ply").header.comments
    assert again.count("fixed") == 1 and set(splat.header.comments) <= set(again)
