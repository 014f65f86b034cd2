"""Pinhole cameras for the rasteriser, and the subnet-17 validator's orbit rig.

Conventions
-----------
* Camera space is OpenCV's: x right, y down, z forward (points in front have z > 0).
* Image coordinates follow gsplat: pixel ``(row i, col j)`` has its centre at
  ``(u, v) = (j + 0.5, i + 0.5)``, and a camera-space point projects to
  ``u = fx * x / z + cx``, ``v = fy * y / z + cy`` (:meth:`Camera.project`, the one place
  that computes it: the rasteriser, its reference and the point preview all call it).
* The world is **y-up**. The validator builds its cameras with a look-at whose up vector is
  (0, 1, 0) and places them at ``(r cos(e) sin(a), -r sin(e), r cos(e) cos(a))`` for elevation
  ``e`` and azimuth ``a`` (404-Repo/three-gen-subnet, ``gs_camera.py``). We keep that world and
  that sign of elevation so that our 16 views are the validator's 16 views: with the rig's
  elevation of -15 degrees the camera sits *above* the object (y > 0), looking down.

Example:
    >>> rig = validator_rig()
    >>> len(rig), rig[0].width, rig[0].height
    (16, 518, 518)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch

from ..world import sn17

Vec3 = Sequence[float]
Points = TypeVar("Points", np.ndarray, torch.Tensor)


@dataclass(frozen=True, eq=False)
class Camera:
    """A pinhole camera: world-to-camera transform plus intrinsics.

    ``viewmat`` is a (4, 4) float64 world-to-camera matrix (OpenCV axes: x right, y down,
    z forward); ``fx, fy, cx, cy`` are in pixels; the image is ``width`` x ``height``.

    Example:
        >>> cam = Camera.look_at((0, 0, 3), (0, 0, 0), (0, 1, 0), 60.0, 64, 48)
        >>> [round(v, 6) for v in cam.position.tolist()]
        [0.0, 0.0, 3.0]
    """

    viewmat: torch.Tensor
    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        viewmat = torch.as_tensor(self.viewmat, dtype=torch.float64).cpu()
        if viewmat.shape != (4, 4):
            raise ValueError(f"viewmat must be 4 x 4, got {tuple(viewmat.shape)}")
        object.__setattr__(self, "viewmat", viewmat)

    @classmethod
    def look_at(cls, eye: Vec3, target: Vec3, up: Vec3, fov_y_deg: float, width: int,
                height: int) -> Camera:
        """A camera at ``eye`` looking at ``target``, ``up`` pointing up in the image.

        Square pixels: ``fx = fy = height / (2 tan(fov_y / 2))``; the principal point is the
        image centre ``(width / 2, height / 2)``.

        Example:
            >>> cam = Camera.look_at((0, 0, -2), (0, 0, 0), (0, 1, 0), 90.0, 10, 10)
            >>> round(cam.fy, 6)
            5.0
        """
        eye_t = torch.as_tensor(eye, dtype=torch.float64)
        forward = _unit(torch.as_tensor(target, dtype=torch.float64) - eye_t)
        right = _unit(torch.linalg.cross(forward, torch.as_tensor(up, dtype=torch.float64)))
        down = torch.linalg.cross(forward, right)
        rotation = torch.stack([right, down, forward])  # rows: camera axes in world coordinates
        viewmat = torch.eye(4, dtype=torch.float64)
        viewmat[:3, :3] = rotation
        viewmat[:3, 3] = -rotation @ eye_t
        focal = height / (2.0 * math.tan(math.radians(fov_y_deg) / 2.0))
        return cls(viewmat, focal, focal, width / 2.0, height / 2.0, width, height)

    @property
    def position(self) -> torch.Tensor:
        """(3,) camera centre in world coordinates.

        Example:
            >>> Camera.look_at((1, 2, 3), (0, 0, 0), (0, 1, 0), 50, 8, 8).position.tolist()
            [1.0, 2.0, 3.0]
        """
        rotation, translation = self.viewmat[:3, :3], self.viewmat[:3, 3]
        return -rotation.T @ translation

    @property
    def forward(self) -> torch.Tensor:
        """(3,) unit viewing direction (camera +z) in world coordinates."""
        return self.viewmat[2, :3].clone()

    def project(self, points: Points) -> tuple[Points, Points, Points]:
        """Camera-space coordinates (N, 3) of world points (N, 3), and their pixel coordinates
        ``u = fx * x / z + cx``, ``v = fy * y / z + cy`` (N,).

        A tensor is transformed in its own dtype and device (``points @ R.T + t``); a numpy
        array in float64 with einsum, not BLAS (on a busy machine the BLAS threads take up to
        ~30 ms to wake). Nothing is culled: points at or behind the camera give infinite or
        negated pixels, without numpy warnings.

        Example:
            >>> cam = Camera.look_at((0, 0, -2), (0, 0, 0), (0, 1, 0), 90.0, 10, 10)
            >>> cam_points, u, v = cam.project(np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 0.0]]))
            >>> cam_points[:, 2].tolist(), u.round(6).tolist(), v.round(6).tolist()
            ([2.0, 2.0], [5.0, 2.5], [5.0, 2.5])
            >>> cam.project(torch.tensor([[1.0, 1.0, 0.0]]))[2]
            tensor([2.5000])
        """
        if isinstance(points, np.ndarray):
            view = self.viewmat.numpy()
            cam = np.einsum("nj,ij->ni", points, view[:3, :3]) + view[:3, 3]
        else:
            view = self.viewmat.to(points)
            cam = points @ view[:3, :3].T + view[:3, 3]
        x, y, z = cam[:, 0], cam[:, 1], cam[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            return cam, self.fx * x / z + self.cx, self.fy * y / z + self.cy

    @property
    def K(self) -> torch.Tensor:  # noqa: N802 (the usual name of the intrinsics matrix)
        """(3, 3) intrinsics matrix."""
        return torch.tensor([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]],
                            dtype=torch.float64)


def orbit_cameras(n_views: int, radius: float, elevation_deg: float, fov_y_deg: float,
                  width: int, height: int, target: Vec3 = (0.0, 0.0, 0.0),
                  endpoint: bool = False) -> list[Camera]:
    """Cameras on a circle around ``target``, azimuth evenly spaced over 0..360 degrees.

    Camera ``k`` sits at ``target + radius * (cos(e) sin(a_k), -sin(e), cos(e) cos(a_k))``
    (the validator's formula: y-up world, *negative* elevation above the target) and looks at
    ``target``. ``endpoint=False`` spaces azimuths by ``360 / n_views``; ``endpoint=True``
    includes 360 itself (``numpy.linspace(0, 360, n_views)``, what the validator does, so its
    first and last views coincide).

    Example:
        >>> cams = orbit_cameras(4, 2.0, 0.0, 50.0, 32, 32)
        >>> [round(v, 6) + 0.0 for v in cams[1].position.tolist()]
        [2.0, 0.0, 0.0]
    """
    step = 360.0 / (n_views - 1 if endpoint and n_views > 1 else n_views)
    elevation = math.radians(elevation_deg)
    center = torch.as_tensor(target, dtype=torch.float64)
    cameras = []
    for k in range(n_views):
        azimuth = math.radians(k * step)
        offset = torch.tensor([math.cos(elevation) * math.sin(azimuth), -math.sin(elevation),
                               math.cos(elevation) * math.cos(azimuth)], dtype=torch.float64)
        eye = center + radius * offset
        cameras.append(Camera.look_at(eye.tolist(), center.tolist(), (0.0, 1.0, 0.0), fov_y_deg,
                                      width, height))
    return cameras


def validator_rig(resolution: int = sn17.RIG_RESOLUTION) -> list[Camera]:
    """The subnet-17 validator's 16 views (FACTS.md section 2).

    518 x 518 pixels (``resolution`` lowers it for quick looks; the focal length follows),
    radius 2.5, elevation -15 degrees (camera above the object, see module notes), vertical
    field of view 49.1 degrees, azimuths ``numpy.linspace(0, 360, 16)`` as in the validator
    (steps of 24 degrees; views 0 and 15 are the same view).

    Example:
        >>> rig = validator_rig()
        >>> round(float(rig[0].position[1]), 4)  # 2.5 * sin(15 deg) above the origin
        0.647
    """
    return orbit_cameras(sn17.RIG_VIEWS, sn17.RIG_RADIUS, sn17.RIG_ELEVATION_DEG,
                         sn17.RIG_FOV_Y_DEG, resolution, resolution, endpoint=True)


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / torch.linalg.norm(v)
