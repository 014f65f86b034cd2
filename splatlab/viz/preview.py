"""Previews of a Splat: numpy point views, open3d splat renders, a k3d 3D view.

* :class:`PointView` / :func:`point_view` project gaussian centres into a
  :class:`~splatlab.Camera` and draw them with a z-buffer in numpy: coloured by SH-DC
  colour or by any field through a colormap, filtered by activated opacity, a selection
  highlighted. No GPU or Vulkan driver is needed and a recolouring of 100k points takes
  milliseconds, which keeps :func:`splatlab.viz.widgets.explore` responsive. The image is an
  :class:`ImageArray`: a numpy array that a notebook shows as a picture.
* :func:`to_open3d` builds the ``open3d.t.geometry.PointCloud`` that open3d's
  ``"gaussianSplat"`` shader draws, named as ``open3d.t.io.read_point_cloud`` names a 3DGS file
  (``positions``, ``f_dc``, ``f_rest`` (N, K, 3), ``opacity`` (N, 1) logit, ``scale`` linear,
  ``rot`` w first), from memory. :func:`render_open3d` renders it offscreen.
* :func:`interactive` returns a k3d plot for a rotatable 3D view in JupyterLab.

open3d aborts the whole process when it finds no usable Vulkan driver, so
:func:`rendering_available` first tries a tiny render in a subprocess (once a process) and
:func:`render_open3d` raises :class:`RuntimeError` with the probe's reason instead of crashing.
Point views never need it. open3d is imported and its first renderer made without their log
lines (a dozen in a notebook cell), and its log level is set to errors only.

Two things about open3d 0.20's splat shader (measured, see docs/previews.md): it assumes
unit quaternions (``read_point_cloud`` keeps ``rot`` as stored, so a TRELLIS file with
non-unit quaternions is drawn with wrong shapes; :func:`to_open3d` normalises them) and it
evaluates spherical harmonics up to degree 2 only.

Example:
    >>> from splatlab import data
    >>> image = point_view(data.trellis_like(), color_by="opacity")
    >>> image.shape, image.dtype
    ((384, 384, 3), dtype('uint8'))
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import ctypes
import io
import math
import os
import re
import signal
import subprocess
import sys
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import PIL.Image
import torch
from matplotlib import colormaps

from ..core.fields import SH_C0, logit
from ..core.progress import progress
from ..core.splat import Splat
from ..rendering.cameras import Camera, validator_rig
from ..rendering.rasterizer import NEAR_PLANE
from ..world.sn17 import validator_normalize
from .plots import SplatFigure

if TYPE_CHECKING:
    import k3d
    import open3d as o3d

__all__ = ["DEFAULT_RESOLUTION", "ImageArray", "PointView", "image_agreement", "interactive",
           "montage", "percentile_range", "point_view", "render_open3d", "rendering_available",
           "to_open3d", "to_png"]

DEFAULT_RESOLUTION = 384
"""Side in pixels of the default view: the validator's first camera at this resolution."""
CONTEXT_COLOR = (0.8, 0.8, 0.8)
"""Colour of the points outside a highlighted selection."""

Color = Sequence[float]
Rows = np.ndarray  # a boolean mask over the gaussians or an array of their indices

_PROBE = """
from open3d.visualization import rendering
renderer = rendering.OffscreenRenderer(8, 8)
renderer.render_to_image()
print("splatlab-probe-ok", flush=True)
"""
_PROBE_TIMEOUT_S = 180.0
_probe_result: dict[str, tuple[bool, str]] = {}
_renderers: dict[tuple[int, int], Any] = {}


# --------------------------------------------------------------------------- probe
def rendering_available(refresh: bool = False) -> tuple[bool, str]:
    """Whether open3d can render offscreen here, and why (or why not).

    The first call renders an 8 x 8 image in a subprocess (about 5-10 s, most of it importing
    open3d); later calls return the cached answer unless ``refresh``. A missing Vulkan driver
    aborts that subprocess, not this one.

    Example:
        >>> rendering_available()  # needs a Vulkan driver  # doctest: +SKIP
        (True, 'open3d offscreen rendering works (Vulkan device driver: llvmpipe Mesa 22.3.6 ...)')
    """
    if refresh or "result" not in _probe_result:
        _probe_result["result"] = _probe()
    return _probe_result["result"]


