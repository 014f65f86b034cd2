"""Load-chain models: the miner's double logit and the validator's view of a file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from splatlab import Splat, load
from splatlab.data import trellis_like
from splatlab.loadchain import (
    CLAMP_1E3,
    LOGIT_1E3,
    LOGIT_1E3_HIGH,
    LOGIT_1E4,
    LOGIT_1E4_HIGH,
    miner_double_logit,
    validator,
    validator_load,
)


def test_constants_are_torch_float32_values():
    lows = torch.tensor([1e-4, 0.9999, 1e-3, 0.999], dtype=torch.float32)
    assert [LOGIT_1E4, LOGIT_1E4_HIGH, LOGIT_1E3, LOGIT_1E3_HIGH] == torch.logit(lows).tolist()
    # The float32 values, as found in files (the write-up rounds them to +-9.21, +-6.9068).
    assert LOGIT_1E4 == pytest.approx(-9.2102404, abs=1e-7)
    assert LOGIT_1E4_HIGH == pytest.approx(9.2100744, abs=1e-7)  # not -LOGIT_1E4
    assert LOGIT_1E3 == pytest.approx(-6.9067550, abs=1e-7)


def test_chain_clamps_and_relogits():
    stored = np.float32([-12.0, -1.0, 0.0, 1e-4, 5e-4, 0.5, 0.9999, 2.0, 15.9, np.inf])
    out = miner_double_logit(Splat.from_arrays({"opacity": stored})).opacity
    assert out[:5].tolist()[:4] == [LOGIT_1E4] * 4
    assert out[4] == np.float32(np.log(np.float32(5e-4) / (1 - np.float32(5e-4))))
    assert out[5] == 0.0
    assert out[6:].tolist() == [LOGIT_1E4_HIGH] * 4
    old = miner_double_logit(Splat.from_arrays({"opacity": stored}), clamp=CLAMP_1E3).opacity
    assert old[0] == LOGIT_1E3 and old[-1] == LOGIT_1E3_HIGH


def test_chain_keeps_input_and_layout():
    s = trellis_like(256)
    before = np.array(s.opacity)
    out = miner_double_logit(s)
    assert np.array_equal(s.opacity, before)
    assert out.properties == s.properties and out.count == s.count
    assert out.changed_properties == ["opacity"]  # log scales (min < 0) pass through


def test_chain_logs_positive_scales():
    s = trellis_like(64)
    linear = s.replace(log_scales=np.exp(s.log_scales))
    out = miner_double_logit(linear)
    assert np.allclose(out.log_scales, s.log_scales, atol=1e-6)


def test_low_logit_trellis_output_becomes_the_write_ups_uniform_field():
    """FACTS section 4: every stored logit <= 1e-4 gives a uniform -9.2102 field, std 0."""
    rng = np.random.default_rng(5)
    s = trellis_like(10_240, opacity=rng.uniform(-8.0, 0.0, 10_240))
    out = miner_double_logit(s).opacity
    assert np.all(out == np.float32(LOGIT_1E4)) and out.astype(np.float64).std() == 0.0


def test_healthy_trellis_output_gets_the_write_ups_healthy_statistics():
    """Healthy files in the write-up: min -9.21, std 4-9. The chain produces exactly that."""
    out = miner_double_logit(trellis_like(10_240)).opacity.astype(np.float64)
    assert out.min() == pytest.approx(-9.21, abs=0.005)
    assert 4.0 < out.std() < 9.0


def test_validator_normalisation():
    s = trellis_like(1024)
    v = validator(s)
    loaded = validator_load(s)
    raw = s.positions.astype(np.float64)
    factor = 1.5 / np.ptp(raw, axis=0).max()
    assert v.factor == pytest.approx(factor)
    assert v.center == pytest.approx(raw.mean(), abs=1e-6)  # one scalar, not per axis
    assert np.ptp(v.means, axis=0).max() == pytest.approx(1.5, rel=1e-5)
    assert np.allclose(v.scales, loaded.scales * factor, rtol=1e-6)
    assert np.allclose(v.opacities, np.clip(loaded.opacities / factor, 0, 1), rtol=1e-6)
    assert np.allclose(np.linalg.norm(v.quats, axis=1), 1.0, atol=1e-6)
    assert np.allclose(v.colors, 0.5 + 0.28209479 * s.sh_dc, atol=1e-6)


def test_validator_keeps_zero_quaternions_zero():
    q = trellis_like(64).quats.copy()
    q[3] = 0
    v = validator_load(trellis_like(64).replace(quats=q))
    assert np.all(v.quats[3] == 0)


def test_validator_agrees_with_the_renderers_torch_version():
    from splatlab.world.sn17 import validator_normalize

    s = trellis_like(2048)
    loaded, v = validator_load(s), validator(s)
    means, scales, opacities = validator_normalize(
        torch.from_numpy(loaded.means), torch.from_numpy(loaded.scales),
        torch.from_numpy(loaded.opacities))
    assert np.allclose(means.numpy(), v.means, atol=1e-6)
    assert np.allclose(scales.numpy(), v.scales, rtol=1e-6)
    assert np.allclose(opacities.numpy(), v.opacities, atol=1e-7)


def test_hamburger_through_the_chain(hamburger_path):
    s = load(hamburger_path)
    out = miner_double_logit(s).opacity
    assert np.all((out >= LOGIT_1E4) & (out <= LOGIT_1E4_HIGH))
    assert (out == np.float32(LOGIT_1E4)).mean() == pytest.approx(np.mean(s.opacity <= 1e-4))
