"""Repair strategies: what each one measurably does, including what it fails to do."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from _splats import columns_of

from splatlab import Splat, gate, load
from splatlab import repair as rp
from splatlab.analysis.differences import diff
from splatlab.data import trellis_like
from splatlab.loadchain import CLAMP_1E3, LOGIT_1E3, LOGIT_1E4, float32_sigmoid, miner_double_logit
from splatlab.world.trellis import LOG_SCALE_FLOOR

N = 10_240


def phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def share_below_1e3(splat: Splat) -> float:
    return float(np.mean(float32_sigmoid(splat.opacity) < np.float32(1e-3)))


def within_sampling_error(measured: float, expected: float, n: int, k: float = 4.0) -> bool:
    return abs(measured - expected) <= k * math.sqrt(expected * (1 - expected) / n)


# ----------------------------------------------------------------------------- uniform_noise
@pytest.fixture(scope="module")
def corrupt() -> Splat:
    return trellis_like(N, opacity=LOGIT_1E4)


def test_write_up_fix_leaves_the_file_rejected(corrupt):
    """N(0, 2) noise on a uniform logit(1e-4) field: Phi((logit(1e-3) - logit(1e-4)) / 2)
    = 87.5 % of gaussians stay below sigmoid 1e-3, above the gate's 80 %: still rejected."""
    fixed, record = rp.uniform_noise(corrupt, seed=1)
    expected = phi((LOGIT_1E3 - LOGIT_1E4) / 2.0)
    assert expected == pytest.approx(0.8753, abs=1e-4)
    assert within_sampling_error(share_below_1e3(fixed), expected, N)
    assert record.triggered and record.touched == N
    assert not record.gate_before.passed and not record.gate_after.passed
    assert record.gate_after.failed == ["opacity"]
    assert record.notes["std_after"] == pytest.approx(2.0, abs=0.05)  # the write-up's "~2.0"


def test_write_up_fix_touches_only_opacity(corrupt):
    fixed, _ = rp.uniform_noise(corrupt, seed=2)
    changed = diff(corrupt, fixed)
    assert changed.index[changed["changed"] > 0].tolist() == ["opacity"]
    assert np.all(corrupt.opacity == np.float32(LOGIT_1E4))  # input untouched


@pytest.mark.parametrize("device", [None, "cpu"])
def test_same_seed_same_device_same_result(corrupt, device):
    a, rec = rp.uniform_noise(corrupt, seed=7, device=device)
    b, _ = rp.uniform_noise(corrupt, seed=7, device=device)
    c, _ = rp.uniform_noise(corrupt, seed=8, device=device)
    assert np.array_equal(a.opacity, b.opacity) and not np.array_equal(a.opacity, c.opacity)
    assert rec.seed == 7 and rec.device == (device or "numpy")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_uniform_noise_on_cuda(corrupt):
    a, rec = rp.uniform_noise(corrupt, seed=7, device="cuda")
    b, _ = rp.uniform_noise(corrupt, seed=7, device="cuda")
    assert np.array_equal(a.opacity, b.opacity) and rec.device == "cuda"


def test_unseeded_noise_records_its_seed(corrupt):
    fixed, record = rp.uniform_noise(corrupt, seed=None)
    again, _ = rp.uniform_noise(corrupt, seed=record.seed)
    assert np.array_equal(rp.uniform_noise(corrupt)[0].opacity,      # the default: seed 0
                          rp.uniform_noise(corrupt, seed=0)[0].opacity)
    assert np.array_equal(fixed.opacity, again.opacity)


def test_not_triggered_returns_the_input():
    healthy = trellis_like(N)
    out, record = rp.uniform_noise(healthy, seed=1)
    assert out is healthy and not record.triggered and record.touched == 0
    assert "not below" in record.reason


# ----------------------------------------------------------------------------- nonfinite
@pytest.fixture(scope="module")
def with_nonfinite() -> Splat:
    columns = columns_of(trellis_like(N))
    columns["opacity"][:4] = np.nan
    columns["opacity"][4:6] = [np.inf, -np.inf]
    columns["opacity"][6:9] = [15.9, -14.0, 11.0]  # legitimate finite logits beyond +-10
    columns["scale_1"][100] = np.nan
    return Splat.from_arrays(columns, comments=("keep me",), byte_order=">")


def test_legacy_fixer_clips_finite_values_too(with_nonfinite):
    fixed, record = rp.nonfinite(with_nonfinite, mode="legacy")
    o = fixed.opacity
    assert np.all(o[:4] == np.float32(record.notes["medians"]["opacity"]))
    assert o[4] == 10.0 and o[5] == -10.0
    assert o[6:9].tolist() == [10.0, -10.0, 10.0]  # collateral: finite logits clipped
    assert np.isnan(fixed.column("scale_1")[100])  # legacy looked at opacity only
    beyond = int(np.sum(np.abs(with_nonfinite.opacity[np.isfinite(with_nonfinite.opacity)]) > 10))
    assert record.touched == 6 + beyond


