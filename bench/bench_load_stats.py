"""Load + per-field statistics: splatlab against the floor and the other PLY readers (issue 2).

Generates a TRELLIS-layout file (762,112 gaussians, 17 float32) and an INRIA SH-3 file
(1,000,000 gaussians, 62 float32), warms the page cache, then times every method in
interleaved rounds and prints the medians as markdown tables with ratios.

Usage:
    python bench/bench_load_stats.py [--dir FOLDER] [--rounds 5] [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _files import inria_file, trellis_file  # noqa: E402

import splatlab  # noqa: E402
from splatlab.analysis.statistics import QUANTILE_LEVELS, stats  # noqa: E402
from splatlab.core.ply import read_layout  # noqa: E402

SLOW_S = 2.0            # methods slower than this run in the first 3 rounds only
MMAP_FALSE_LIMIT_S = 60


# ---------------------------------------------------------------------------- naive table
def naive_stats(columns: dict[str, np.ndarray], full: bool) -> pd.DataFrame:
    """What a user writes with numpy: derived rows, then per-column moments (and order stats)."""
    cols = {name: np.asarray(v) for name, v in columns.items()}
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if "opacity" in cols:
            cols["alpha"] = 1.0 / (1.0 + np.exp(-cols["opacity"]))
        lin = [np.exp(cols[f"scale_{i}"]) for i in range(3) if f"scale_{i}" in cols]
        cols.update({f"linear_scale_{i}": v for i, v in enumerate(lin)})
        if len(lin) == 3:
            cols["scale_max"] = np.maximum(np.maximum(lin[0], lin[1]), lin[2])
            cols["anisotropy"] = cols["scale_max"] / np.minimum(np.minimum(lin[0], lin[1]), lin[2])
            cols["volume"] = lin[0] * lin[1] * lin[2]
        if all(f"rot_{i}" in cols for i in range(4)):
            q = [cols[f"rot_{i}"] for i in range(4)]
            cols["quat_norm"] = np.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
    return pd.DataFrame({name: _naive_row(v, full) for name, v in cols.items()}).T


def _naive_row(v: np.ndarray, full: bool) -> dict[str, float]:
    f = v[np.isfinite(v)].astype(np.float64)
    row = {"count": len(v), "finite": len(f), "nan": np.isnan(v).sum(),
           "posinf": np.isposinf(v).sum(), "neginf": np.isneginf(v).sum(),
           "mean": f.mean(), "std": f.std(), "min": f.min(), "max": f.max()}
    if full:
        row.update(zip(("p01", "p50", "p99"), np.quantile(f, QUANTILE_LEVELS)))
        values, counts = np.unique(f, return_counts=True)
        best = counts.argmax()
        row.update(mode=values[best], mode_share=counts[best] / len(v), distinct=len(values))
    return row


# ---------------------------------------------------------------------------- readers
def read_plyfile(path: Path, mmap: bool = True) -> dict[str, np.ndarray]:
    import plyfile

    vertex = plyfile.PlyData.read(path, mmap=mmap)["vertex"]
    return {name: vertex[name] for name in vertex.data.dtype.names}


def read_meshio(path: Path) -> dict[str, np.ndarray]:
    import meshio

    mesh = meshio.read(path)
    return {"x": mesh.points[:, 0], "y": mesh.points[:, 1], "z": mesh.points[:, 2],
            **mesh.point_data}


def read_open3d(path: Path) -> dict[str, np.ndarray]:
    import open3d as o3d

    cloud = o3d.t.io.read_point_cloud(str(path))
    names = {"positions": ("x", "y", "z"), "normals": ("nx", "ny", "nz"), "opacity": ("opacity",),
             "scale": ("scale_0", "scale_1", "scale_2"), "rot": tuple(f"rot_{i}" for i in range(4)),
             "f_dc": ("f_dc_0", "f_dc_1", "f_dc_2")}
    out = {}
    for key in cloud.point:
        block = cloud.point[key].numpy().reshape(len(cloud.point[key]), -1)
        labels = names.get(key, tuple(f"{key}_{i}" for i in range(block.shape[1])))
        out.update({label: block[:, i] for i, label in enumerate(labels)})
    return out


def read_gsply(path: Path) -> dict[str, np.ndarray]:
    """gsply keeps the 3DGS fields only (no normals)."""
    import gsply

    data = gsply.plyread(path)
    blocks = {"x y z": data.means, "f_dc_0 f_dc_1 f_dc_2": data.sh0, "opacity": data.opacities,
              "scale_0 scale_1 scale_2": data.scales, "rot_0 rot_1 rot_2 rot_3": data.quats}
    out = {}
    for names, block in blocks.items():
        block = block.reshape(len(block), -1)
        out.update({name: block[:, i] for i, name in enumerate(names.split())})
    rest = data.shN.transpose(0, 2, 1).reshape(len(data.shN), -1)   # channel-major f_rest
    out.update({f"f_rest_{i}": rest[:, i] for i in range(rest.shape[1])})
    return out


def gsply_available() -> bool:
    try:
        import gsply  # noqa: F401
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------------- methods
def floor(path: Path) -> None:
    """np.fromfile of the body plus one vectorised pass over the (N, F) float32 matrix."""
    layout = read_layout(path)
    width = len(layout.header.vertex.properties)
    body = np.fromfile(path, np.float32, offset=layout.vertex_offset)
    body.reshape(-1, width).sum(axis=0)


def methods(path: Path) -> dict[str, tuple[str, Callable[[], object]]]:
    """Label -> (kind, function); kind is the splatlab row that method is compared with."""
    table = {
        "floor: np.fromfile + one .sum(axis=0)": ("floor", lambda: floor(path)),
        "splatlab load + stats(quantiles=False)": ("moments",
                                                   lambda: stats(splatlab.load(path),
                                                                 quantiles=False)),
        "splatlab load + stats() (full table)": ("full", lambda: stats(splatlab.load(path))),
        "splatlab load + stats(quantiles='histogram') (full table, 4,096 bins)": (
            "histogram", lambda: stats(splatlab.load(path), quantiles="histogram")),
    }
    readers = {"plyfile read (mmap)": read_plyfile, "meshio.read": read_meshio,
               "open3d t.io.read_point_cloud": read_open3d}
    if gsply_available():
        readers["gsply.plyread"] = read_gsply
    for label, reader in readers.items():
        table[f"{label} (read only)"] = ("read", lambda r=reader: r(path))
        table[f"{label} + numpy moments"] = ("moments",
                                             lambda r=reader: naive_stats(r(path), False))
        table[f"{label} + numpy full table"] = ("full", lambda r=reader: naive_stats(r(path), True))
    return table


def warm(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def run_rounds(path: Path, rounds: int) -> dict[str, list[float]]:
    """Interleaved rounds: every method once a round, so that load drift hits all alike."""
    table = methods(path)
    for kind, fn in table.values():
        if kind == "read":
            fn()                      # imports and library start-up stay out of the timings
    times: dict[str, list[float]] = {label: [] for label in table}
    for round_ in range(rounds):
        for label, (_, fn) in table.items():
            if round_ >= 3 and times[label] and min(times[label]) > SLOW_S:
                continue
            start = time.perf_counter()
            fn()
            times[label].append(time.perf_counter() - start)
    return times


def plyfile_no_mmap(path: Path, limit_s: float) -> float | None:
    """Seconds for plyfile mmap=False + numpy moments in a fresh process; None past limit_s."""
    here, target = str(Path(__file__).parent), str(path)
    code = (f"import sys, time; sys.path.insert(0, {here!r}); from bench_load_stats import *;"
            f"t = time.perf_counter(); naive_stats(read_plyfile(Path({target!r}), mmap=False),"
            " False); print(time.perf_counter() - t)")
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=limit_s, check=True)
    except subprocess.TimeoutExpired:
        return None
    return float(done.stdout.split()[-1])


# ---------------------------------------------------------------------------- report
def check_agreement(path: Path) -> str:
    """splatlab's table against the naive one on the same file (a sanity check, not timed)."""
    mine = stats(splatlab.load(path))
    naive = naive_stats(read_plyfile(path), True)
    numbers = ["count", "finite", "nan", "posinf", "neginf", "min", "max", "p01", "p50", "p99",
               "mode", "mode_share", "distinct"]
    exact = np.array_equal(mine[numbers].astype(float).to_numpy(),
                           naive.loc[mine.index, numbers].astype(float).to_numpy(), equal_nan=True)
    rel = {c: np.nanmax(np.abs(mine[c] / naive.loc[mine.index, c].astype(float) - 1))
           for c in ("mean", "std")}
    return (f"agreement with the naive float64 table: order stats and counts "
            f"{'identical' if exact else 'DIFFER'}, mean max rel. diff {rel['mean']:.1e}, "
            f"std {rel['std']:.1e}")