def _probe() -> tuple[bool, str]:
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                              timeout=_PROBE_TIMEOUT_S, env=dict(os.environ))
    except subprocess.TimeoutExpired:
        return False, f"open3d's offscreen renderer did not finish within {_PROBE_TIMEOUT_S:.0f} s"
    output = done.stdout + done.stderr
    if done.returncode == 0 and "splatlab-probe-ok" in done.stdout:
        driver = re.search(r"Vulkan device driver: [^\n]*", output)
        return True, "open3d offscreen rendering works" + (f" ({driver[0]})" if driver else "")
    code = done.returncode
    how = (f"killed by {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals()
           else f"exit status {code}")
    lines = [line.strip() for line in output.splitlines()
             if line.strip() and "[Open3D INFO]" not in line]
    detail = " | ".join(lines[-3:]) or "no output"
    return False, f"open3d offscreen rendering failed ({how}): {detail}"


# --------------------------------------------------------------------------- open3d
def to_open3d(splat: Splat, *, normalize: bool = False, sh_degree: int | None = None,
              rows: Rows | None = None) -> o3d.t.geometry.PointCloud:
    """The open3d tensor point cloud that its ``"gaussianSplat"`` shader draws.

    Attributes as ``open3d.t.io.read_point_cloud`` builds them from a 3DGS file, all float32:
    ``positions`` (N, 3), ``f_dc`` (N, 3), ``f_rest`` (N, K, 3) (basis-major, only when
    ``sh_degree`` leaves K > 0; ``None`` keeps every stored band), ``opacity`` (N, 1) logit,
    ``scale`` (N, 3) linear, ``rot`` (N, 4) w first, normalised (open3d's shader assumes unit
    quaternions; rows of norm 0 stay 0). The declared encodings are honoured (a probability
    opacity becomes a logit). ``normalize`` applies :func:`~splatlab.world.sn17.validator_normalize`
    to the whole splat first; ``rows`` (mask or indices) then keeps some gaussians.

    Example:
        >>> from splatlab import data
        >>> cloud = to_open3d(data.trellis_like())
        >>> sorted(cloud.point)
        ['f_dc', 'opacity', 'positions', 'rot', 'scale']
    """
    o3d = _open3d()
    positions, scales = splat.positions, splat.scales
    if normalize:
        positions, scales, alpha = _normalize(positions, scales, splat.alpha)
        opacity = logit(alpha)
    elif splat.opacity_encoding == "logit":
        opacity = splat.opacity
    else:
        opacity = logit(splat.alpha)
    fields = {"positions": positions, "f_dc": splat.sh_dc, "opacity": opacity[:, None],
              "scale": scales, "rot": splat.quats_normalized}
    degree = splat.sh_degree if sh_degree is None else min(sh_degree, splat.sh_degree)
    if degree > 0:
        fields["f_rest"] = splat.sh_rest[:, : (degree + 1) ** 2 - 1]
    select = slice(None) if rows is None else np.asarray(rows)
    cloud = o3d.t.geometry.PointCloud()
    for name, values in fields.items():
        cloud.point[name] = o3d.core.Tensor(np.ascontiguousarray(values[select], np.float32))
    return cloud


