"""GPU benchmark (issue 5) on a 762,112-gaussian TRELLIS-layout splat, one CUDA device.

In one run, side by side (medians of ``--repeat`` runs; CUDA events on the GPU):

* host-to-device transfer of the (N, 17) float32 table: pageable, pinned, and
  ``to_torch(splat, "cuda")`` (host copy into pinned memory, then one transfer);
* the write-up's noise fix plus 17-field moments on device-resident data: plain torch
  ops (``std_mean``/``amin``/``amax``/non-finite counts, no masking) against
  ``repair.add_logit_noise`` + ``stats.device_moments`` (finite-masked, float64) through
  each engine (Triton kernels, torch operations) and as the ``tensor_moments`` table;
* the 16-view validator rig at 518 x 518: gsplat called directly, our gsplat backend
  (on device-resident fields, and through ``render``: a first draw with its transfer, and
  drawing the same splat again with its fields kept), and our PyTorch rasteriser;
* the same work on the CPU (noise + moments; one view of the PyTorch rasteriser).

Prints a Markdown table with ratios and writes ``--json``.

Example:
    $ python bench/bench_gpu.py --json gpu.json
    $ python bench/bench_gpu.py --quick     # small file, 2 views: a smoke run
"""

from __future__ import annotations

import argparse
import json
import platform

import numpy as np
import torch

from splatlab import synth
from splatlab.analysis.statistics import device_moments, tensor_moments
from splatlab.rendering.cameras import validator_rig
from splatlab.rendering.gsplat_backend import gsplat_available, rasterize_gsplat
from splatlab.rendering.rasterizer import rasterize, render, splat_tensors
from splatlab.rendering.timing import time_call
from splatlab.rendering.transfer import to_torch
from splatlab.repair.strategies import add_logit_noise

OPACITY = 9  # column of ``opacity`` in TRELLIS order


def plain_fix_and_moments(matrix: torch.Tensor, seed: int) -> torch.Tensor:
    """The anchor: noise on the opacity column, then unmasked per-column moments."""
    gen = torch.Generator(device=matrix.device).manual_seed(seed)
    fixed = matrix.clone()
    fixed[:, OPACITY] += torch.randn(matrix.shape[0], generator=gen, device=matrix.device) * 2.0
    std, mean = torch.std_mean(fixed, dim=0)
    return torch.stack([mean, std, fixed.amin(0), fixed.amax(0), torch.isnan(fixed).sum(0),
                        torch.isinf(fixed).sum(0)]).cpu()


def ours_fix_and_moments(matrix: torch.Tensor, names: list[str], seed: int):
    """splatlab: the fix's arithmetic, then the stats table's moments on the device."""
    fixed = matrix.clone()
    fixed[:, OPACITY] = add_logit_noise(matrix[:, OPACITY], seed)
    return tensor_moments(fixed, names)


def ours_fix_and_device_moments(matrix: torch.Tensor, seed: int, engine: str = "auto"
                                ) -> np.ndarray:
    """The same, stopping at the (8, F) moments (no pandas table), through ``engine``."""
    fixed = matrix.clone()
    fixed[:, OPACITY] = add_logit_noise(matrix[:, OPACITY], seed)
    return device_moments(fixed, engine)


def gsplat_direct(fields: dict[str, torch.Tensor], cameras) -> torch.Tensor:
    """gsplat.rasterization as the validator calls it: all views in one batch."""
    import gsplat

    device = fields["means"].device
    viewmats = torch.stack([c.viewmat for c in cameras]).to(device, torch.float32)
    ks = torch.stack([c.K for c in cameras]).to(device, torch.float32)
    images, alphas, _ = gsplat.rasterization(fields["means"], fields["quats"], fields["scales"],
                                             fields["opacities"], fields["colors"], viewmats, ks,
                                             cameras[0].width, cameras[0].height)
    return images + (1.0 - alphas)  # on white


