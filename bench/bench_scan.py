"""Scan at scale (issue 13): files a second and GB a second on 1 and 2 local worker
processes and on a 2-worker Dask LocalCluster; scaling; the cost of a file against its bytes.

Generates a folder of mixed files (default 200; 7,040 to 1,000,000 gaussians, sizes drawn
log-uniformly with more small files than large; about 80 % healthy TRELLIS PLY, 8 % SPZ,
6 % corrupted (uniform opacity at logit(1e-4)), 6 % malformed: truncated, header garbage,
not a splat), reads every file once (page cache warm), then

* times ``scan_file`` on each file in this process, one thread (torch and statistics),
  and fits ``seconds = fixed + per_byte * bytes`` (least squares) over the readable files;
  the per-file overhead is the fixed part and the median time of the 7,040-gaussian files;
* scans the folder with 1 and 2 local worker processes and on a 2-worker LocalCluster
  (one thread a worker), pool or cluster start timed apart from the scan, and checks that
  the three tables are equal;
* records the peak resident memory of each worker (``ru_maxrss``) beside the largest file.

Prints markdown for docs/benchmarks.md.

Usage:
    python bench/bench_scan.py [--dir FOLDER] [--files 200] [--max-count 1000000] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import splatlab
from splatlab import synth
from splatlab.analysis.scanning import (
    COLUMNS,
    _scan_one,
    scan_file,
    typed,
    worker_setup,
)
from splatlab.core.parallel import engine
from splatlab.loadchain import LOGIT_1E4

MIN_COUNT = 7_040


def make_folder(folder: Path, files: int, max_count: int, seed: int) -> list[Path]:
    """The mixed folder (reused when it already holds ``files`` files)."""
    folder.mkdir(parents=True, exist_ok=True)
    if len(list(folder.iterdir())) == files:
        return sorted(folder.iterdir())
    rng = np.random.default_rng(seed)
    u = rng.random(files) ** 1.5   # more small files than large
    counts = (MIN_COUNT * (max_count / MIN_COUNT) ** u).astype(int) // 32 * 32
    counts[:5] = MIN_COUNT           # some at the gate's floor for the overhead figure
    kinds = rng.choice(["ply", "spz", "corrupt", "malformed"], files,
                       p=[0.80, 0.08, 0.06, 0.06])
    for i, (count, kind) in enumerate(zip(counts, kinds)):
        splat = synth.trellis(int(count), seed=i)
        name = folder / f"{i:03d}_{kind}_{count}"
        if kind == "spz":
            splatlab.save(splat, name.with_suffix(".spz"))
        elif kind == "corrupt":
            splatlab.save(synth.corrupt(splat, uniform={"opacity": LOGIT_1E4}),
                          name.with_suffix(".ply"))
        elif kind == "ply":
            splatlab.save(splat, name.with_suffix(".ply"))
        else:
            whole = splatlab.save(splat, name.with_suffix(".ply"))
            data = whole.read_bytes()
            bad = [data[: len(data) // 3], b"ply\nformat binary_little_endian 1.0\n" + data[60:],
                   b"\x00" * 4096][i % 3]
            whole.write_bytes(bad)
    return sorted(folder.iterdir())


def _scan_with_memory(path: str, shared) -> tuple[dict, int, int, float, float]:
    """A worker's scan of one file, with its peak resident memory so far (kB), its process
    id and its CPU time before and after."""
    before = time.process_time()
    row = _scan_one(path, shared)
    return (row, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, os.getpid(), before,
            time.process_time())


def timed_run(executor, workers: int, files: list[str], sizes: list[int]) -> dict:
    start = time.perf_counter()
    shared = ("sn17", frozenset())
    with engine(executor, workers, items=len(files)) as where:
        where.run(_scan_with_memory, files[:workers], shared=shared,
                  setup=worker_setup)      # start and warm each worker
        ready = time.perf_counter()
        out = where.run(_scan_with_memory, files, shared=shared,
                        setup=worker_setup, sizes=sizes)
        done = time.perf_counter()
    rows, rss, pids, before, after = zip(*out)
    cpu = pd.DataFrame({"pid": pids, "before": before, "after": after}).groupby("pid")
    used = (cpu["after"].max() - cpu["before"].min()).sum()
    return {"start_s": ready - start, "scan_s": done - ready,
            "table": typed(pd.DataFrame(list(rows), columns=list(COLUMNS))),
            "peak_rss_mb": max(rss) / 1024, "cores_got": used / (done - ready)}


def per_file_costs(files: list[str]) -> pd.DataFrame:
    """Seconds of scan_file on each file here (one thread), best of 3 for small files: wall
    time, and CPU time of this process (what a dedicated core spends, whatever else runs
    on the machine)."""
    import torch

    torch.set_num_threads(1)
    worker_setup()
    scan_file(files[0])                                        # warm: compile caches
    rows = []
    for f in files:
        size = os.path.getsize(f)
        repeats = 3 if size < 5e6 else 1
        wall, cpu = zip(*(_time(scan_file, f) for _ in range(repeats)))
        row = scan_file(f)
        rows.append({"file": f, "bytes": size, "count": row["count"],
                     "error": row["error"] is not None, "seconds": min(wall),
                     "cpu_seconds": min(cpu)})
    return pd.DataFrame(rows)


def _time(fn, *args) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="folder for the generated files (kept)")
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--max-count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--costs-only", action="store_true",
                        help="the cost a file only (no worker runs)")
    parser.add_argument("--runs-only", action="store_true",
                        help="the worker runs only (no cost a file)")
    args = parser.parse_args()
    temporary = args.dir is None
    folder = args.dir or Path(tempfile.mkdtemp(prefix="bench-scan-"))
    try:
        report(folder, args)
    finally:
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)


def report(folder: Path, args: argparse.Namespace) -> None:
    t = time.perf_counter()
    paths = make_folder(folder, args.files, args.max_count, args.seed)
    files = [str(p) for p in paths]
    sizes = [p.stat().st_size for p in paths]
    total = sum(sizes)
    for p in paths:                                            # page cache warm
        p.read_bytes()
    print(f"# {len(files)} files, {total / 1e9:.2f} GB, generated in"
          f" {time.perf_counter() - t:.0f} s; {platform.processor() or platform.machine()},"
          f" {os.cpu_count()} cores, Python {platform.python_version()},"
          f" load average before: {os.getloadavg()[0]:.2f}\n")

    if not args.runs_only:
        costs_section(files, args)
    if not args.costs_only:
        runs_section(files, sizes, total)


def costs_section(files: list[str], args: argparse.Namespace) -> None:
    costs = per_file_costs(files)
    ok = costs[~costs["error"]]
    print("## Cost a file (this process, one thread)\n")
    for column, what in (("cpu_seconds", "CPU time"), ("seconds", "wall time")):
        fixed, per_byte = np.polynomial.polynomial.polyfit(ok["bytes"], ok[column], 1)
        residual = ok[column] - (fixed + per_byte * ok["bytes"])
        small = ok[ok["count"] == MIN_COUNT][column]
        print(f"- {what}: fit over {len(ok)} readable files {fixed * 1e3:.1f} ms +"
              f" {per_byte * 1e9:.1f} s a GB ({1 / per_byte / 1e6:.0f} MB/s), residual std"
              f" {residual.std() * 1e3:.0f} ms; {MIN_COUNT:,}-gaussian files ({len(small)})"
              f" median {small.median() * 1e3:.1f} ms, best {small.min() * 1e3:.1f} ms")
        for lo, hi in ((0, 2e6), (2e6, 10e6), (10e6, 30e6), (30e6, 1e9)):
            part = ok[(ok["bytes"] >= lo) & (ok["bytes"] < hi)]
            if len(part):
                rate = part["bytes"].sum() / part[column].sum() / 1e6
                print(f"  - {lo / 1e6:.0f}-{hi / 1e6:.0f} MB: {len(part)} files, {rate:.0f} MB/s")
    bad = costs[costs["error"]]["cpu_seconds"]
    print(f"- unreadable files ({len(bad)}): median CPU {bad.median() * 1e3:.1f} ms")
    print(f"- sum over all files: CPU {costs['cpu_seconds'].sum():.1f} s,"
          f" wall {costs['seconds'].sum():.1f} s\n")


def runs_section(files: list[str], sizes: list[int], total: int) -> None:
    print("## Throughput\n")
    print("| where | start (s) | scan (s) | files/s | GB/s | vs 1 worker | efficiency |"
          " cores the workers got | peak RSS a worker (MB) | load avg |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    runs = {}
    for label, executor, workers in (("1 local worker", "processes", 1),
                                     ("2 local workers", "processes", 2),
                                     ("Dask LocalCluster, 2 workers", "dask://local", 2)):
        runs[label] = r = timed_run(executor, workers, files, sizes)
        base = runs["1 local worker"]["scan_s"]
        speedup = base / r["scan_s"]
        print(f"| {label} | {r['start_s']:.1f} | {r['scan_s']:.1f} |"
              f" {len(files) / r['scan_s']:.2f} | {total / 1e9 / r['scan_s']:.3f} |"
              f" {speedup:.2f}x | {speedup / workers:.0%} | {r['cores_got']:.2f} |"
              f" {r['peak_rss_mb']:.0f} | {os.getloadavg()[0]:.1f} |")
    tables = [r["table"] for r in runs.values()]
    for other in tables[1:]:
        pd.testing.assert_frame_equal(tables[0], other, check_exact=True)
    largest = max(sizes)
    print(f"\nRows equal on all three. Largest file {largest / 1e6:.0f} MB."
          f" Load average after: {os.getloadavg()[0]:.2f}.")


if __name__ == "__main__":
    sys.exit(main())