def render_open3d(splat: Splat, cameras: Sequence[Camera] | None = None, normalize: bool = True,
                  background: Color = (1.0, 1.0, 1.0), sh_degree: int | None = 0,
                  rows: Rows | None = None) -> list[np.ndarray]:
    """Render a Splat with open3d's ``"gaussianSplat"`` shader, one (H, W, 3) uint8 image a camera.

    Same defaults as :func:`splatlab.render`: validator normalisation, the validator's 16
    cameras, white background, colour from ``f_dc`` only (``sh_degree=None``: every stored band,
    of which open3d uses degree <= 2). Gaussians with non-finite fields are left out (the
    PyTorch renderer culls them too); ``rows`` keeps a subset after normalising. Raises
    :class:`RuntimeError` when :func:`rendering_available` says no.

    Example:
        >>> images = render_open3d(splat, validator_rig(128))  # needs Vulkan  # doctest: +SKIP
        >>> len(images), images[0].shape                      # needs Vulkan  # doctest: +SKIP
        (16, (128, 128, 3))
    """
    ok, reason = rendering_available()
    if not ok:
        raise RuntimeError(f"open3d cannot render here: {reason}")
    rendering = _open3d().visualization.rendering
    keep = _finite_rows(splat)
    if rows is not None:
        keep &= _as_mask(rows, splat.count)
    cloud = to_open3d(splat, normalize=normalize, sh_degree=sh_degree, rows=keep)
    material = rendering.MaterialRecord()
    material.shader = "gaussianSplat"
    images, loaded = [], None
    cams = list(validator_rig() if cameras is None else cameras)
    for camera in progress(cams, "render (open3d)", unit="view") if len(cams) > 1 else cams:
        renderer = _offscreen(camera.width, camera.height)
        if loaded is not renderer:
            if renderer.scene.has_geometry("splat"):  # not clear_geometry(): see _offscreen
                renderer.scene.remove_geometry("splat")
            renderer.scene.add_geometry("splat", cloud, material)
            renderer.scene.set_background([*map(float, background), 1.0])
            loaded = renderer
        renderer.setup_camera(camera.K.numpy(), camera.viewmat.numpy(), camera.width,
                              camera.height)
        images.append(np.array(renderer.render_to_image(), dtype=np.uint8))
    return images


def _offscreen(width: int, height: int) -> Any:
    """One cached open3d OffscreenRenderer (creating one costs about 0.7 s).

    open3d 0.20 can abort the process (Filament ``PreconditionPanic``: a material instance
    destroyed while still in use) when a renderer outlives the interpreter's teardown, or is
    destroyed after ``clear_geometry``; so the geometry is removed by name and the renderer
    is dropped at exit, before open3d's own exit hooks run.
    """
    key = (width, height)
    if key not in _renderers:
        rendering = _open3d().visualization.rendering
        _renderers.clear()
        atexit.unregister(_renderers.clear)  # (re-)register after open3d's own exit hooks:
        atexit.register(_renderers.clear)    # ours must run first
        with _quiet_stdout():  # Filament's start-up lines, printed for every new engine
            _renderers[key] = rendering.OffscreenRenderer(width, height)
    return _renderers[key]


_open3d_quiet: list[bool] = []


def _open3d() -> Any:
    """The open3d module, imported without its log lines and set to log errors only.

    In Jupyter, ``import open3d`` prints three lines (it enables its WebRTC visualizer, as
    before: only the printing is dropped) and its log level is Info; the level is set once a
    process, so a level the user sets later stays.
    """
    if "open3d" not in sys.modules:
        with _quiet_stdout():
            import open3d  # noqa: F401
    import open3d as o3d

    if not _open3d_quiet:
        o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)
        _open3d_quiet.append(True)
    return o3d


@contextlib.contextmanager
def _quiet_stdout():
    """Drop what is printed meanwhile: by Python (``sys.stdout``) and by C/C++ code (file
    descriptor 1, which Jupyter kernels forward into the cell). Standard error is kept."""
    if sys.stdout is not None:
        sys.stdout.flush()  # what was printed before still shows
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            saved = os.dup(1)
        except OSError:  # no file descriptor 1 (a detached process): nothing to silence
            yield
            return
        _flush_c_stdout()
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
        try:
            yield
        finally:
            _flush_c_stdout()  # C stdio buffers what went to a pipe: drop it too
            os.dup2(saved, 1)
            os.close(saved)


def _flush_c_stdout() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):  # no C library to reach (e.g. Windows)
        pass


def _finite_rows(splat: Splat) -> np.ndarray:
    keep = ~np.isnan(splat.opacity)
    for block in (splat.positions, splat.log_scales, splat.quats, splat.sh_dc):
        keep &= np.isfinite(block).all(axis=1)
    return keep


def _as_mask(rows: Rows, count: int) -> np.ndarray:
    rows = np.asarray(rows)
    if rows.dtype == bool:
        if rows.shape != (count,):
            raise ValueError(f"a boolean mask needs shape ({count},), got {rows.shape}")
        return rows.copy()
    mask = np.zeros(count, bool)
    mask[rows] = True
    return mask


