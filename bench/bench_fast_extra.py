"""The ``[fast]`` extra (numba) against the numpy twins that run without it (issue 14).

Each workload runs in child processes, one with numba and one in which numba cannot be
imported (``sys.modules["numba"] = None`` before splatlab is, as
``tests/test_without_numba.py`` does), children alternating round by round. A child runs
every workload once untimed (imports, numba's cached compilation, first touch of the
file), then once timed. Reported: the median of the rounds per engine and their ratio,
as markdown. ``--main-job`` also times ``splatlab incident run`` (the README's main job,
default scale) once per engine, start to end of the process.

Usage:
    python bench/bench_fast_extra.py [--dir FOLDER] [--rounds 3] [--quick] [--main-job]
"""

from __future__ import annotations

import sys

if "--without-numba" in sys.argv:
    sys.modules["numba"] = None               # before splatlab: as if numba were not installed

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _files import inria_file, trellis_file  # noqa: E402

import splatlab  # noqa: E402
from splatlab.core import compressed_ply, sog, spz  # noqa: E402
from splatlab.core.compiled import numba_available  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ENGINES = {"numba": [], "numpy": ["--without-numba"]}


def workloads(files: dict[str, str]) -> dict[str, Callable[[], object]]:
    """Name -> a call to time, on the files the parent wrote."""
    trellis = files["trellis"]
    columns = {n: np.asarray(c) for n, c in
               ((n, splatlab.load(trellis).column(n)) for n in splatlab.load(trellis).properties)}
    packed = spz.encode(columns)
    return {
        "stats, exact (TRELLIS)": lambda: splatlab.stats(splatlab.load(trellis)),
        "stats, histogram (TRELLIS)": lambda: splatlab.stats(splatlab.load(trellis),
                                                             quantiles="histogram"),
        "stats, moments only (TRELLIS)": lambda: splatlab.stats(splatlab.load(trellis),
                                                                quantiles=False),
        "stats, histogram (INRIA SH 3)": lambda: splatlab.stats(splatlab.load(files["inria"]),
                                                                quantiles="histogram"),
        "SPZ encode (TRELLIS)": lambda: spz.encode(columns),
        "SPZ decode (TRELLIS)": lambda: spz.decode(packed),
        "compressed PLY decode (TRELLIS)": lambda: compressed_ply.read(files["compressed"]),
        "SOG decode (TRELLIS)": lambda: sog.read(files["sog"]),
    }


def child(files: dict[str, str]) -> None:
    """Time each workload once after one untimed call; print {name: seconds} as JSON."""
    jobs = workloads(files)
    for job in jobs.values():
        job()
    times = {}
    for name, job in jobs.items():
        start = time.perf_counter()
        job()
        times[name] = time.perf_counter() - start
    print(json.dumps({"numba": numba_available(), "times": times}))


def write_files(folder: Path, scratch: Path, quick: bool) -> dict[str, str]:
    """The PLY inputs in ``folder`` (kept, shared with the other benchmarks), the TRELLIS
    file as compressed PLY and SOG in ``scratch``."""
    rows = {"trellis": 20_000 if quick else 762_112, "inria": 20_000 if quick else 1_000_000}
    trellis = trellis_file(folder, rows["trellis"])
    files = {"trellis": trellis, "inria": inria_file(folder, rows["inria"]),
             "compressed": scratch / "trellis.compressed.ply", "sog": scratch / "trellis.sog"}
    splat = splatlab.load(trellis)
    splatlab.save(splat, files["compressed"])
    columns = {n: splat.column(n) for n in splat.properties}
    files["sog"].write_bytes(sog.bundle(sog.encode(columns)))   # save() writes no SOG
    return {name: str(path) for name, path in files.items()}


def run_child(engine: str, files: dict[str, str]) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(files),
                           *ENGINES[engine]], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["numba"] == (engine == "numba"), out
    return out["times"]


def main_job(engine: str, folder: Path) -> float:
    """Seconds of ``splatlab incident run`` (default scale), the whole process."""
    code = ("import sys; sys.argv = ['splatlab', 'incident', 'run', '--out', sys.argv[1]];"
            " from splatlab.cli import main; sys.exit(main())")
    if engine == "numpy":
        code = "import sys; sys.modules['numba'] = None; " + code
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(folder / f"incident-{engine}")],
                   check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "splatlab-bench")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small files, one round")
    parser.add_argument("--main-job", action="store_true")
    parser.add_argument("--child")
    parser.add_argument("--without-numba", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    scratch = Path(tempfile.mkdtemp(prefix="splatlab-fast-extra-"))
    try:
        report(args, scratch)
    finally:
        shutil.rmtree(scratch)


def report(args: argparse.Namespace, scratch: Path) -> None:
    files = write_files(args.dir, scratch, args.quick)
    rounds = 1 if args.quick else args.rounds
    times: dict[str, dict[str, list[float]]] = {engine: {} for engine in ENGINES}
    for _ in range(rounds):
        for engine in ENGINES:
            for name, seconds in run_child(engine, files).items():
                times[engine].setdefault(name, []).append(seconds)
    if args.main_job:
        for engine in ENGINES:
            times[engine]["splatlab incident run (whole process)"] = [
                main_job(engine, scratch)]
    print(f"load average at the end: {os.getloadavg()[0]:.1f}; rounds: {rounds}\n")
    print("| workload | numba (ms) | numpy twins (ms) | numpy / numba |")
    print("|---|---:|---:|---:|")
    for name in times["numba"]:
        fast, plain = (float(np.median(times[e][name])) * 1e3 for e in ENGINES)
        print(f"| {name} | {fast:.0f} | {plain:.0f} | {plain / fast:.1f} |")


if __name__ == "__main__":
    main()
