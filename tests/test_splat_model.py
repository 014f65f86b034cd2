"""The slim Splat: provenance in its own object, a public encoding change, a table never
stale, and what is derived from a Splat kept by the Splat (not in id-keyed globals)."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import splatlab
from splatlab import data
from splatlab.analysis.gates import gate, remembered
from splatlab.core.provenance import Provenance, SourceFormat
from splatlab.core.splat import BlockMemo
from splatlab.viz.plots import binned
from splatlab.world.submission import spz_roundtrip


def test_provenance_of_a_loaded_file_travels_with_replace_not_with_take(tmp_path):
    path = splatlab.save(data.trellis_like(64), tmp_path / "a.ply")
    loaded = splatlab.load(path)
    assert loaded.provenance.source == path and loaded.source == path
    assert loaded.provenance.format == SourceFormat("ply")
    assert bytes(loaded.provenance.raw.pre) == b"" and loaded.provenance.label == str(path)
    changed = loaded.replace(opacity=np.zeros(64, np.float32))
    assert changed.provenance is loaded.provenance            # same file, new values
    taken = loaded.take([0, 1])
    assert taken.source is None and taken.provenance.format == loaded.provenance.format
    assert loaded.detached().source is None


def test_provenance_names_a_decoded_format(tmp_path):
    path = splatlab.save(data.trellis_like(64), tmp_path / "a.spz")
    origin = splatlab.load(path).provenance
    assert (origin.format.name, origin.format.container, origin.format.quantised) == (
        "spz", "zstd", True)
    assert bytes(origin.raw.encoded) == path.read_bytes()   # an unchanged SPZ is written back
    assert Provenance().label == "<splat>"


def test_with_encoding_changes_what_accessors_compute_not_the_values():
    s = data.trellis_like(64).replace(opacity=np.linspace(0.1, 0.9, 64, dtype=np.float32))
    p = s.with_encoding(opacity_encoding="probability")
    np.testing.assert_array_equal(p.alpha, s.opacity)
    np.testing.assert_array_equal(p.opacity, s.opacity)
    assert (p.opacity_encoding, p.scale_encoding) == ("probability", "log")
    assert p.changed_properties == ["opacity"] and p.provenance is s.provenance
    linear = s.with_encoding(scale_encoding="linear")
    np.testing.assert_array_equal(linear.scales, s.log_scales)
    assert s.with_encoding().opacity_encoding == "logit"       # None keeps the encoding
    with pytest.raises(ValueError, match="opacity encoding"):
        s.with_encoding(opacity_encoding="alpha")


def test_table_is_never_stale_and_the_stored_table_is_kept():
    s = data.trellis_like(32)
    assert s.table is s.stored_table                         # nothing replaced: no copy
    r = s.replace(opacity=np.full(32, 2.0, np.float32), x=np.arange(32, dtype=np.float32))
    np.testing.assert_array_equal(r.table["opacity"], 2.0)
    np.testing.assert_array_equal(r.table["x"], np.arange(32))
    np.testing.assert_array_equal(r.table["y"], s.column("y"))
    assert r.table is r.table and not r.table.flags.writeable  # made once, read-only
    assert r.stored_table is s.stored_table
    np.testing.assert_array_equal(s.table["opacity"], s.opacity)  # the input untouched


def test_remember_keeps_a_value_with_the_splat_and_forget_drops_it():
    s = data.trellis_like(32)
    calls = []
    first = s.remember(("test", 1), lambda: calls.append(1) or np.ones(3))
    assert s.remember(("test", 1), lambda: calls.append(1) or np.zeros(3)) is first
    assert calls == [1] and s.remembers(("test", 1))
    s.forget(("test", 1))
    assert not s.remembers(("test", 1))
    assert not s.replace(x=np.zeros(32)).remembers(("test", 1))  # a new Splat starts empty


def test_block_memo_keeps_values_only_inside_its_block():
    memo, s = BlockMemo("test"), data.trellis_like(32)
    with memo.block():
        inside = memo(s, "k", lambda: object())
        assert memo(s, "k", lambda: object()) is inside and s.remembers("k")
    assert not s.remembers("k")                              # forgotten when the block ends
    assert memo(s, "k", lambda: "again") == "again"


def test_gate_and_roundtrip_are_shared_inside_remembered_then_freed():
    s = data.trellis_like(64)
    with remembered():
        assert gate(s) is gate(s)
        kept = weakref.ref(spz_roundtrip(s))
        assert spz_roundtrip(s) is kept()
    gc.collect()
    assert kept() is None                 # the round trip (a copy of the file) is not kept
    assert gate(s) is not gate(s)


def test_histograms_are_kept_by_their_splat_and_go_with_it():
    s = data.trellis_like(64)
    first = binned(s, "opacity", bins=8)
    assert binned(s, "opacity", bins=8) is first
    assert binned(s, "opacity", bins=4) is not first
    kept = weakref.ref(first.counts)
    del s, first
    gc.collect()
    assert kept() is None