def test_median_replaces_only_nonfinite(with_nonfinite):
    fixed, record = rp.nonfinite(with_nonfinite, mode="median")
    assert record.touched == 7
    assert np.all(np.isfinite(fixed.opacity)) and fixed.opacity[6] == np.float32(15.9)
    changed = diff(with_nonfinite, fixed)
    assert changed.loc["opacity", "changed"] == 6 and changed.loc["scale_1", "changed"] == 1
    assert changed["changed"].sum() == 7


def test_drop_keeps_layout(with_nonfinite):
    fixed, record = rp.nonfinite(with_nonfinite, mode="drop")
    assert fixed.count == N - 7 and record.touched == 7
    assert fixed.properties == with_nonfinite.properties
    assert fixed.dtypes == with_nonfinite.dtypes  # big-endian float32 kept
    assert fixed.header.byte_order == ">" and "keep me" in fixed.header.comments
    kept = np.flatnonzero(~record.mask)
    assert np.array_equal(fixed.opacity, with_nonfinite.opacity[kept])


def test_nonfinite_not_triggered_on_clean_file():
    healthy = trellis_like(N)
    out, record = rp.nonfinite(healthy, mode="drop")
    assert out is healthy and not record.triggered


# ----------------------------------------------------------------------------- undo double logit
@pytest.fixture(scope="module")
def chain_pair() -> tuple[Splat, Splat]:
    original = trellis_like(N)
    return original, miner_double_logit(original)


def test_undo_inverts_interior_values_exactly(chain_pair):
    original, chained = chain_pair
    restored, record = rp.undo_double_logit(chained)
    interior = (original.opacity > np.float32(1e-4)) & (original.opacity < np.float32(0.9999))
    assert record.notes["interior"] == int(interior.sum())
    assert record.notes["inverted_not_exactly"] == 0
    # Re-applying the chain gives back the chained file bit for bit.
    assert np.array_equal(miner_double_logit(restored).opacity, chained.opacity)
    assert np.allclose(restored.opacity[interior], original.opacity[interior], rtol=1e-3)


def test_undo_counts_and_sets_clamped_values(chain_pair):
    original, chained = chain_pair
    restored, record = rp.undo_double_logit(chained)
    low = original.opacity <= np.float32(1e-4)
    high = original.opacity >= np.float32(0.9999)
    assert record.notes["at_low"] == int(low.sum()) and record.notes["at_high"] == int(high.sum())
    assert np.all(restored.opacity[low] == np.float32(1e-4))
    assert np.all(restored.opacity[high] == np.float32(0.9999))
    kept, _ = rp.undo_double_logit(chained, clamped_to="keep")
    assert np.all(kept.opacity[low] == np.float32(LOGIT_1E4))
    chosen, rec = rp.undo_double_logit(chained, clamped_to=(-2.1972, 3.0))
    assert np.all(chosen.opacity[low] == np.float32(-2.1972)) and rec.notes["set_high_to"] == 3.0


def test_undo_on_the_uniform_field_passes_the_gate_with_alpha_one_half(corrupt):
    """Every value was clamped: nothing is recoverable. 'bound' gives alpha 0.500025 each."""
    restored, record = rp.undo_double_logit(corrupt)
    assert record.notes["at_low"] == N and record.notes["interior"] == 0
    assert record.gate_after.passed
    assert np.allclose(float32_sigmoid(restored.opacity), 0.500025, atol=1e-6)


def test_undo_older_clamp():
    original = trellis_like(N)
    chained = miner_double_logit(original, clamp=CLAMP_1E3)
    restored, record = rp.undo_double_logit(chained, clamp=CLAMP_1E3)
    assert record.triggered and record.notes["inverted_not_exactly"] == 0
    assert np.array_equal(miner_double_logit(restored, clamp=CLAMP_1E3).opacity, chained.opacity)


def test_undo_refuses_files_that_did_not_go_through_the_chain(hamburger_path):
    for splat in (trellis_like(N), load(hamburger_path)):
        out, record = rp.undo_double_logit(splat)
        assert out is splat and not record.triggered


