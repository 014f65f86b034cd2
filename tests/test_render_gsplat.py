"""On a CUDA machine with gsplat: our rasteriser against the validator's on its rig."""

from __future__ import annotations

import pytest
import torch

import splatlab
from splatlab.rendering.cameras import validator_rig
from splatlab.rendering.gsplat_backend import gsplat_available
from splatlab.rendering.rasterizer import render


def test_backend_names_are_checked(hamburger_path):
    with pytest.raises(ValueError, match="backend"):
        render(splatlab.load(hamburger_path), validator_rig(16)[:1], "cpu", backend="opengl")


@pytest.mark.skipif(gsplat_available(), reason="gsplat is importable here")
def test_gsplat_backend_missing_is_a_clear_error(hamburger_path):
    with pytest.raises(RuntimeError, match="gsplat"):
        render(splatlab.load(hamburger_path), validator_rig(16)[:1], backend="gsplat")


@pytest.mark.gpu
@pytest.mark.skipif(not gsplat_available(), reason="needs gsplat and CUDA")
def test_torch_backend_matches_gsplat_on_the_rig(hamburger_path):
    splat = splatlab.load(hamburger_path)
    ours = render(splat, device="cuda", backend="torch")
    theirs = render(splat, device="cuda", backend="gsplat")
    for a, b in zip(ours, theirs, strict=True):
        mse = torch.mean((a.image - b.image) ** 2).item()
        psnr = 10 * torch.log10(torch.tensor(1.0 / max(mse, 1e-12))).item()
        assert psnr > 35.0
        assert torch.max(torch.abs(a.alpha - b.alpha)).item() < 1e-2
