"""The Splat type: views, activations, encoding evidence, torch, replace and save."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch

import splatlab
import splatlab.core.io
import splatlab.core.ply
from splatlab import Splat, SplatFieldError
from splatlab.core.fields import f_rest_names, inria_properties
from splatlab.data import trellis_like
from splatlab.rendering.transfer import to_torch
from splatlab.world.trellis import PROPERTIES as TRELLIS_PROPERTIES


def test_hamburger_accessors(hamburger_path):
    s = splatlab.load(hamburger_path)
    assert s.count == 52_709 and s.is_gaussian and s.sh_degree == 0
    assert isinstance(s.table, np.memmap)
    assert s.positions.shape == (52_709, 3) and np.shares_memory(s.positions, s.table)
    assert np.shares_memory(s.quats, s.table) and np.shares_memory(s.sh_dc, s.table)
    np.testing.assert_allclose(np.linalg.norm(s.quats, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(s.alpha, 1 / (1 + np.exp(-s.opacity.astype(np.float64))), rtol=1e-6)
    np.testing.assert_allclose(s.scales, np.exp(s.log_scales), rtol=1e-6)
    np.testing.assert_allclose(s.rgb, 0.5 + 0.28209479 * s.sh_dc.astype(np.float64), atol=1e-6)
    assert s.encoding.opacity_looks == "logit" and s.encoding.scales_look == "log"
    assert not s.encoding.mismatch
    assert s.sh_rest.shape == (52_709, 0, 3)
    assert "52,709" in s._repr_html_()


def test_views_are_read_only(hamburger_path):
    s = splatlab.load(hamburger_path)
    with pytest.raises(ValueError):
        s.positions[0, 0] = 1.0
    t = trellis_like(64)
    with pytest.raises(ValueError):
        t.opacity[0] = 1.0


def test_sh_rest_is_inria_channel_major():
    n, k = 5, 15
    cols = {name: np.zeros(n, np.float32) for name in inria_properties(3)}
    for i, name in enumerate(f_rest_names(45)):
        cols[name] = np.full(n, i, np.float32)
    s = Splat.from_arrays(cols)
    assert s.sh_degree == 3
    rest = s.sh_rest
    assert rest.shape == (n, k, 3)
    # f_rest index = channel * K + coefficient
    assert rest[0, 2, 1] == 1 * k + 2
    assert rest[0, 14, 2] == 2 * k + 14
    changed = s.replace(sh_rest=rest + 1)
    np.testing.assert_array_equal(changed.column("f_rest_17"), 18)


def test_sh_degree_checked_against_f_rest_count():
    cols = {name: np.zeros(2, np.float32) for name in inria_properties(0)}
    cols.update({name: np.zeros(2, np.float32) for name in f_rest_names(10)})
    with pytest.raises(SplatFieldError, match="10 f_rest properties fit no SH degree"):
        _ = Splat.from_arrays(cols).sh_degree


def test_point_cloud_is_not_gaussian():
    s = Splat.from_arrays({n: np.zeros(3, np.float32) for n in ("x", "y", "z")})
    assert not s.is_gaussian
    assert s.positions.shape == (3, 3)
    with pytest.raises(SplatFieldError, match="missing properties opacity"):
        _ = s.alpha
    with pytest.raises(SplatFieldError, match="scale_0, scale_1, scale_2"):
        _ = s.scales


def test_probability_declared_and_detected():
    p = np.array([0.1, 0.5, 0.9], np.float32)
    cols = {n: np.zeros(3, np.float32) for n in TRELLIS_PROPERTIES}
    cols["opacity"] = p
    as_logit = Splat.from_arrays(cols)
    assert as_logit.encoding.opacity_looks == "probability" and as_logit.encoding.mismatch
    np.testing.assert_allclose(as_logit.alpha, 1 / (1 + np.exp(-p)), rtol=1e-6)
    as_prob = Splat.from_arrays(cols, opacity_encoding="probability")
    np.testing.assert_array_equal(as_prob.alpha, p)
    assert as_prob.encoding.opacity == "probability" and as_prob.encoding.scales_look == "log"


def test_linear_scales_detected():
    cols = {n: np.ones(4, np.float32) for n in TRELLIS_PROPERTIES}
    s = Splat.from_arrays(cols)
    assert s.encoding.scales_look == "linear"
    assert s.encoding.evidence["scale_share_positive"] == 1.0


def test_to_torch_one_matrix():
    s = trellis_like(96)
    t = to_torch(s, "cpu")
    assert set(t) == {"positions", "normals", "sh_dc", "opacity", "log_scales", "quats"}
    np.testing.assert_array_equal(t["positions"].numpy(), s.positions)
    np.testing.assert_array_equal(t["opacity"].numpy(), s.opacity)
    assert t["quats"].dtype == torch.float32
    base = t["positions"].untyped_storage().data_ptr()
    assert all(v.untyped_storage().data_ptr() == base for v in t.values())


def test_replace_returns_new_and_keeps_input():
    s = trellis_like(64)
    before = s.opacity.copy()
    r = s.replace(opacity=np.zeros(s.count), log_scales=np.full((s.count, 3), -5.0))
    np.testing.assert_array_equal(s.opacity, before)
    assert not s.modified and r.modified
    assert r.changed_properties == ["opacity", "scale_0", "scale_1", "scale_2"]
    assert r.opacity.dtype == np.float32 and (r.log_scales == -5).all()
    with pytest.raises(ValueError, match="shape"):
        s.replace(opacity=np.zeros(3))
    with pytest.raises(ValueError, match="no property"):
        s.replace(colour=np.zeros(s.count))


def test_replace_refuses_lossy_integer_cast():
    s = Splat.from_arrays({"k": np.zeros(3, np.uint8)})
    assert s.replace(k=[1, 2, 255]).column("k").tolist() == [1, 2, 255]
    with pytest.raises(ValueError, match="do not fit"):
        s.replace(k=[1.5, 2, 3])
    with pytest.raises(ValueError, match="do not fit"):
        s.replace(k=[256, 0, 0])


def test_save_refuses_existing_then_overwrites(tmp_path):
    s = trellis_like(64)
    path = splatlab.save(s, tmp_path / "a.ply")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        splatlab.save(s, path)
    splatlab.save(s.replace(opacity=np.zeros(s.count)), path, overwrite=True)
    assert (splatlab.load(path).opacity == 0).all()


def test_save_onto_own_source_detaches(tmp_path):
    path = splatlab.save(trellis_like(64), tmp_path / "a.ply")
    loaded = splatlab.load(path)
    expected = loaded.opacity + 1
    splatlab.save(loaded.replace(opacity=expected), path, overwrite=True)
    np.testing.assert_array_equal(splatlab.load(path).opacity, expected)
    assert list(tmp_path.iterdir()) == [path]


def test_failed_save_leaves_nothing(tmp_path, monkeypatch):
    s = trellis_like(64)

    def broken(*args, **kwargs):
        yield b"partial"
        raise OSError("disk full")

    monkeypatch.setattr(splatlab.core.io, "iter_table_bytes", broken)
    with pytest.raises(OSError, match="disk full"):
        splatlab.save(s, tmp_path / "a.ply")
    assert list(tmp_path.iterdir()) == []


def test_load_maps_without_reading(tmp_path):
    """A 1M-gaussian file loads without reading its body: a sparse file maps instantly."""
    n = 1_000_000
    header = splatlab.core.ply.build_header([(p, "float") for p in TRELLIS_PROPERTIES], n, "<", [])
    path = tmp_path / "big.ply"
    with open(path, "wb") as f:
        f.write(header.raw)
        f.truncate(len(header.raw) + 68 * n)
    tracemalloc.start()
    s = splatlab.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert isinstance(s.table, np.memmap) and s.count == n
    assert peak < 1 << 20


@pytest.mark.parametrize("byte_order", ["<", ">", "="])
def test_take_keeps_layout(tmp_path, byte_order):
    cols = {"x": np.arange(5, dtype=np.float64), "k": np.arange(5, dtype=np.uint8)}
    s = Splat.from_arrays(cols, byte_order=byte_order).replace(x=np.arange(5) * 2.0)
    taken = s.take(np.array([True, False, True, False, True]))
    assert taken.count == 3 and taken.header.vertex.count == 3
    path = splatlab.save(taken, tmp_path / "t.ply")
    back = splatlab.load(path)
    assert back.column("x").tolist() == [0.0, 4.0, 8.0] and back.column("k").tolist() == [0, 2, 4]
    assert back.table.dtype == taken.table.dtype.newbyteorder(byte_order)
    assert back.header.format == s.header.format


def test_take_refuses_files_with_faces(tmp_path):
    header = (b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n"
              b"element face 1\nproperty list uchar int vertex_indices\nend_header\n")
    path = tmp_path / "f.ply"
    path.write_bytes(header + b"1\n1 0\n")
    with pytest.raises(ValueError, match="other elements"):
        splatlab.load(path).take([0])


def test_to_torch_gathers_scattered_and_big_endian_layouts(tmp_path):
    rng = np.random.default_rng(3)
    order = ["x", "y", "z", "rot_0", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0",
             "scale_1", "scale_2", "rot_1", "rot_2", "rot_3"]  # quaternion split in two
    scattered = Splat.from_arrays({n: rng.normal(size=50).astype(np.float32) for n in order})
    t = to_torch(scattered, "cpu")
    np.testing.assert_array_equal(t["quats"].numpy(), scattered.quats)
    np.testing.assert_array_equal(t["log_scales"].numpy(), scattered.log_scales)
    big = splatlab.save(Splat.from_arrays({n: rng.normal(size=50).astype(np.float32)
                                           for n in TRELLIS_PROPERTIES}, byte_order=">"),
                        tmp_path / "big.ply")
    loaded = splatlab.load(big)
    t = to_torch(loaded, "cpu")
    np.testing.assert_array_equal(t["positions"].numpy(), loaded.positions)
    np.testing.assert_array_equal(t["opacity"].numpy(), loaded.opacity)