# --------------------------------------------------------------------------- point views
class PointView:
    """Gaussian centres of one Splat projected into one camera, ready to colour quickly.

    Projection, opacity filter and subsampling happen once; :meth:`image` then only colours
    and composites. ``min_alpha`` drops gaussians whose activated opacity is lower;
    ``max_points`` draws a seeded random subset; ``normalize`` applies the validator's
    normalisation (computed over the finite positions) so the default camera, the
    validator's first view at ``DEFAULT_RESOLUTION``, frames any scene. Each point covers
    ``point_size`` x ``point_size`` pixels; the nearest point wins a pixel.

    Example:
        >>> from splatlab import data
        >>> splat = data.trellis_like()
        >>> view = PointView(splat, max_points=50_000)
        >>> view.image("opacity", highlight=splat.alpha < 1e-3).shape
        (384, 384, 3)
    """

    def __init__(self, splat: Splat, camera: Camera | None = None, *, normalize: bool = True,
                 min_alpha: float = 0.0, max_points: int = 100_000, point_size: int = 2,
                 seed: int = 0):
        self.splat = splat
        self.camera = camera or validator_rig(DEFAULT_RESOLUTION)[0]
        self.point_size = point_size
        self.rows = _sample_rows(splat, min_alpha, max_points, seed)
        self._xyz = _positions(splat, normalize and len(self.rows) > 0)[self.rows]
        self._point, self._pixel, self._depth = _project(self._xyz, self.camera)

    def with_camera(self, camera: Camera) -> PointView:
        """The same points seen from another camera (only the projection is redone).

        Example:
            >>> from splatlab import data
            >>> side = PointView(data.trellis_like()).with_camera(validator_rig(384)[4])
            >>> side.image().shape
            (384, 384, 3)
        """
        view = copy.copy(self)
        view.camera = camera
        view._point, view._pixel, view._depth = _project(self._xyz, camera)
        return view

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.camera.height, self.camera.width, 3)

    def image(self, color_by: str | np.ndarray = "rgb", highlight: Rows | None = None, *,
              cmap: str = "viridis", clim: tuple[float, float] | None = None,
              background: Color = (1.0, 1.0, 1.0)) -> ImageArray:
        """(H, W, 3) uint8 image of the points (an :class:`ImageArray`: shown as a picture).

        ``color_by``: ``"rgb"`` (``0.5 + 0.28209479 f_dc``, clipped), a property name, or an
        (N,) array of values for every gaussian (coloured through ``cmap`` over ``clim``,
        default the 1st-99th percentile of the drawn values; NaN is black), or an (N, 3)
        array of RGB in [0, 1]. ``highlight`` (mask or indices over all N gaussians): those
        points keep their colour and are drawn over the rest, which turn light grey.

        Example:
            >>> from splatlab import data
            >>> PointView(data.trellis_like()).image("scale_0", clim=(-8, -2))[0, 0].tolist()
            [255, 255, 255]
        """
        colors = (self._rgb if isinstance(color_by, str) and color_by == "rgb"
                  else _to_uint8(_point_colors(self.splat, self.rows, color_by, cmap, clim)))
        flat = np.empty((self.camera.height * self.camera.width, 3), np.uint8)
        flat[:] = _to_uint8(np.asarray(background, np.float64))
        if highlight is None:
            layers = [(np.ones(len(self.rows), bool), colors)]
        else:
            chosen = _as_mask(highlight, self.splat.count)[self.rows]
            grey = np.broadcast_to(_to_uint8(np.asarray(CONTEXT_COLOR)), colors.shape)
            layers = [(~chosen, grey), (chosen, colors)]
        for layer, layer_colors in layers:
            if not layer.any():  # e.g. no grey points when everything is highlighted
                continue
            nearest = self._nearest(layer)
            hit = nearest >= 0
            flat[hit] = layer_colors[nearest[hit]]
        return ImageArray(flat.reshape(self.shape))

    @cached_property
    def _rgb(self) -> np.ndarray:
        """(len(rows), 3) uint8 ``"rgb"`` colours of the drawn points, made on first use."""
        return _to_uint8(_point_colors(self.splat, self.rows, "rgb", "viridis", None))

    def _nearest(self, layer: np.ndarray) -> np.ndarray:
        """(H * W,) index of the nearest point of ``layer`` covering each pixel, or -1.

        The nearest point per pixel centre comes from the pixel-sorted projection; each point
        then grows to ``point_size`` x ``point_size`` pixels, the nearer one winning overlaps.
        """
        keep = layer[self._point]
        point, pixel, depth = self._point[keep], self._pixel[keep], self._depth[keep]
        first = np.ones(len(pixel), bool)
        first[1:] = pixel[1:] != pixel[:-1]
        height, width = self.camera.height, self.camera.width
        depths = np.full(height * width, np.inf)
        index = np.full(height * width, -1)
        depths[pixel[first]], index[pixel[first]] = depth[first], point[first]
        depths, index = depths.reshape(height, width), index.reshape(height, width)
        best_depth, best_index = depths.copy(), index.copy()
        offsets = np.arange(self.point_size) - (self.point_size - 1) // 2
        for dy in offsets:
            for dx in offsets:
                if dy == dx == 0:
                    continue
                (dst_y, src_y), (dst_x, src_x) = _shift(dy, height), _shift(dx, width)
                source, target = depths[src_y, src_x], best_depth[dst_y, dst_x]
                nearer = source < target
                target[nearer] = source[nearer]
                best_index[dst_y, dst_x][nearer] = index[src_y, src_x][nearer]
        return best_index.ravel()


