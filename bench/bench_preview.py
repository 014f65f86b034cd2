"""open3d's splat shader against the PyTorch renderer: agreement and time a frame, on CPU.

Renders the same views (validator normalisation, orbit cameras, white background, colour
from f_dc) with :func:`splatlab.viz.preview.render_open3d` and :func:`splatlab.render`,
then compares them with :func:`splatlab.viz.preview.image_agreement`; also times a point view.

Run:
    python bench/bench_preview.py                       # hamburger fixture + 500k synthetic
    python bench/bench_preview.py --count 200000 --size 256 --views 2
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import splatlab
from splatlab import synth
from splatlab.rendering.cameras import orbit_cameras
from splatlab.rendering.rasterizer import render
from splatlab.viz.preview import image_agreement, point_view, render_open3d, rendering_available

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "hamburger.ply"


def compare(name: str, splat: splatlab.Splat, size: int, views: int) -> None:
    cameras = orbit_cameras(views, 2.5, -15.0, 49.1, size, size)
    render_open3d(splat, cameras[:1])  # warm-up: renderer, shaders, upload
    start = time.perf_counter()
    theirs = render_open3d(splat, cameras)
    o3d_s = (time.perf_counter() - start) / views
    start = time.perf_counter()
    ours = [r.to_uint8() for r in render(splat, cameras, device="cpu")]
    torch_s = (time.perf_counter() - start) / views
    start = time.perf_counter()
    point_view(splat, cameras[0])
    points_s = time.perf_counter() - start
    for i, (a, b) in enumerate(zip(theirs, ours)):
        q = image_agreement(a, b)
        print(f"{name:28} view {i}  {size}px  open3d {o3d_s:6.2f} s  pytorch {torch_s:6.2f} s"
              f"  point view {points_s:5.2f} s   mae {q['mae']:.3f}  p99 {q['p99']:.0f}"
              f"  max {q['max']:.0f}  psnr {q['psnr']:.1f} dB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500_000, help="synthetic gaussians")
    parser.add_argument("--size", type=int, default=256, help="image side, pixels")
    parser.add_argument("--views", type=int, default=2)
    args = parser.parse_args()
    start = time.perf_counter()
    ok, reason = rendering_available()
    print(f"probe {time.perf_counter() - start:.1f} s: {reason}")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    if not ok:
        return
    if FIXTURE.exists():
        compare("hamburger (52,709)", splatlab.load(FIXTURE), args.size, args.views)
    compare(f"synth.trellis ({args.count:,})", synth.trellis(count=args.count), args.size,
            args.views)


if __name__ == "__main__":
    main()
