"""Peak memory of the PyTorch rasteriser: 1,000,000 gaussians, one 518 x 518 view.

Issue 5 bounds it at 4 GB of GPU memory on CUDA and 8 GB of RAM on the CPU. Reports
the peak CUDA allocation (``torch.cuda.max_memory_allocated``) or the process's peak
resident set (``ru_maxrss``) growth over what the splat itself holds.

Example:
    $ python bench/bench_render_memory.py --device cpu
    $ python bench/bench_render_memory.py --device cuda
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from splatlab import synth
from splatlab.rendering.cameras import validator_rig
from splatlab.rendering.rasterizer import rasterize, splat_tensors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--count", type=int, default=1_000_000)
    args = parser.parse_args()
    splat = synth.trellis(args.count, seed=0)
    fields = splat_tensors(splat, args.device)
    camera = validator_rig()[0]
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    out = rasterize(fields["means"], fields["quats"], fields["scales"], fields["opacities"],
                    fields["colors"], camera)
    float(out.alpha.mean())
    seconds = time.perf_counter() - start
    if args.device.startswith("cuda"):
        peak = torch.cuda.max_memory_allocated() - before
        where = f"peak CUDA memory above the splat's tensors: {peak / 2**30:.2f} GiB (bound 4 GiB)"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        where = (f"peak resident set {peak / 2**30:.2f} GiB, {(peak - rss_before) / 2**30:.2f} GiB"
                 " more than before the render (bound 8 GiB)")
    print(f"{args.count:,} gaussians, 518 x 518, {args.device}: {seconds:.2f} s; {where};"
          f" covered share {float((out.alpha > 0.5).float().mean()):.3f}")


if __name__ == "__main__":
    main()
