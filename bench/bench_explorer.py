"""Time each explorer interaction on large synthetic splats, without a browser.

An interaction is setting one widget's value from Python, which runs everything the kernel
does for it (selection, histogram PNG, point-view PNG); the browser's share is not counted.
"cold" is the first time a setting is seen (field values, binning, histogram drawing or a
camera's projection not done yet; the max over the row's actions), "warm" the median and max
of the repeats. Wall-clock and CPU time are both printed: on a shared machine (load average
above the CPU count) wall time is inflated by waiting for a core, CPU time much less.

Run:
    python bench/bench_explorer.py                    # 2 splats of 500,000 gaussians
    python bench/bench_explorer.py --count 1000000 --repeat 9
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from splatlab import synth
from splatlab.viz.widgets import Explorer, explore


def _timed(action: Callable[[], None]) -> tuple[float, float]:
    """(wall, CPU) milliseconds of one action."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return (time.perf_counter() - wall) * 1000.0, (time.process_time() - cpu) * 1000.0


def _row(name: str, cold: list[tuple[float, float]], warm: list[tuple[float, float]]) -> str:
    walls, cpus = [w for w, _ in warm], [c for _, c in warm]
    return (f"{name:22} {max(w for w, _ in cold):8.0f} {max(c for _, c in cold):8.0f}"
            f" {statistics.median(walls):8.0f} {statistics.median(cpus):8.0f}"
            f" {max(walls):8.0f}")


def _set(control, value) -> Callable[[], None]:
    return lambda: setattr(control, "value", value)


def interactions(ex: Explorer) -> dict[str, list[Callable[[], None]]]:
    """Name -> the actions of one interaction, cycled: the first run of each is cold."""
    return {
        "range (raw opacity)": [_set(ex.range, (-6.0, 0.0)), _set(ex.range, (-3.0, 2.0))],
        "bins": [_set(ex.bins, 64), _set(ex.bins, 256)],
        "bins (1024)": [_set(ex.bins, 1024), _set(ex.bins, 256)],
        "log counts": [_set(ex.log_count, True), _set(ex.log_count, False)],
        "field": [_set(ex.field, "scale_0"), _set(ex.field, "opacity")],
        "field (derived)": [_set(ex.field, "anisotropy"), _set(ex.field, "opacity")],
        "raw / activated": [_set(ex.raw, False), _set(ex.raw, True)],
        "colour by": [_set(ex.color_by, "field"), _set(ex.color_by, "rgb")],
        "view": [_set(ex.view, 4), _set(ex.view, 0)],
    } | ({"preview splat": [_set(ex.picker, 1), _set(ex.picker, 0)]}
         if len(ex.splats) > 1 else {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500_000, help="gaussians a splat")
    parser.add_argument("--splats", type=int, default=2, help="splats compared")
    parser.add_argument("--repeat", type=int, default=5, help="warm repeats a setting")
    parser.add_argument("--max-points", type=int, default=100_000)
    args = parser.parse_args()

    splats = [synth.trellis(count=args.count, seed=i) for i in range(args.splats)]
    start = time.perf_counter()
    ex = explore(splats, max_points=args.max_points)
    build = time.perf_counter() - start
    print(f"{args.splats} x {args.count:,} gaussians, point view of <= {args.max_points:,}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"explore(): {build:.2f} s (histogram figure and its ticks, values, binning, first "
          f"draw, point views)")
    print(f"{'':22} {'cold (max)':>17} {'warm (median)':>17} {'warm max':>8}")
    print(f"{'interaction, ms':22} {'wall':>8} {'CPU':>8} {'wall':>8} {'CPU':>8} {'wall':>8}")
    for name, actions in interactions(ex).items():
        cold = [_timed(action) for action in actions]
        warm = [_timed(action) for _ in range(args.repeat) for action in actions]
        print(_row(name, cold, warm))
    ex.raw.value = False
    log_range = [_timed(_set(ex.range, (ex.range.min, -3.0 - 0.5 * (i % 2))))
                 for i in range(2 * args.repeat + 1)]
    print(_row("range (logit alpha)", log_range[:1], log_range[1:]))


if __name__ == "__main__":
    main()
