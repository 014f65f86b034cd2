"""Pure-PyTorch 3D gaussian rasteriser (CPU and CUDA), the validator's normalisation, coverage.

The fast path, :func:`rasterize`, follows the rules of the reference 3DGS CUDA rasteriser
(Kerbl et al. 2023) and of gsplat, which the subnet-17 validator calls:

1. 3D covariance ``R S S^T R^T`` from the (normalised) quaternion and linear scales.
2. EWA projection: ``Sigma_2D = J W Sigma W^T J^T + 0.3 I`` with ``J`` the Jacobian of the
   perspective projection at the gaussian's centre (its x/z, y/z clamped to 1.3 x the half field
   of view, as 3DGS and gsplat do); 0.3 px^2 on the diagonal is the low-pass filter.
3. Culling: centre closer than ``NEAR_PLANE`` (z < 0.01), non-finite parameters, or a footprint
   that misses the image. The footprint is the ellipse where ``alpha >= 1/255`` can hold,
   ``d^T Sigma^-1 d <= 2 ln(255 opacity)``: every contribution the compositing rule keeps lies
   inside it, so culling (and tiling) never changes a pixel. gsplat's opacity-aware radius is
   the same ellipse capped at 3.33 sigma, where ``alpha < 1/255`` anyway.
4. Front-to-back compositing in depth order (camera z), per pixel:
   ``alpha_i = min(0.99, o_i exp(-0.5 d^T Sigma^-1 d))``; contributions with
   ``alpha_i < 1/255`` are skipped; before adding one, the pixel tests
   ``T * (1 - alpha_i) < 1e-4`` and, if so, stops for good without adding it (the reference
   CUDA rule; gsplat uses ``alpha <= 0.999`` and ``<= 1e-4``). The colour is
   ``sum_i c_i alpha_i T_i + T_final * background`` and ``alpha = 1 - T_final``.

Implementation: gaussians are binned into square tiles (8 x 8 px by default) with
(tile, depth) ordering like the CUDA rasteriser. Tiles are then composited in *rounds*: round
``r`` takes the next ``batch * 2**r`` gaussians of every still-active tile, evaluates them on
the tile's pixels as one batched matrix product (the Gaussian exponent is a quadratic form in
tile-local pixel coordinates), and carries each pixel's transmittance into the next round. A
pixel stops exactly as in the sequential rule: gaussian ``i`` is added iff the running
product ``prod_{j <= i} (1 - alpha_j)`` over *all* non-skipped gaussians up to it is still
``>= 1e-4``. Tiles whose pixels have all stopped drop out. Memory is bounded by
``max_elements`` (pixel x gaussian pairs evaluated at once), not by the number of gaussians.

:func:`rasterize_reference` is a float64 brute-force version (every pixel against every
gaussian, one gaussian after another) with the same rules; tests check one against the other.

Example:
    >>> import torch
    >>> from splatlab.rendering.cameras import Camera
    >>> cam = Camera.look_at((0, 0, -3), (0, 0, 0), (0, 1, 0), 40.0, 32, 24)
    >>> out = rasterize(torch.zeros(1, 3), torch.tensor([[1.0, 0, 0, 0]]),
    ...                 torch.full((1, 3), 0.1), torch.tensor([0.9]),
    ...                 torch.tensor([[1.0, 0.0, 0.0]]), cam)
    >>> out.image.shape, round(float(out.alpha.max()), 2)
    (torch.Size([24, 32, 3]), 0.76)
"""

from __future__ import annotations

import io
import math
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from ..core.fields import SH_C0
from ..core.progress import progress
from ..world.sn17 import validator_normalize
from .cameras import Camera, validator_rig
from .gsplat_backend import gsplat_available, rasterize_gsplat
from .transfer import to_torch

if TYPE_CHECKING:
    from ..core.splat import Splat

__all__ = ["ALPHA_MAX", "ALPHA_MIN", "EPS_2D", "NEAR_PLANE", "T_MIN", "RenderResult",
           "coverage", "coverage_summary", "coverage_table", "rasterize", "rasterize_reference",
           "render", "sh_to_color", "splat_tensors"]

ALPHA_MAX = 0.99
"""Upper clamp of a single contribution's alpha (reference 3DGS; gsplat uses 0.999)."""
ALPHA_MIN = 1.0 / 255.0
"""Contributions with a smaller alpha are skipped."""
T_MIN = 1e-4
"""A pixel stops before the contribution that would take its transmittance below this."""
EPS_2D = 0.3
"""Low-pass filter added to the diagonal of every projected covariance, in px^2."""
NEAR_PLANE = 0.01
"""Gaussians whose centre has camera z below this are culled."""
FOV_CLAMP = 1.3
"""The Jacobian is taken at x/z, y/z clamped to this many half fields of view (3DGS)."""

