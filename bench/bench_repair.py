"""Benchmark: load + diagnose + gate + uniform_noise + save on a 762,112-gaussian TRELLIS file.

The input is the write-up's corrupt case at the write-up's third row count: 17 float32
properties in TRELLIS order, opacity uniformly logit(1e-4), other fields as
``splatlab.world.synth.trellis`` makes them (``splatlab.data.corrupted``).
Each step is timed separately (median of ``--repeat`` runs); I/O is load + save +
the two sha256 digests the command line writes into its sidecar.

Example:
    $ python bench/bench_repair.py                  # CPU, numpy noise
    $ python bench/bench_repair.py --device cuda    # noise drawn on the GPU
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import splatlab
from splatlab import data
from splatlab.analysis.diagnosis import diagnose
from splatlab.analysis.gates import gate
from splatlab.repair.export import sha256
from splatlab.repair.strategies import uniform_noise

ROWS = 762_112


def corrupt_trellis_file(folder: Path, n: int = ROWS) -> Path:
    """The write-up's corrupt file (``data.corrupted``: TRELLIS, every opacity logit(1e-4))."""
    path = folder / f"synth_trellis_corrupt_{n}.ply"
    return path if path.exists() else splatlab.save(data.corrupted(n), path)


def run_once(path: Path, out: Path, device: str | None) -> dict[str, float]:
    times: dict[str, float] = {}

    def timed(name, fn, *args, **kwargs):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        times[name] = time.perf_counter() - start
        return result

    splat = timed("load", lambda: splatlab.load(path).detached())
    report = timed("diagnose", diagnose, splat)
    result = timed("gate", gate, splat)
    fixed, record = timed("uniform_noise", uniform_noise, splat, seed=0, device=device)
    timed("save", splatlab.save, fixed, out, overwrite=True)
    timed("sha256", lambda: (sha256(path), sha256(out)))
    assert report.has_errors and not result.passed and record.triggered
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", help="torch device for the noise (default: numpy)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "splatlab")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    path = corrupt_trellis_file(args.folder, args.rows)
    out = args.folder / "bench_repair_out.ply"
    runs = [run_once(path, out, args.device) for _ in range(args.repeat)]
    out.unlink(missing_ok=True)
    steps = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    total = sum(steps.values())
    io = steps["load"] + steps["save"] + steps["sha256"]
    summary = {"rows": args.rows, "bytes": path.stat().st_size, "device": args.device or "numpy",
               "repeat": args.repeat, "seconds": steps, "total": total, "io_share": io / total,
               "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
               "python": sys.version.split()[0], "numpy": np.__version__,
               "torch": torch.__version__, "splatlab": splatlab.__version__}
    if args.json:
        print(json.dumps(summary))
        return
    print(f"{args.rows:,} gaussians ({summary['bytes'] / 1e6:.1f} MB), noise on"
          f" {summary['device']}, median of {args.repeat}")
    for name, seconds in steps.items():
        print(f"  {name:14s} {seconds * 1000:8.1f} ms  {seconds / total:6.1%}")
    print(f"  {'total':14s} {total * 1000:8.1f} ms; I/O (load, save, sha256) {io / total:.1%}")


if __name__ == "__main__":
    main()