def point_view(splat: Splat, camera: Camera | None = None, *, color_by: str | np.ndarray = "rgb",
               highlight: Rows | None = None, min_alpha: float = 0.0, max_points: int = 100_000,
               normalize: bool = True, point_size: int = 2, cmap: str = "viridis",
               clim: tuple[float, float] | None = None,
               background: Color = (1.0, 1.0, 1.0)) -> ImageArray:
    """(H, W, 3) uint8 point view of a Splat: :class:`PointView` then :meth:`PointView.image`.

    An :class:`ImageArray`: the last line of a notebook cell shows it as a picture; it is a
    numpy array for everything else (``.array`` is the plain one).

    Example:
        >>> from splatlab import data
        >>> splat = data.trellis_like()
        >>> img = point_view(splat, color_by="opacity", min_alpha=0.01)
        >>> montage([img, point_view(splat)], ["opacity", "rgb"])  # doctest: +ELLIPSIS
        <SplatFigure size ... with 2 Axes>
    """
    view = PointView(splat, camera, normalize=normalize, min_alpha=min_alpha,
                     max_points=max_points, point_size=point_size)
    return view.image(color_by, highlight, cmap=cmap, clim=clim, background=background)


def _normalize(positions: np.ndarray, scales: np.ndarray, alpha: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`~splatlab.world.sn17.validator_normalize` fitted to the rows with finite positions
    (float64); rows with a non-finite position come back NaN."""
    finite = np.isfinite(positions).all(axis=1)
    fitted = validator_normalize(*(torch.from_numpy(np.asarray(a, np.float64)[finite])
                                   for a in (positions, scales, alpha)))
    out = []
    for values, part in zip((positions, scales, alpha), fitted):
        full = np.full(np.shape(values), np.nan)
        full[finite] = part.numpy()
        out.append(full)
    return out[0], out[1], out[2]


def _positions(splat: Splat, normalize: bool) -> np.ndarray:
    """(N, 3) float64 centres, validator-normalised over the finite ones when asked."""
    positions = np.array(splat.positions, np.float64)
    if normalize:
        finite = np.isfinite(positions).all(axis=1)
        unused = torch.zeros(1, 3, dtype=torch.float64)  # scales and opacities: not needed
        positions[finite] = validator_normalize(torch.from_numpy(positions[finite]), unused,
                                                unused[:, 0])[0].numpy()
    return positions


def _sample_rows(splat: Splat, min_alpha: float, max_points: int, seed: int) -> np.ndarray:
    """Sorted indices of the gaussians to draw: finite centres, alpha >= min_alpha, at most
    ``max_points`` of them (a seeded random subset)."""
    keep = np.isfinite(splat.positions).all(axis=1)
    if min_alpha > 0:
        keep &= splat.alpha >= min_alpha
    rows = np.flatnonzero(keep)
    if len(rows) > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_points, replace=False))
    return rows


def _project(points: np.ndarray, camera: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point index, pixel (row * width + col) and depth of the points whose centre falls in
    the image in front of the camera, sorted by pixel then depth."""
    cam, u, v = camera.project(points)
    z = cam[:, 2]
    u, v = np.floor(u), np.floor(v)
    point = np.flatnonzero((z >= NEAR_PLANE) & (u >= 0) & (u < camera.width) & (v >= 0)
                           & (v < camera.height))
    point = point[np.argsort(z[point])]  # nearest first
    pixel = (v[point] * camera.width + u[point]).astype(np.int32)
    order = np.argsort(pixel, kind="stable")  # by pixel, nearest first within one
    return point[order], pixel[order], z[point[order]]


def _shift(offset: int, size: int) -> tuple[slice, slice]:
    """(destination, source) slices that move an axis of ``size`` by ``offset``."""
    return (slice(max(offset, 0), size + min(offset, 0)),
            slice(max(-offset, 0), size - max(offset, 0)))


def _point_colors(splat: Splat, rows: np.ndarray, color_by: str | np.ndarray, cmap: str,
                  clim: tuple[float, float] | None) -> np.ndarray:
    """(len(rows), 3) float RGB in [0, 1]."""
    if isinstance(color_by, str) and color_by == "rgb":
        return np.clip(0.5 + SH_C0 * np.asarray(splat.sh_dc[rows], np.float64), 0.0, 1.0)
    values = splat.column(color_by) if isinstance(color_by, str) else np.asarray(color_by)
    if values.shape == (splat.count, 3):
        return np.clip(np.asarray(values, np.float64)[rows], 0.0, 1.0)
    if values.shape != (splat.count,):
        raise ValueError(f"color_by needs {splat.count} values (or {splat.count} x 3 RGB), "
                         f"got shape {values.shape}")
    drawn = np.asarray(values[rows], np.float64)
    lo, hi = clim if clim is not None else percentile_range(drawn)
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = (drawn - lo) / (hi - lo) if hi > lo else drawn - lo + 0.5
    rgba = colormaps[cmap].with_extremes(bad="black")(np.ma.masked_invalid(scaled))
    return np.asarray(rgba)[:, :3]


def _to_uint8(colors: np.ndarray) -> np.ndarray:
    return np.round(np.clip(colors, 0.0, 1.0) * 255).astype(np.uint8)


def percentile_range(values: np.ndarray) -> tuple[float, float]:
    """Colour limits of ``values``: the 1st and 99th percentiles of the finite ones, (0, 1)
    when none is finite (point views and the explorer's colour bar).

    Example:
        >>> percentile_range(np.array([np.nan, 2.0, 2.0]))
        (2.0, 2.0)
    """
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.0, 1.0
    lo, hi = np.percentile(finite, [1, 99])
    return float(lo), float(hi)


# --------------------------------------------------------------------------- display
class ImageArray(np.ndarray):
    """An (H, W, 3) or (H, W, 4) uint8 image as a numpy array that IPython shows as a PNG.

    It is a numpy array in every other respect (a subclass: shape, indexing, ``np.asarray``,
    ``PIL.Image.fromarray`` work unchanged); ``.array`` is the plain ndarray, without a copy.
    Arithmetic and comparisons give plain arrays; a slice stays an ImageArray and shows as a
    picture while it is one (otherwise as numpy prints it).

    Example:
        >>> image = ImageArray(np.zeros((2, 3, 3), np.uint8))
        >>> image.shape, image._repr_png_()[:4], type(image + 1).__name__
        ((2, 3, 3), b'\\x89PNG', 'ndarray')
        >>> image[0]._repr_png_() is None, type(image.array).__name__
        (True, 'ndarray')
    """

    def __new__(cls, image: np.ndarray) -> ImageArray:
        return np.asarray(image).view(cls)

    def __array_wrap__(self, array, context=None, return_scalar=False):
        # ufunc results (image != 255, image * 0.5, sums) are plain arrays, not images
        return array[()] if return_scalar else array.view(np.ndarray)

    @property
    def array(self) -> np.ndarray:
        """The same pixels as a plain ``numpy.ndarray`` (a view, no copy)."""
        return self.view(np.ndarray)

    def _repr_png_(self) -> bytes | None:
        """PNG bytes for IPython, or None (no PNG) when this is not an 8-bit RGB(A) image."""
        if self.dtype != np.uint8 or self.ndim != 3 or self.shape[2] not in (3, 4) \
                or not self.size:
            return None
        return to_png(np.ascontiguousarray(self.array))


def to_png(image: np.ndarray) -> bytes:
    """PNG bytes of an (H, W, 3) or (H, W, 4) uint8 image, for ``ipywidgets.Image`` or
    ``IPython.display`` (fast, light compression).

    Example:
        >>> to_png(np.zeros((2, 2, 3), np.uint8))[:4]
        b'\\x89PNG'
    """
    buffer = io.BytesIO()
    PIL.Image.fromarray(image).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def montage(images: Sequence[np.ndarray], titles: Sequence[str] | None = None,
            ncols: int = 4, size: float = 3.0) -> SplatFigure:
    """A Figure showing images side by side, ``ncols`` a row, ``size`` inches a panel (a
    :class:`~splatlab.viz.plots.SplatFigure`: a notebook shows it as a PNG).

    Example:
        >>> fig = montage([np.zeros((4, 4, 3), np.uint8)] * 2, ["a", "b"])
        >>> len(fig.axes)
        2
    """
    ncols = max(1, min(ncols, len(images)))
    nrows = math.ceil(len(images) / ncols)
    fig = SplatFigure(figsize=(size * ncols, size * nrows), layout="constrained")
    for i, image in enumerate(images):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        ax.imshow(image)
        ax.set_axis_off()
        if titles is not None:
            ax.set_title(titles[i], fontsize="small")
    return fig


def image_agreement(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """How close two same-size uint8 images are, in 8-bit levels.

    ``mae`` (mean absolute difference), ``p99`` (99th percentile), ``max`` and ``psnr`` in dB
    (``inf`` for identical images).

    Example:
        >>> a = np.zeros((2, 2, 3), np.uint8)
        >>> image_agreement(a, a + 2)["mae"], round(image_agreement(a, a + 2)["psnr"], 1)
        (2.0, 42.1)
    """
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} and {b.shape}")
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    mse = float(np.mean(diff**2))
    psnr = math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)
    return {"mae": float(diff.mean()), "p99": float(np.percentile(diff, 99)),
            "max": float(diff.max()), "psnr": psnr}