# ----------------------------------------------------------------------------- distributions
def test_match_distribution_onto_a_healthy_file(corrupt):
    healthy = trellis_like(N, seed=2)  # every opacity finite (no logit saturated to +inf)
    assert np.isfinite(healthy.opacity).all()
    fixed, record = rp.match_distribution(corrupt, "opacity", healthy)
    assert np.array_equal(np.sort(fixed.opacity), np.sort(healthy.opacity))  # same n: exact
    assert record.touched == N and record.gate_after.passed
    again, _ = rp.match_distribution(corrupt, "opacity", healthy)
    assert np.array_equal(fixed.opacity, again.opacity)  # deterministic


def test_match_distribution_keeps_order_and_breaks_ties_as_documented(corrupt):
    values = trellis_like(N, seed=4)
    fixed, _ = rp.match_distribution(values, "f_dc_0", np.arange(1000.0))
    order = np.lexsort((fixed.column("f_dc_0"), values.column("f_dc_0")))
    assert np.all(np.diff(fixed.column("f_dc_0")[order]) >= 0)  # a monotone mapping
    by_index, _ = rp.match_distribution(corrupt, "opacity", np.arange(N, dtype=float),
                                        ties="index")
    assert np.all(np.diff(by_index.opacity) > 0)  # tied rows ordered by row index
    shuffled, _ = rp.match_distribution(corrupt, "opacity", np.arange(N, dtype=float))
    assert not np.all(np.diff(shuffled.opacity) > 0)


def test_opacity_prior_share_below_1e3_matches_the_normal_cdf(corrupt):
    fixed, record = rp.match_distribution(corrupt, "opacity")
    mean, std = rp.PRIORS["opacity"]
    expected = phi((LOGIT_1E3 - mean) / std)
    assert abs(share_below_1e3(fixed) - expected) < 2.0 / N  # quantiles, not a sample
    assert record.gate_after.passed


def test_scales_restores_collapsed_axes_only():
    healthy = trellis_like(N)
    collapsed = healthy.replace(scale_0=np.full(N, LOG_SCALE_FLOOR))
    fixed, record = rp.scales(collapsed)
    assert record.notes["collapsed"] == ["scale_0"]
    changed = diff(collapsed, fixed)
    assert changed.index[changed["changed"] > 0].tolist() == ["scale_0"]
    mean, std = rp.PRIORS["log_scale"]
    extent = np.ptp(collapsed.positions.astype(np.float64), axis=0).max()
    restored = fixed.column("scale_0").astype(np.float64)
    assert restored.mean() == pytest.approx(mean + np.log(extent), abs=0.01)
    assert restored.std() == pytest.approx(std, rel=0.02)


def test_scales_not_triggered_on_healthy_file():
    healthy = trellis_like(N)
    out, record = rp.scales(healthy)
    assert out is healthy and not record.triggered


def test_record_serialises():
    _, record = rp.uniform_noise(trellis_like(N, opacity=LOGIT_1E4), seed=3)
    data = json.loads(record.to_json())
    assert data["strategy"] == "uniform_noise" and data["seed"] == 3
    assert data["touched"]["count"] == N and data["gate_after"]["passed"] is False
    assert data["stats_before"]["opacity"]["mode_share"] == 1.0
    assert data["stats_after"]["alpha"]["max"] < 1.0 and data["stats_after"]["opacity"]["nan"] == 0
    assert "uniform_noise" in repr(record)


def test_auto_leaves_a_healthy_file_alone():
    splat = trellis_like(10_240, seed=5)
    fixed, record = rp.auto(splat)
    assert record.steps == () and fixed is splat
    assert not record.triggered and record.touched == 0 and record.fields == []
    assert record.gate_before.passed and record.gate_after is record.gate_before
    assert record.summary() == "auto: nothing to repair; gate pass"


def test_auto_undoes_the_miner_chain_and_passes_the_gate():
    raw = trellis_like(10_240, seed=6)
    # most logits at or below 1e-4 (activated opacity <= 0.5): the H2 story
    step = np.arange(raw.count) % 20
    opacity = np.select([step == 0, step == 1], [0.5, 3.0], -2.0).astype(np.float32)
    submitted = miner_double_logit(raw.replace(opacity=opacity))
    assert not gate(submitted).passed
    fixed, record = rp.auto(submitted)
    assert [r.strategy for r in record.steps] == ["undo_double_logit"]
    assert gate(fixed).passed
    # the logits strictly inside the clamp (0.5) came back exactly; clamped ones could not
    interior = (opacity > 1e-4) & (opacity < 0.9999)
    np.testing.assert_array_equal(fixed.opacity[interior], opacity[interior])


@pytest.fixture(scope="module")
def nan_and_collapsed() -> Splat:
    """NaN positions in 5 rows and every scale at one value: two repairs for auto."""
    splat = trellis_like(10_240, seed=7).replace(log_scales=np.full((10_240, 3), -7.0131))
    x = splat.positions[:, 0].copy()
    x[:5] = np.nan
    return splat.replace(x=x)


