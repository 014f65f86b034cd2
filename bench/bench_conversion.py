"""Row matching and conversion_loss on 762,112 gaussians (issue 12).

Takes the TRELLIS-layout file (762,112 gaussians, 17 float32) from ``_files.trellis_file``,
makes its SPZ decode (``spz_roundtrip``: the rows in order) and a shuffled copy of that
decode (rows in another order, as compressed PLY and SOG store them), then times in
interleaved rounds, medians printed as a markdown table:

* ``match_rows`` by order (the SPZ decode) and by nearest position (the shuffled one);
* the same nearest-position pairing written the plain way: one ``cKDTree.query`` (k=1),
  no one-to-one check, no tie handling (the floor the honest pairing is measured against);
* ``conversion_loss`` on both, the whole report.

Usage:
    python bench/bench_conversion.py [--dir FOLDER] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from _files import trellis_file

from splatlab import load
from splatlab.analysis.conversion import conversion_loss
from splatlab.analysis.matching import match_rows
from splatlab.world.submission import spz_roundtrip


def plain_nearest(a, b) -> np.ndarray:
    from scipy.spatial import cKDTree

    return cKDTree(a.positions.astype(np.float64)).query(
        b.positions.astype(np.float64), k=1, workers=-1)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "splatlab-bench")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20,000 rows, one round")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    rows = 20_000 if args.quick else None
    path = trellis_file(args.dir, rows) if rows else trellis_file(args.dir)
    source = load(path)
    decoded = spz_roundtrip(source)
    shuffled = decoded.take(np.random.default_rng(0).permutation(decoded.count))
    methods = {
        "match_rows, by order (SPZ decode)": lambda: match_rows(source, decoded),
        "match_rows, by position (shuffled decode)": lambda: match_rows(source, shuffled),
        "plain cKDTree query k=1 (no one-to-one, no ties)": lambda: plain_nearest(source,
                                                                                  shuffled),
        "conversion_loss, SPZ decode": lambda: conversion_loss(source, decoded),
        "conversion_loss, shuffled decode": lambda: conversion_loss(source, shuffled),
    }
    times: dict[str, list[float]] = {name: [] for name in methods}
    results = {}
    for _ in range(1 if args.quick else args.rounds):
        for name, run in methods.items():
            start = time.perf_counter()
            results[name] = run()
            times[name].append(time.perf_counter() - start)
    m = results["match_rows, by position (shuffled decode)"]
    print(f"{source.count:,} gaussians; position pairing: {m.matched:,} pairs,"
          f" {m.unambiguous:,} unambiguous, {m.coincident:,} coincident;"
          f" {platform.python_version()}, {os.cpu_count()} cores")
    floor = np.median(times["plain cKDTree query k=1 (no one-to-one, no ties)"])
    print("\n| method | median s | runs | x plain query |\n|---|---:|---:|---:|")
    for name, values in times.items():
        median = float(np.median(values))
        print(f"| {name} | {median:.2f} | {len(values)} | {median / floor:.2f} |")


if __name__ == "__main__":
    main()