# --------------------------------------------------------------------------- k3d
def interactive(splat: Splat, color_by: str | np.ndarray = "rgb", max_points: int = 500_000,
                min_alpha: float = 0.0, highlight: Rows | None = None, normalize: bool = True,
                point_size: float | None = None, cmap: str = "viridis",
                clim: tuple[float, float] | None = None) -> k3d.Plot:
    """A k3d plot of the gaussian centres for a rotatable 3D view in JupyterLab.

    Colours, filter and subsample as :class:`PointView` (``highlight``: the rest turn light
    grey). ``point_size`` is in scene units (default: 1/300 of the largest side of the drawn
    points' bounding box). Raises ImportError with the install command when k3d is missing.

    Example:
        >>> from splatlab import data
        >>> type(interactive(data.trellis_like(), color_by="opacity")).__name__
        'Plot'
    """
    try:
        import k3d
    except ImportError as error:
        raise ImportError("interactive() needs k3d: pip install k3d") from error
    rows = _sample_rows(splat, min_alpha, max_points, seed=0)
    positions = _positions(splat, normalize and len(rows) > 0)[rows]
    colors = _point_colors(splat, rows, color_by, cmap, clim)
    if highlight is not None:
        colors = np.where(_as_mask(highlight, splat.count)[rows, None], colors, CONTEXT_COLOR)
    rgb = np.round(colors * 255).astype(np.uint32)
    packed = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    if point_size is None:
        span = float(np.ptp(positions, axis=0).max()) if len(rows) else 1.0
        point_size = span / 300 if span > 0 else 1.0
    plot = k3d.plot(grid_visible=False)
    plot += k3d.points(positions.astype(np.float32), colors=packed, point_size=point_size,
                       shader="flat")
    return plot
