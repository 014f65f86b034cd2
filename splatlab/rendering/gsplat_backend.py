"""The gsplat backend of :func:`splatlab.render`: the validator's own rasteriser.

gsplat (``pip install splatlab[gsplat]``) compiles its CUDA code on first use and
renders every camera of a rig in one call. It needs a CUDA device; the PyTorch
rasteriser in :mod:`splatlab.rendering.rasterizer` stays the reference it is checked against.

Example:
    >>> if gsplat_available():              # needs gsplat and CUDA  # doctest: +SKIP
    ...     views = rasterize_gsplat(splat_tensors(splat, "cuda"), validator_rig())
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.util import find_spec

import torch

from .cameras import Camera


def gsplat_available() -> bool:
    """True when gsplat can be imported and a CUDA device is present."""
    return find_spec("gsplat") is not None and torch.cuda.is_available()


def rasterize_gsplat(fields: dict[str, torch.Tensor], cameras: Sequence[Camera],
                     background: Sequence[float] = (1.0, 1.0, 1.0)
                     ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Render ``fields`` (as :func:`.rasterizer.splat_tensors` makes them) with gsplat.

    ``fields``: ``means`` (N, 3), ``quats`` (N, 4) wxyz, ``scales`` (N, 3) linear,
    ``opacities`` (N,) activated, ``colors`` (N, 3) RGB or (N, K, 3) SH coefficients.
    Cameras of one size are batched into a single ``gsplat.rasterization`` call.
    Returns one ``(image (H, W, 3), alpha (H, W))`` pair a camera, in order.
    """
    import gsplat

    means = fields["means"]
    device = means.device
    colors = fields["colors"]
    sh_degree = None if colors.dim() == 2 else int(round(colors.shape[1] ** 0.5)) - 1
    out: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * len(cameras)
    for (width, height), indices in _by_size(cameras).items():
        viewmats = torch.stack([cameras[i].viewmat for i in indices]).to(device, torch.float32)
        intrinsics = torch.stack([cameras[i].K for i in indices]).to(device, torch.float32)
        images, alphas, _ = gsplat.rasterization(
            means, fields["quats"], fields["scales"], fields["opacities"], colors, viewmats,
            intrinsics, width, height, sh_degree=sh_degree)
        # gsplat 1.5.3 rejects per-camera backgrounds in its default packed mode, so the
        # background is composited here, as its kernel would: image + T_final * background
        images = images + (1.0 - alphas) * torch.as_tensor(background, dtype=images.dtype,
                                                           device=device)
        for k, i in enumerate(indices):
            out[i] = (images[k], alphas[k, ..., 0])
    return out


def _by_size(cameras: Sequence[Camera]) -> dict[tuple[int, int], list[int]]:
    groups: dict[tuple[int, int], list[int]] = {}
    for i, camera in enumerate(cameras):
        groups.setdefault((camera.width, camera.height), []).append(i)
    return groups
