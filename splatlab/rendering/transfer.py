"""A Splat's 3DGS fields on a torch device, after one host-to-device copy.

The Splat (core floor) holds numpy columns and knows nothing of torch; moving them to a
device is the rendering floor's work, since the rasteriser is what wants them there.
:func:`to_torch` gives the fields as stored (logit opacity, log scales);
:func:`splatlab.rendering.rasterizer.splat_tensors` activates them for drawing.

Example:
    >>> from splatlab import data
    >>> sorted(to_torch(data.trellis_like(), "cpu"))
    ['log_scales', 'normals', 'opacity', 'positions', 'quats', 'sh_dc']
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ..core.fields import GAUSSIAN_PROPERTIES, GROUPS, SH_REST_COUNTS, f_rest_names
from ..core.splat import Splat


def to_torch(splat: Splat, device: str | torch.device | None = None) -> dict[str, torch.Tensor]:
    """The 3DGS fields as float32 torch tensors on ``device`` (CPU by default), as stored.

    Keys: ``positions`` (N,3), ``opacity`` (N,), ``log_scales`` (N,3), ``quats`` (N,4),
    ``sh_dc`` (N,3), ``normals`` (N,3) when stored, ``sh_rest`` (N,K,3) when K > 0. The
    tensors are views of one (N, F) device matrix, so the transfer is a single copy.
    Raises :class:`~splatlab.core.splat.SplatFieldError` when a 3DGS property is missing.

    Example:
        >>> from splatlab import data
        >>> to_torch(data.trellis_like(), "cpu")["positions"].shape
        torch.Size([7040, 3])
    """
    splat.columns_view(GAUSSIAN_PROPERTIES)  # refuses a file without the 3DGS fields (no copy)
    stored = set(splat.properties)
    groups = {key: names for key, names in GROUPS.items() if stored.issuperset(names)}
    rest = f_rest_names(SH_REST_COUNTS[splat.sh_degree])
    if rest:
        groups["sh_rest"] = rest
    to_cuda = device is not None and str(device).startswith("cuda")
    columns, matrix = _host_matrix(splat, groups, to_cuda)
    matrix = matrix.to(device or "cpu", non_blocking=True)
    out = {}
    for key, group in groups.items():
        start = columns[group[0]]
        block = matrix[:, start:start + len(group)]
        if key == "opacity":
            block = block[:, 0]
        elif key == "sh_rest":
            block = block.reshape(splat.count, 3, len(group) // 3).transpose(1, 2)
        out[key] = block
    return out


def _host_matrix(splat: Splat, groups: dict[str, tuple[str, ...]],
                 to_cuda: bool) -> tuple[dict[str, int], torch.Tensor]:
    """The host tensor :func:`to_torch` copies, and the column where each property sits.

    When every group lies in consecutive columns, that is the whole table as float32:
    for an all-float32 file the memory-mapped table itself, with no host copy (CUDA
    copies it across; the CPU gets its own copy). Otherwise the groups are gathered
    into one host buffer, pinned for CUDA.
    """
    position = {name: j for j, name in enumerate(splat.properties)}
    if all([position[n] for n in g] == list(range(position[g[0]], position[g[0]] + len(g)))
           for g in groups.values()):
        table = splat.as_matrix()
        if table.flags.writeable:  # already a copy of our own
            return position, torch.from_numpy(table)
        if not to_cuda:
            return position, torch.from_numpy(np.array(table))
        with warnings.catch_warnings():  # read-only memory, only ever read by the copy
            warnings.simplefilter("ignore", UserWarning)
            return position, torch.from_numpy(table)
    names = tuple(n for group in groups.values() for n in group)
    host = torch.empty((splat.count, len(names)), dtype=torch.float32, pin_memory=to_cuda)
    host.numpy()[:] = splat.as_matrix(names)
    return {name: j for j, name in enumerate(names)}, host


__all__ = ["to_torch"]
