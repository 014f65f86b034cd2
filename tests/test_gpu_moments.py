"""The Triton moments kernels (splatlab.gpu_moments) against a float64 numpy reference.

On a CUDA machine the tests run on the GPU. Elsewhere ``test_under_the_interpreter``
runs this file again in a subprocess with ``TRITON_INTERPRET=1``, where Triton's
interpreter executes the same kernels on CPU tensors.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.util import find_spec

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from splatlab import synth
from splatlab.analysis import gpu_moments
from splatlab.analysis.statistics import device_moments, stats, tensor_moments

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
HAS_TRITON = find_spec("triton") is not None
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
needs_kernels = pytest.mark.skipif(
    not (HAS_TRITON and (INTERPRETED or torch.cuda.is_available())),
    reason="runs on CUDA, or on the CPU in test_under_the_interpreter's subprocess")


def reference(x: torch.Tensor) -> np.ndarray:
    """(8, F) moments by numpy in float64, one column at a time."""
    values = x.double().cpu().numpy()
    out = np.zeros((8, values.shape[1]))
    for j, column in enumerate(values.T):
        finite = column[np.isfinite(column)]
        mean = finite.mean() if len(finite) else 0.0
        out[:, j] = [len(finite), np.isnan(column).sum(), (column == np.inf).sum(),
                     (column == -np.inf).sum(), mean, ((finite - mean) ** 2).sum(),
                     finite.min(initial=np.inf), finite.max(initial=-np.inf)]
    return out


def assert_moments_close(got: np.ndarray, want: np.ndarray) -> None:
    np.testing.assert_array_equal(got[[0, 1, 2, 3, 6, 7]], want[[0, 1, 2, 3, 6, 7]])
    np.testing.assert_allclose(got[4], want[4], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(got[5], want[5], rtol=1e-10, atol=1e-300)


def matrix_with_specials(rows: int, width: int, seed: int = 0) -> torch.Tensor:
    """Offset normal values; a NaN, a +inf and a -inf planted; an all-NaN last column."""
    rng = np.random.default_rng(seed)
    values = (rng.normal(size=(rows, width)) * 10 + 1000).astype(np.float32)
    if rows > 3 and width > 1:
        values[1, 0], values[2, 0], values[3, 1] = np.nan, np.inf, -np.inf
        values[:, -1] = np.nan
    return torch.from_numpy(values).to(DEVICE)


def test_under_the_interpreter():
    if torch.cuda.is_available() or INTERPRETED:
        pytest.skip("the kernels are tested directly in this run")
    if not HAS_TRITON:
        pytest.skip("triton is not installed (it is in the [test] extra)")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          __file__, "-k", "not test_under_the_interpreter"],
                         env={**os.environ, "TRITON_INTERPRET": "1"},
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "skipped" not in run.stdout.splitlines()[-1], run.stdout[-2000:]


@needs_kernels
@pytest.mark.parametrize("rows, width", [(0, 3), (1, 1), (5, 17), (1000, 17), (700, 70)])
def test_moments_match_the_reference(rows, width):
    x = matrix_with_specials(rows, width)
    assert_moments_close(gpu_moments.column_moments(x).cpu().numpy(), reference(x))


@needs_kernels
def test_ranges_of_several_tiles_merge(monkeypatch):
    monkeypatch.setattr(gpu_moments, "_MAX_RANGES", 5)       # 5 ranges of several tiles
    x = matrix_with_specials(5000, 6)
    assert_moments_close(gpu_moments.column_moments(x).cpu().numpy(), reference(x))


@needs_kernels
@pytest.mark.parametrize("dtype", [torch.float16, torch.float64])
def test_other_dtypes_and_strides(dtype):
    x = matrix_with_specials(9, 400).to(dtype).T             # (400, 9), column stride 1
    assert not x.is_contiguous()
    assert_moments_close(gpu_moments.column_moments(x).cpu().numpy(), reference(x))


@needs_kernels
def test_large_offsets_keep_the_spread():
    """1e6 plus unit noise: a naive float32 sum of squares would lose the variance."""
    rng = np.random.default_rng(1)
    x = torch.from_numpy((1e6 + rng.normal(size=(3000, 2))).astype(np.float32)).to(DEVICE)
    assert_moments_close(gpu_moments.column_moments(x).cpu().numpy(), reference(x))


@needs_kernels
@settings(max_examples=10, deadline=None)
@given(rows=st.integers(0, 300), width=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_random_shapes_with_specials(rows, width, seed):
    rng = np.random.default_rng(seed)
    values = rng.choice(np.array([0.0, -1.5, 2.25, 1e30, np.nan, np.inf, -np.inf],
                                 np.float32), size=(rows, width))
    x = torch.from_numpy(values).to(DEVICE)
    assert_moments_close(gpu_moments.column_moments(x).cpu().numpy(), reference(x))


@needs_kernels
def test_both_engines_agree_and_the_table_matches_stats():
    splat = synth.trellis(3008, seed=0)
    opacity = np.array(splat.opacity)
    opacity[:3] = np.inf                                     # TRELLIS's saturated opacities
    splat = splat.replace(opacity=opacity)
    x = torch.from_numpy(np.array(splat.as_matrix())).to(DEVICE)
    triton_moments = device_moments(x, engine="triton")
    torch_moments = device_moments(x, engine="torch")
    np.testing.assert_array_equal(triton_moments[[0, 1, 2, 3, 6, 7]],
                                  torch_moments[[0, 1, 2, 3, 6, 7]])
    np.testing.assert_allclose(triton_moments[4:6], torch_moments[4:6], rtol=1e-12)
    table = tensor_moments(x, splat.properties)
    want = stats(splat, quantiles=False).loc[list(splat.properties), table.columns]
    assert int(table.loc["opacity", "posinf"]) == 3
    np.testing.assert_allclose(table.to_numpy(float), want.to_numpy(float), rtol=1e-12,
                               equal_nan=True)