SH_C1 = 0.4886025119029199
SH_C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792,
         0.5462742152960396)
SH_C3 = (-0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154,
         -0.4570457994644658, 1.445305721320277, -0.5900435899266435)

Color = Sequence[float] | torch.Tensor

FIELDS_KEPT = 2
"""How many splats keep the activated device tensors :func:`render` drew them with."""
_holding_fields: deque[tuple[weakref.ref, tuple]] = deque()
"""The Splats (weakly) holding render fields, oldest first. Each Splat owns its fields
(:func:`_render_fields`); device memory is scarce, so only the last FIELDS_KEPT keep them."""


@dataclass(frozen=True, eq=False)
class RenderResult:
    """One rendered view: ``image`` (H, W, 3) float RGB and ``alpha`` (H, W) = 1 - T_final.

    Shows itself as a PNG in a notebook.

    Example:
        >>> r = RenderResult(torch.ones(2, 3, 3), torch.zeros(2, 3))
        >>> r.height, r.width
        (2, 3)
    """

    image: torch.Tensor
    alpha: torch.Tensor

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    def to_uint8(self) -> np.ndarray:
        """(H, W, 3) uint8 image as the validator stores it: ``(clip(image, 0, 1) * 255)``
        truncated toward zero.

        Example:
            >>> RenderResult(torch.full((1, 1, 3), 0.5), torch.ones(1, 1)).to_uint8().tolist()
            [[[127, 127, 127]]]
        """
        return (self.image.detach().clamp(0, 1) * 255).to(torch.uint8).cpu().numpy()

    def _repr_png_(self) -> bytes:
        from matplotlib.image import imsave

        buffer = io.BytesIO()
        imsave(buffer, self.to_uint8(), format="png")
        return buffer.getvalue()


# --------------------------------------------------------------------------- normalisation
# --------------------------------------------------------------------------- shared maths
def quat_to_rotmat(quats: torch.Tensor) -> torch.Tensor:
    """(N, 4) w-first quaternions (any non-zero length) -> (N, 3, 3) rotation matrices.

    Example:
        >>> quat_to_rotmat(torch.tensor([[2.0, 0, 0, 0]]))[0].diagonal().tolist()
        [1.0, 1.0, 1.0]
    """
    w, x, y, z = torch.nn.functional.normalize(quats, dim=-1).unbind(-1)
    rows = [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]
    return torch.stack(rows, dim=-1).reshape(*quats.shape[:-1], 3, 3)