def report(path: Path, times: dict[str, list[float]], no_mmap: float | None | str) -> str:
    table = methods(path)
    median = {label: float(np.median(t)) for label, t in times.items()}
    base = median[next(k for k, (kind, _) in table.items() if kind == "floor")]
    ours = {kind: median[label] for label, (kind, _) in table.items()
            if label.startswith("splatlab")}
    lines = ["| method | median ms | runs | × floor | × splatlab (same stats) "
             "| × splatlab histogram table |", "|---|---:|---:|---:|---:|---:|"]
    for label, (kind, _) in table.items():
        theirs = kind in ("moments", "full") and not label.startswith("splatlab")
        ratio = f"{median[label] / ours[kind]:.1f}" if theirs else ""
        binned = f"{median[label] / ours['histogram']:.1f}" if theirs and kind == "full" else ""
        lines.append(f"| {label} | {median[label] * 1e3:.1f} | {len(times[label])} | "
                     f"{median[label] / base:.2f} | {ratio} | {binned} |")
    if isinstance(no_mmap, float):
        lines.append(f"| plyfile read (mmap=False) + numpy moments | {no_mmap * 1e3:.0f} | 1 | "
                     f"{no_mmap / base:.1f} | {no_mmap / ours['moments']:.1f} | |")
    else:
        lines.append(f"| plyfile read (mmap=False) + numpy moments | {no_mmap} | 0 | | | |")
    if not gsply_available():
        lines.append("| gsply | not installable | | | |")
    return "\n".join(lines)