@pytest.fixture(scope="module")
def auto_run(nan_and_collapsed) -> tuple[Splat, rp.RepairRecord]:
    return rp.auto(nan_and_collapsed, seed=4)


def test_auto_fixes_nan_then_collapsed_scales(auto_run):
    fixed, record = auto_run
    assert [r.strategy for r in record.steps] == ["nonfinite", "scales"]
    assert np.isfinite(fixed.positions).all()
    assert fixed.log_scales.std(axis=0).min() > 0.1


def test_auto_returns_the_record_type_of_a_strategy(auto_run, nan_and_collapsed):
    _, record = auto_run
    _, single = rp.nonfinite(nan_and_collapsed)
    assert type(record) is type(single) is rp.RepairRecord
    assert record.to_dict().keys() == single.to_dict().keys()
    assert single.steps is None and single.to_dict()["steps"] is None
    assert record.strategy == "auto" and record.parameters == {"seed": 4} and record.seed == 4


def test_auto_record_is_the_sum_of_running_its_steps(auto_run, nan_and_collapsed):
    fixed, record = auto_run
    middle, finite = rp.nonfinite(nan_and_collapsed, mode="median")
    by_hand, spread = rp.scales(middle, seed=4)
    for name in fixed.properties:
        np.testing.assert_array_equal(fixed.column(name), by_hand.column(name))
    assert [s.to_dict() for s in record.steps] == [finite.to_dict(), spread.to_dict()]
    assert record.fields == list(dict.fromkeys(finite.fields + spread.fields))
    np.testing.assert_array_equal(record.mask, finite.mask | spread.mask)
    assert record.triggered and record.touched == int((finite.mask | spread.mask).sum())
    assert record.gate_before is record.steps[0].gate_before
    assert record.gate_after is record.steps[-1].gate_after
    # statistics of the input and output, over every field a step examined
    assert record.stats_before == finite.stats_before
    assert record.stats_after["scale_0"] == spread.stats_after["scale_0"]
    assert record.stats_after["y"] == finite.stats_after["y"]
    assert record.reason == f"nonfinite: {finite.reason}; scales: {spread.reason}"
    chain = " -> ".join(r.verdict for r in (finite.gate_before, finite.gate_after,
                                            spread.gate_after))
    assert record.summary() == (f"auto: nonfinite touched {finite.touched:,} gaussians, then"
                                f" scales touched {spread.touched:,} gaussians;"
                                f" {record.touched:,} touched in all; gate {chain}")
    assert record.summary() in repr(record) and record.reason in repr(record)


def test_auto_record_round_trips_through_json(auto_run):
    _, record = auto_run
    data = record.to_dict()
    assert json.loads(record.to_json()) == data
    assert data["steps"] == [json.loads(step.to_json()) for step in record.steps]
    assert data["touched"]["count"] == record.touched and data["fields"] == record.fields
    assert data["steps"][1]["steps"] is None


def test_combine_takes_a_step_after_dropped_rows_back_to_the_input():
    splat = trellis_like(4_096, seed=8)
    x, opacity = splat.column("x").copy(), splat.opacity.copy()
    x[[3, 50, 51]], opacity[[50, 700, 4_000]] = np.nan, np.nan
    broken = splat.replace(x=x, opacity=opacity)
    kept, dropped = rp.nonfinite(broken, mode="drop", fields=["x"])
    fixed, filled = rp.nonfinite(kept)
    record = rp.combine(broken, fixed, [dropped, filled])
    assert record.indices.tolist() == [3, 50, 51, 700, 4_000]
    assert record.notes == {"dropped": 3, "kept": 4_093} and record.strategy == "combined"
    # the rows kept that the mask leaves out are in the output as they were, in order
    rows = np.flatnonzero(~dropped.mask)
    same = ~record.mask[rows]
    for name in broken.properties:
        np.testing.assert_array_equal(fixed.column(name)[same], broken.column(name)[rows][same])
    assert not (fixed.opacity[~same] == broken.opacity[rows][~same]).any()


def test_combine_refuses_steps_that_do_not_follow():
    splat = trellis_like(1_024, seed=9)
    x = splat.column("x").copy()
    x[:4] = np.nan
    broken = splat.replace(x=x)
    kept, dropped = rp.nonfinite(broken, mode="drop", fields=["x"])  # (TRELLIS has +inf too)
    with pytest.raises(ValueError, match="step 1 .nonfinite. was given 1,024 rows, not the 1,020"):
        rp.combine(kept, kept, [dropped])
    with pytest.raises(ValueError, match="the steps leave 1,020 rows, not the 1,000 of after"):
        rp.combine(broken, kept.take(np.arange(1_000)), [dropped])