def first_draw(splat, cameras, device: str) -> list:
    """``render`` of a splat that keeps no device fields (a new Splat of the same values):
    one transfer, activations, then gsplat."""
    return render(splat.with_encoding(), cameras, device, backend="gsplat")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=762_112)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--views", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="64k gaussians, 2 views, 3 runs")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    if args.quick:
        args.count, args.views, args.repeat = 65_536, 2, 3
    device = "cuda" if torch.cuda.is_available() else "cpu"
    splat = synth.trellis(args.count, seed=0)
    names = splat.properties
    host = np.array(splat.as_matrix())  # a writable copy: torch shares it
    cameras = validator_rig()[: args.views]
    rows: dict[str, dict] = {}

    def measure(name: str, work, where: str = device, repeat: int = args.repeat) -> None:
        rows[name] = {"ms": time_call(work, where, repeat=repeat).median_ms, "device": where}

    if device == "cuda":
        pageable = torch.from_numpy(host)
        pinned = torch.empty(host.shape, dtype=torch.float32, pin_memory=True)
        pinned.copy_(pageable)
        measure("h2d pageable", lambda: pageable.to(device))
        measure("h2d pinned", lambda: pinned.to(device, non_blocking=True))
        measure("to_torch (host copy + pinned h2d)", lambda: to_torch(splat, device))
    on_device = torch.from_numpy(host).to(device)
    measure("noise + moments, plain torch", lambda: plain_fix_and_moments(on_device, 0))
    measure("noise + moments, splatlab", lambda: ours_fix_and_moments(on_device, names, 0))
    measure("noise + moments, splatlab (tensor, no table)",
            lambda: ours_fix_and_device_moments(on_device, 0))
    measure("noise + moments, splatlab (tensor, torch-ops engine)",
            lambda: ours_fix_and_device_moments(on_device, 0, "torch"))
    cpu_matrix = torch.from_numpy(host)
    measure("noise + moments, plain torch (CPU)", lambda: plain_fix_and_moments(cpu_matrix, 0),
            "cpu", 3)
    measure("noise + moments, splatlab (CPU)",
            lambda: ours_fix_and_moments(cpu_matrix, names, 0), "cpu", 3)
    fields = splat_tensors(splat, device)
    views = len(cameras)
    if gsplat_available():
        measure(f"rig {views} views, gsplat direct", lambda: gsplat_direct(fields, cameras))
        measure(f"rig {views} views, splatlab gsplat backend",
                lambda: rasterize_gsplat(fields, cameras))
        measure(f"rig {views} views, render(backend='gsplat') end to end",
                lambda: first_draw(splat, cameras, device))
        measure(f"rig {views} views, render(backend='gsplat') again (fields kept)",
                lambda: render(splat, cameras, device, backend="gsplat"))
    if device == "cuda":
        measure(f"rig {views} views, splatlab torch rasteriser",
                lambda: [rasterize(fields["means"], fields["quats"], fields["scales"],
                                   fields["opacities"], fields["colors"], c) for c in cameras],
                repeat=max(2, args.repeat // 5))
    cpu_fields = splat_tensors(splat, "cpu")
    measure("1 view, splatlab torch rasteriser (CPU)",
            lambda: rasterize(cpu_fields["means"], cpu_fields["quats"], cpu_fields["scales"],
                              cpu_fields["opacities"], cpu_fields["colors"], cameras[0]),
            "cpu", 1)
    report(rows, args, device, views)


def report(rows: dict[str, dict], args: argparse.Namespace, device: str, views: int) -> None:
    card = torch.cuda.get_device_name() if device == "cuda" else platform.processor()
    plain = rows["noise + moments, plain torch"]["ms"]
    ratios = {
        "splatlab / plain torch (noise + moments)": rows["noise + moments, splatlab"]["ms"] / plain,
        "splatlab tensor / plain torch (noise + moments)":
            rows["noise + moments, splatlab (tensor, no table)"]["ms"] / plain,
        "splatlab tensor, torch-ops engine / plain torch (noise + moments)":
            rows["noise + moments, splatlab (tensor, torch-ops engine)"]["ms"] / plain,
    }
    direct = rows.get(f"rig {views} views, gsplat direct")
    if direct:
        ratios["gsplat backend / gsplat direct"] = (
            rows[f"rig {views} views, splatlab gsplat backend"]["ms"] / direct["ms"])
        ratios["render() end to end / gsplat direct"] = (
            rows[f"rig {views} views, render(backend='gsplat') end to end"]["ms"] / direct["ms"])
        ratios["render() again (fields kept) / gsplat direct"] = (
            rows[f"rig {views} views, render(backend='gsplat') again (fields kept)"]["ms"]
            / direct["ms"])
    torch_rig = rows.get(f"rig {views} views, splatlab torch rasteriser")
    if direct and torch_rig:
        ratios["torch rasteriser / gsplat direct"] = torch_rig["ms"] / direct["ms"]
    print(f"# GPU benchmark: {args.count:,} gaussians, {views} views at 518 x 518 on {card},"
          f" torch {torch.__version__}\n")
    print("| work | device | median ms |\n|---|---|---:|")
    for name, row in rows.items():
        print(f"| {name} | {row['device']} | {row['ms']:.3f} |")
    print("\n| ratio | value |\n|---|---:|")
    for name, value in ratios.items():
        print(f"| {name} | {value:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"card": card, "count": args.count, "views": views, "rows": rows,
                       "ratios": ratios, "torch": torch.__version__}, f, indent=1)


if __name__ == "__main__":
    main()