def covariances_3d(quats: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """(N, 3, 3) world covariances ``R S S^T R^T`` from (N, 4) quats and (N, 3) linear scales.

    Example:
        >>> covariances_3d(torch.tensor([[1.0, 0, 0, 0]]), torch.tensor([[1.0, 2, 3]]))[0].diag()
        tensor([1., 4., 9.])
    """
    rs = quat_to_rotmat(quats) * scales.unsqueeze(-2)
    return rs @ rs.transpose(-1, -2)


def sh_to_color(coeffs: torch.Tensor, dirs: torch.Tensor, degree: int | None = None
                ) -> torch.Tensor:
    """Evaluate real SH colour, 3DGS basis and sign conventions, clamped at 0.

    ``coeffs`` (N, K, 3) with ``K >= (degree + 1)^2`` (K = 1, 4, 9 or 16), ``dirs`` (N, 3)
    unit directions from the camera centre to each gaussian; returns (N, 3)
    ``max(0, 0.5 + sum_k Y_k(dir) coeffs_k)``.

    Example:
        >>> sh_to_color(torch.tensor([[[1.0, 0.0, -2.0]]]), torch.tensor([[0.0, 0, 1]]))
        tensor([[0.7821, 0.5000, 0.0000]])
    """
    degree = round(math.sqrt(coeffs.shape[1])) - 1 if degree is None else degree
    if not 0 <= degree <= 3 or coeffs.shape[1] < (degree + 1) ** 2:
        raise ValueError(f"need (degree + 1)^2 SH coefficients, got {coeffs.shape[1]} for "
                         f"degree {degree}")
    x, y, z = (d.unsqueeze(-1) for d in dirs.unbind(-1))
    c = coeffs
    out = SH_C0 * c[:, 0]
    if degree >= 1:
        out = out - SH_C1 * y * c[:, 1] + SH_C1 * z * c[:, 2] - SH_C1 * x * c[:, 3]
    if degree >= 2:
        xx, yy, zz, xy, yz, xz = x * x, y * y, z * z, x * y, y * z, x * z
        out = (out + SH_C2[0] * xy * c[:, 4] + SH_C2[1] * yz * c[:, 5]
               + SH_C2[2] * (2 * zz - xx - yy) * c[:, 6] + SH_C2[3] * xz * c[:, 7]
               + SH_C2[4] * (xx - yy) * c[:, 8])
    if degree >= 3:
        out = (out + SH_C3[0] * y * (3 * xx - yy) * c[:, 9] + SH_C3[1] * xy * z * c[:, 10]
               + SH_C3[2] * y * (4 * zz - xx - yy) * c[:, 11]
               + SH_C3[3] * z * (2 * zz - 3 * xx - 3 * yy) * c[:, 12]
               + SH_C3[4] * x * (4 * zz - xx - yy) * c[:, 13]
               + SH_C3[5] * z * (xx - yy) * c[:, 14] + SH_C3[6] * x * (xx - 3 * yy) * c[:, 15])
    return (out + 0.5).clamp_min(0.0)


def _gaussian_colors(colors: torch.Tensor, means: torch.Tensor, camera: Camera,
                     sh_degree: int | None) -> torch.Tensor:
    if colors.dim() == 2:
        return colors
    dirs = torch.nn.functional.normalize(means - camera.position.to(means), dim=-1)
    return sh_to_color(colors, dirs, sh_degree)


def _background(background: Color, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(background, dtype=like.dtype, device=like.device).reshape(3)


def _fov_limits(camera: Camera) -> tuple[float, float, float, float]:
    """x/z and y/z bounds for the Jacobian (gsplat's form of the 3DGS 1.3 x fov clamp)."""
    margin_x = (FOV_CLAMP - 1.0) * 0.5 * camera.width / camera.fx
    margin_y = (FOV_CLAMP - 1.0) * 0.5 * camera.height / camera.fy
    return (-(camera.cx / camera.fx + margin_x), (camera.width - camera.cx) / camera.fx + margin_x,
            -(camera.cy / camera.fy + margin_y), (camera.height - camera.cy) / camera.fy + margin_y)


# --------------------------------------------------------------------------- fast path
@dataclass(frozen=True)
class _Projected:
    """Visible gaussians of one view, sorted front to back."""

    means2d: torch.Tensor   # (M, 2) pixel coordinates u, v
    conics: torch.Tensor    # (M, 3) inverse 2D covariance (a, b, c) = [[a, b], [b, c]]
    log_opacity: torch.Tensor  # (M,)
    colors: torch.Tensor    # (M, 4) RGB and a column of ones (its weighted sum is alpha)
    radii: torch.Tensor     # (M, 2) half extents in px of the alpha >= 1/255 ellipse


def _project(means: torch.Tensor, quats: torch.Tensor, scales: torch.Tensor,
             opacities: torch.Tensor, colors: torch.Tensor, camera: Camera) -> _Projected:
    rot = camera.viewmat.to(means)[:3, :3]
    p, u, v = camera.project(means)
    z = p[:, 2]
    x_lo, x_hi, y_lo, y_hi = _fov_limits(camera)
    tx = (p[:, 0] / z).clamp(x_lo, x_hi) * z
    ty = (p[:, 1] / z).clamp(y_lo, y_hi) * z
    zeros = torch.zeros_like(z)
    jac = torch.stack([camera.fx / z, zeros, -camera.fx * tx / (z * z),
                       zeros, camera.fy / z, -camera.fy * ty / (z * z)], dim=-1).reshape(-1, 2, 3)
    jw = jac @ rot
    cov2d = jw @ covariances_3d(quats, scales) @ jw.transpose(1, 2)
    ca, cb, cc = cov2d[:, 0, 0] + EPS_2D, cov2d[:, 0, 1], cov2d[:, 1, 1] + EPS_2D
    det = ca * cc - cb * cb
    reach = 2.0 * torch.log(255.0 * opacities)  # alpha >= 1/255  <=>  d^T Sigma^-1 d <= reach
    rx, ry = torch.sqrt(reach * ca), torch.sqrt(reach * cc)
    keep = ((z >= NEAR_PLANE) & (det > 0) & (reach >= 0)
            & (u + rx >= 0) & (u - rx <= camera.width) & (v + ry >= 0) & (v - ry <= camera.height))
    stats = torch.stack([u, v, ca, cb, cc, det, rx, ry, z], dim=-1)
    keep &= torch.isfinite(stats).all(dim=-1) & torch.isfinite(colors).all(dim=-1)
    idx = torch.nonzero(keep).squeeze(1)
    idx = idx[torch.argsort(z[idx], stable=True)]
    u, v, ca, cb, cc, det = (t[idx] for t in (u, v, ca, cb, cc, det))
    rgb1 = torch.cat([colors[idx], torch.ones_like(z[idx]).unsqueeze(1)], dim=1)
    return _Projected(torch.stack([u, v], -1), torch.stack([cc / det, -cb / det, ca / det], -1),
                      torch.log(opacities[idx]), rgb1, torch.stack([rx[idx], ry[idx]], -1))


@dataclass(frozen=True)
class _Bins:
    """Gaussian ids grouped by tile, front to back within a tile."""

    gaussian: torch.Tensor  # (P,) index into _Projected rows, sorted by (tile, depth)
    start: torch.Tensor     # (n_tiles,) first pair of each tile
    count: torch.Tensor     # (n_tiles,)
    tiles_x: int
    tiles_y: int


def _bin(proj: _Projected, camera: Camera, tile_size: int) -> _Bins:
    tiles_x = -(-camera.width // tile_size)
    tiles_y = -(-camera.height // tile_size)
    lo = proj.means2d - proj.radii - 1.0  # 1 px of slack for rounding: culling stays exact
    hi = proj.means2d + proj.radii + 1.0
    limits = torch.tensor([tiles_x - 1, tiles_y - 1], device=lo.device)
    t0 = torch.floor(lo / tile_size).clamp(min=0).long().minimum(limits)
    t1 = torch.floor(hi / tile_size).clamp(min=0).long().minimum(limits)
    span = t1 - t0 + 1
    per_gaussian = span[:, 0] * span[:, 1]
    gaussian = torch.repeat_interleave(torch.arange(len(per_gaussian), device=lo.device),
                                       per_gaussian)
    first = torch.cumsum(per_gaussian, 0) - per_gaussian
    local = torch.arange(len(gaussian), device=lo.device) - first[gaussian]
    width = span[gaussian, 0]
    tile = (t0[gaussian, 1] + local // width) * tiles_x + t0[gaussian, 0] + local % width
    tile, order = torch.sort(tile, stable=True)  # stable: keeps depth order inside a tile
    count = torch.bincount(tile, minlength=tiles_x * tiles_y)
    return _Bins(gaussian[order], torch.cumsum(count, 0) - count, count, tiles_x, tiles_y)


def _pixel_basis(tile_size: int, device: torch.device) -> torch.Tensor:
    """(6, tile_size^2) monomials [x^2, y^2, xy, x, y, 1] of pixel centres, tile-centred."""
    c = torch.arange(tile_size, device=device, dtype=torch.float32) + 0.5 - tile_size / 2
    y, x = torch.meshgrid(c, c, indexing="ij")
    x, y = x.reshape(-1), y.reshape(-1)
    return torch.stack([x * x, y * y, x * y, x, y, torch.ones_like(x)])


def _quadratic_coeffs(means: torch.Tensor, conics: torch.Tensor, log_opacity: torch.Tensor
                      ) -> torch.Tensor:
    """(..., 6) coefficients with ``coeffs @ basis = log(o) - 0.5 d^T Sigma^-1 d``.

    ``means`` are tile-centred pixel coordinates of the gaussians.
    """
    mx, my = means.unbind(-1)
    a, b, c = conics.unbind(-1)
    constant = log_opacity - 0.5 * (a * mx * mx + 2 * b * mx * my + c * my * my)
    return torch.stack([-0.5 * a, -0.5 * c, -b, a * mx + b * my, c * my + b * mx, constant], -1)


class _Canvas:
    """Per-tile accumulators: sum of ``alpha_i T_i (r, g, b, 1)`` and the running product."""

    def __init__(self, bins: _Bins, camera: Camera, tile_size: int, device: torch.device):
        n_tiles, n_pix = bins.tiles_x * bins.tiles_y, tile_size * tile_size
        self.color = torch.zeros(n_tiles, n_pix, 4, device=device)
        inside = torch.zeros(bins.tiles_y * tile_size, bins.tiles_x * tile_size, device=device)
        inside[:camera.height, :camera.width] = 1.0  # pixels off the image start "stopped"
        self.t_run = self._to_tiles(inside, bins, tile_size)

    @staticmethod
    def _to_tiles(grid: torch.Tensor, bins: _Bins, tile_size: int) -> torch.Tensor:
        tiles = grid.reshape(bins.tiles_y, tile_size, bins.tiles_x, tile_size, *grid.shape[2:])
        return tiles.transpose(1, 2).reshape(bins.tiles_x * bins.tiles_y, tile_size ** 2,
                                             *grid.shape[2:])

    def image(self, bins: _Bins, camera: Camera, tile_size: int, background: torch.Tensor
              ) -> RenderResult:
        def untile(t: torch.Tensor) -> torch.Tensor:
            grid = t.reshape(bins.tiles_y, bins.tiles_x, tile_size, tile_size, *t.shape[2:])
            grid = grid.transpose(1, 2).reshape(bins.tiles_y * tile_size,
                                                bins.tiles_x * tile_size, *t.shape[2:])
            return grid[:camera.height, :camera.width]

        color = untile(self.color)
        alpha = color[..., 3]
        return RenderResult(color[..., :3] + (1.0 - alpha).unsqueeze(-1) * background, alpha)


def _composite_round(canvas: _Canvas, proj: _Projected, bins: _Bins, tiles: torch.Tensor,
                     offset: int, depth: int, basis: torch.Tensor, tile_size: int) -> None:
    """Add gaussians ``offset .. offset + depth`` (in depth order) of each tile in ``tiles``.

    With ``running_i = T_carried * prod_{j <= i} (1 - alpha_j)``, gaussian ``i`` is added iff
    ``running_i >= T_MIN`` (running only decreases, so the added ones are a prefix: the
    sequential stopping rule) and its weight ``alpha_i T_i`` is ``running_{i-1} - running_i``.
    The weights of a pixel telescope to ``1 - T_final``, its alpha.
    """
    rank = torch.arange(offset, offset + depth, device=tiles.device)
    valid = rank < bins.count[tiles, None]                               # (T, D)
    g = bins.gaussian[torch.where(valid, bins.start[tiles, None] + rank, 0)]
    origin = torch.stack([tiles % bins.tiles_x, tiles // bins.tiles_x], -1) * tile_size
    centred = proj.means2d[g] - (origin + tile_size / 2).unsqueeze(1)
    log_o = torch.where(valid, proj.log_opacity[g], -math.inf)
    power = _quadratic_coeffs(centred, proj.conics[g], log_o) @ basis    # (T, D, P)
    # the lower clamp keeps exp away from (slow) denormals; those alphas are skipped anyway
    alpha = power.clamp_(math.log(ALPHA_MIN) - 1.0, math.log(ALPHA_MAX)).exp_()
    keep = alpha.masked_fill_(alpha < ALPHA_MIN, 0.0).neg_().add_(1.0)  # 1 - alpha, in place
    t_before = canvas.t_run[tiles]                                       # (T, P)
    keep[:, 0] *= t_before
    running = keep.cumprod_(dim=1)
    weight = torch.empty_like(running)
    torch.sub(t_before, running[:, 0], out=weight[:, 0])
    torch.sub(running[:, :-1], running[:, 1:], out=weight[:, 1:])
    weight.masked_fill_(running < T_MIN, 0.0)                            # the stopping rule
    canvas.color[tiles] += torch.bmm(weight.transpose(1, 2), proj.colors[g])
    canvas.t_run[tiles] = running[:, -1]


def rasterize(means: torch.Tensor, quats: torch.Tensor, scales: torch.Tensor,
              opacities: torch.Tensor, colors: torch.Tensor, camera: Camera,
              background: Color = (1.0, 1.0, 1.0), sh_degree: int | None = None, *,
              tile_size: int = 8, batch: int = 32, max_elements: int | None = None
              ) -> RenderResult:
    """Render gaussians into one view (float32, on the inputs' device).

    Args:
        means: (N, 3) world positions.
        quats: (N, 4) rotations, w first, any non-zero length.
        scales: (N, 3) linear (activated) scales.
        opacities: (N,) activated opacities in [0, 1].
        colors: (N, 3) RGB used as is (like gsplat with ``sh_degree=None``), or (N, K, 3) SH
            coefficients evaluated with :func:`sh_to_color` (degree-0 colour
            ``max(0, 0.5 + 0.28209479 f_dc)``) for the direction camera centre -> gaussian.
        camera: the view; image size ``camera.height`` x ``camera.width``.
        background: (3,) RGB behind everything.
        sh_degree: SH degree to use (default: all of K).
        tile_size: tile side in pixels.
        batch: gaussians per tile in the first compositing round (doubles each round).
        max_elements: most (pixel, gaussian) pairs evaluated at once, which bounds the
            working memory at about 20 bytes a pair (default 2^22 on CPU, 2^24 on CUDA).

    Returns:
        RenderResult with ``image`` (H, W, 3) (not clipped) and ``alpha`` (H, W).

    Example:
        >>> cam = Camera.look_at((0, 0, -3), (0, 0, 0), (0, 1, 0), 40.0, 8, 8)
        >>> one = rasterize(torch.zeros(1, 3), torch.tensor([[1.0, 0, 0, 0]]),
        ...                 torch.full((1, 3), 0.5), torch.ones(1), torch.zeros(1, 3), cam)
        >>> round(float(one.image[4, 4, 0]), 3)  # black gaussian on white, centre 0.7 px away
        0.066
    """
    means, quats, scales, opacities, colors = (
        t.to(torch.float32) for t in (means, quats, scales, opacities, colors))
    rgb = _gaussian_colors(colors, means, camera, sh_degree)
    proj = _project(means, quats, scales, opacities, rgb, camera)
    bins = _bin(proj, camera, tile_size)
    canvas = _Canvas(bins, camera, tile_size, means.device)
    basis = _pixel_basis(tile_size, means.device)
    n_pix = tile_size * tile_size
    if max_elements is None:
        max_elements = 1 << (24 if means.is_cuda else 22)
    active = torch.nonzero(bins.count > 0).squeeze(1)
    offset, depth = 0, max(1, batch)
    while len(active):
        depth = min(depth, max(1, max_elements // n_pix))
        group = max(1, max_elements // (depth * n_pix))
        for tiles in active.split(group):
            _composite_round(canvas, proj, bins, tiles, offset, depth, basis, tile_size)
        offset += depth
        depth *= 2
        more = (bins.count[active] > offset) & (canvas.t_run[active] >= T_MIN).any(dim=1)
        active = active[more]
    return canvas.image(bins, camera, tile_size, _background(background, means))


# --------------------------------------------------------------------------- reference
def rasterize_reference(means: torch.Tensor, quats: torch.Tensor, scales: torch.Tensor,
                        opacities: torch.Tensor, colors: torch.Tensor, camera: Camera,
                        background: Color = (1.0, 1.0, 1.0), sh_degree: int | None = None
                        ) -> RenderResult:
    """Brute-force float64 twin of :func:`rasterize`: every pixel against every gaussian.

    Same arguments and rules; builds ``J``, ``Sigma_2D`` and its inverse as explicit matrices
    and composites one gaussian at a time with an explicit per-pixel "done" mask, exactly as
    the CUDA loop does. O(N x H x W) memory and a Python loop over gaussians: for tests only.

    Example:
        >>> cam = Camera.look_at((0, 0, -3), (0, 0, 0), (0, 1, 0), 40.0, 8, 8)
        >>> ref = rasterize_reference(torch.zeros(1, 3), torch.tensor([[1.0, 0, 0, 0]]),
        ...                           torch.full((1, 3), 0.5), torch.ones(1), torch.zeros(1, 3),
        ...                           cam)
        >>> round(float(ref.alpha[4, 4]), 3)
        0.934
    """
    f64 = torch.float64
    means, quats, scales, opacities, colors = (
        t.to(f64) for t in (means, quats, scales, opacities, colors))
    rgb = _gaussian_colors(colors, means, camera, sh_degree)
    rot = camera.viewmat.to(means)[:3, :3]
    p, u, v = camera.project(means)
    x, y, z = p.unbind(-1)
    x_lo, x_hi, y_lo, y_hi = _fov_limits(camera)
    jac = torch.zeros(len(p), 2, 3, dtype=f64, device=means.device)
    jac[:, 0, 0] = camera.fx / z
    jac[:, 1, 1] = camera.fy / z
    jac[:, 0, 2] = -camera.fx * (x / z).clamp(x_lo, x_hi) / z
    jac[:, 1, 2] = -camera.fy * (y / z).clamp(y_lo, y_hi) / z
    cov_cam = rot @ covariances_3d(quats, scales) @ rot.T
    cov2d = jac @ cov_cam @ jac.transpose(1, 2) + EPS_2D * torch.eye(2, dtype=f64,
                                                                      device=means.device)
    inv = torch.linalg.inv(cov2d)
    centre = torch.stack([u, v], -1)
    rows, cols = torch.meshgrid(torch.arange(camera.height, dtype=f64, device=means.device),
                                torch.arange(camera.width, dtype=f64, device=means.device),
                                indexing="ij")
    pixels = torch.stack([cols.reshape(-1), rows.reshape(-1)], -1) + 0.5
    d = pixels.unsqueeze(0) - centre.unsqueeze(1)                          # (N, HW, 2)
    power = torch.einsum("npi,nij,npj->np", d, inv, d)
    alpha = (opacities.unsqueeze(1) * torch.exp(-0.5 * power)).clamp(max=ALPHA_MAX)
    usable = (z >= NEAR_PLANE) & torch.isfinite(alpha).all(1) & torch.isfinite(rgb).all(1)
    transmittance = torch.ones(len(pixels), dtype=f64, device=means.device)
    color = torch.zeros(len(pixels), 3, dtype=f64, device=means.device)
    done = torch.zeros(len(pixels), dtype=torch.bool, device=means.device)
    for i in torch.argsort(z, stable=True).tolist():
        if not usable[i]:
            continue
        a = alpha[i]
        considered = ~done & (a >= ALPHA_MIN)
        test = transmittance * (1 - a)
        stops = considered & (test < T_MIN)
        done |= stops
        add = considered & ~stops
        color += torch.where(add, a * transmittance, 0.0).unsqueeze(1) * rgb[i]
        transmittance = torch.where(add, test, transmittance)
    image = color + transmittance.unsqueeze(1) * _background(background, means)
    shape = (camera.height, camera.width)
    return RenderResult(image.reshape(*shape, 3), (1 - transmittance).reshape(shape))


# --------------------------------------------------------------------------- splats
def _default_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def splat_tensors(splat: Splat, device: str | torch.device | None = None, normalize: bool = True,
                  sh_degree: int | None = 0) -> dict[str, torch.Tensor]:
    """The activated fields :func:`render` draws, as float32 tensors.

    Keys ``means`` (N, 3), ``quats`` (N, 4), ``scales`` (N, 3) linear, ``opacities`` (N,)
    activated, ``colors``: (N, 3) RGB ``0.5 + 0.28209479 f_dc`` when ``sh_degree == 0`` (the
    validator's colour, not clamped), else (N, (d + 1)^2, 3) SH coefficients (``None``: every
    band the file has). ``normalize`` applies :func:`validator_normalize`.

    Example:
        >>> from splatlab import data
        >>> splat_tensors(data.trellis_like(), device="cpu")["means"].shape
        torch.Size([7040, 3])
    """
    stored = to_torch(splat, _default_device(device))  # one host-to-device copy
    means = stored["positions"]
    scales = stored["log_scales"]  # as stored: logs unless the splat is declared linear
    scales = scales if splat.scale_encoding == "linear" else torch.exp(scales)
    opacities = stored["opacity"]
    opacities = opacities if splat.opacity_encoding == "probability" else torch.sigmoid(opacities)
    if normalize:
        means, scales, opacities = validator_normalize(means, scales, opacities)
    degree = splat.sh_degree if sh_degree is None else sh_degree
    if not 0 <= degree <= splat.sh_degree:
        raise ValueError(f"sh_degree {degree} not available: the file has degree "
                         f"{splat.sh_degree}")
    sh_dc = stored["sh_dc"]
    if degree == 0:
        colors = 0.5 + SH_C0 * sh_dc
    else:
        rest = stored["sh_rest"][:, : (degree + 1) ** 2 - 1]
        colors = torch.cat([sh_dc.unsqueeze(1), rest], dim=1)
    return {"means": means.contiguous(), "quats": stored["quats"].contiguous(),
            "scales": scales, "opacities": opacities.contiguous(), "colors": colors}


def render(splat: Splat, cameras: Sequence[Camera] | None = None,
           device: str | torch.device | None = None, *, normalize: bool = True,
           background: Color = (1.0, 1.0, 1.0), sh_degree: int | None = 0,
           backend: str = "auto") -> list[RenderResult]:
    """Render a Splat the way the subnet-17 validator does, one result a camera.

    Uses the activated fields (``alpha``, ``scales``), :func:`validator_normalize` when
    ``normalize`` is set, cameras :func:`validator_rig` by default, images clipped to [0, 1]
    as the validator clips them. ``sh_degree=0`` colours every gaussian
    ``0.5 + 0.28209479 f_dc`` and ignores ``f_rest`` (the validator's loader); a higher degree
    (or ``None``, every band stored) evaluates view-dependent SH colour. ``device`` defaults to
    CUDA when available; the activated fields of the last FIELDS_KEPT splats drawn stay on
    their device, so drawing one again costs no transfer. ``backend``: ``"torch"`` (this
    module's rasteriser), ``"gsplat"``
    (:mod:`splatlab.render_gsplat`, CUDA only) or ``"auto"``: gsplat on a CUDA device when it
    can be imported, else torch. The torch rasteriser shows a progress bar over several views
    where a person watches (:mod:`splatlab.core.progress`).

    Example:
        >>> from splatlab import data
        >>> from splatlab.rendering.cameras import validator_rig
        >>> views = render(data.trellis_like(), validator_rig(64)[:2], device="cpu")
        >>> len(views), views[0].image.shape
        (2, torch.Size([64, 64, 3]))
    """
    cams = list(validator_rig() if cameras is None else cameras)
    if backend not in ("torch", "gsplat", "auto"):
        raise ValueError(f"backend must be 'torch', 'gsplat' or 'auto', not {backend!r}")
    use_gsplat = backend == "gsplat" or (backend == "auto" and gsplat_available()
                                         and _default_device(device).type == "cuda")
    if use_gsplat and not gsplat_available():
        raise RuntimeError("the gsplat backend needs gsplat (pip install 'splatlab[gsplat]')"
                           " and a CUDA device")
    fields = _render_fields(splat, "cuda" if use_gsplat and device is None else device,
                            normalize, sh_degree)
    if use_gsplat:
        pairs = rasterize_gsplat(fields, cams, background)
    else:
        shown = progress(cams, "render", total=len(cams), unit="view") if len(cams) > 1 else cams
        pairs = [(out.image, out.alpha) for out in
                 (rasterize(fields["means"], fields["quats"], fields["scales"],
                            fields["opacities"], fields["colors"], camera, background)
                  for camera in shown)]
    return [RenderResult(image.clamp(0.0, 1.0), alpha) for image, alpha in pairs]


def _render_fields(splat: Splat, device: str | torch.device | None, normalize: bool,
                   sh_degree: int | None) -> dict[str, torch.Tensor]:
    """:func:`splat_tensors` for :func:`render`, kept by the Splat (:meth:`Splat.remember`).

    A Splat never changes, so drawing it again (other cameras, another explorer view) reuses
    its device tensors instead of copying the table to the device again. They go with the
    Splat, or when FIELDS_KEPT other splats were drawn since (:data:`_holding_fields`).
    Nothing here writes into the tensors; callers of :func:`splat_tensors` get fresh ones.
    """
    target = _default_device(device)
    key = ("rasterizer.fields", str(target), normalize, sh_degree)
    fields = splat.remember(key, lambda: splat_tensors(splat, target, normalize, sh_degree))
    _hold_fields(splat, key)
    return fields


def _hold_fields(splat: Splat, key: tuple) -> None:
    """Make ``splat`` the newest holder of render fields; the oldest beyond FIELDS_KEPT
    forget theirs."""
    for entry in [e for e in _holding_fields if e[0]() is splat and e[1] == key]:
        _holding_fields.remove(entry)
    _holding_fields.append((weakref.ref(splat), key))
    while len(_holding_fields) > FIELDS_KEPT:
        holder, old_key = _holding_fields.popleft()
        if (old := holder()) is not None:
            old.forget(old_key)


def coverage_table(results: Sequence[RenderResult], threshold: float = 0.5) -> pd.DataFrame:
    """One row a view: ``covered`` (share of pixels with alpha > threshold), ``mean_alpha``.

    Example:
        >>> r = RenderResult(torch.ones(2, 2, 3), torch.tensor([[1.0, 0.0], [0.6, 0.2]]))
        >>> coverage_table([r]).round(3).to_dict("records")
        [{'view': 0, 'covered': 0.5, 'mean_alpha': 0.45}]
    """
    rows = [{"view": i, "covered": float((r.alpha > threshold).double().mean()),
             "mean_alpha": float(r.alpha.double().mean())}
            for i, r in enumerate(results)]
    return pd.DataFrame(rows, columns=["view", "covered", "mean_alpha"])


def coverage(splat: Splat, cameras: Sequence[Camera] | None = None,
             device: str | torch.device | None = None, *, normalize: bool = True,
             threshold: float = 0.5) -> pd.DataFrame:
    """Render ``splat`` (validator rig by default) and tabulate :func:`coverage_table`.

    Example:
        >>> from splatlab import data
        >>> from splatlab.rendering.cameras import validator_rig
        >>> table = coverage(data.trellis_like(), validator_rig(48)[:2], device="cpu")
        >>> bool(table["covered"].min() > 0.05)
        True
    """
    return coverage_table(render(splat, cameras, device, normalize=normalize), threshold)


def coverage_summary(table: pd.DataFrame) -> pd.Series:
    """Summarise a coverage table: views, min / mean / max covered share, empty views.

    ``empty_views`` counts views with no covered pixel (a blank render for the validator).

    Example:
        >>> t = pd.DataFrame({"view": [0, 1], "covered": [0.0, 0.3], "mean_alpha": [0.0, 0.2]})
        >>> coverage_summary(t)["empty_views"]
        1
    """
    covered = table["covered"]
    return pd.Series({"views": len(table), "covered_min": covered.min(),
                      "covered_mean": covered.mean(), "covered_max": covered.max(),
                      "empty_views": int((covered == 0).sum()),
                      "mean_alpha": table["mean_alpha"].mean()}, dtype=object)