def machine() -> str:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((ln.split(":", 1)[1].strip() for ln in lscpu.splitlines()
                  if ln.startswith("Model name")), platform.processor())
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import torch

    return (f"CPU {model}, {os.cpu_count()} cores, {ram:.0f} GiB RAM; Python "
            f"{platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
            f"torch {torch.__version__}; load average at start {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "splatlab-bench",
                        help="folder for the generated files (kept for the next run)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny files, 2 rounds (smoke run)")
    args = parser.parse_args()
    sizes = (2_016, 3_000) if args.quick else (None, None)
    rounds = 2 if args.quick else args.rounds
    files = {"TRELLIS layout": trellis_file(args.dir, *(s for s in sizes[:1] if s)),
             "INRIA SH-3": inria_file(args.dir, *(s for s in sizes[1:] if s))}
    print(machine())
    print(f"command: python bench/bench_load_stats.py {' '.join(sys.argv[1:])}".rstrip())
    limit = MMAP_FALSE_LIMIT_S
    for name, path in files.items():
        warm(path)
        count = splatlab.load(path).count
        times = run_rounds(path, rounds)
        no_mmap = plyfile_no_mmap(path, limit)
        shown = no_mmap if no_mmap is not None else f"skipped: over {limit} s"
        print(f"\n### {name}: {count:,} gaussians, {path.stat().st_size / 1e6:.0f} MB\n")
        print(report(path, times, shown))
        print(f"\n{check_agreement(path)}")


if __name__ == "__main__":
    main()
