"""How fast the command line starts: wall time and peak memory of whole processes.

Runs ``splatlab --version``, ``splatlab --help`` and ``splatlab info FILE`` (and, for
comparison, a bare ``python -c pass`` and ``python -c "import torch"``) each ``--rounds``
times as separate processes, and reports the median wall time and the median peak
resident memory (``ru_maxrss`` of the child). Targets (issue 11): ``info`` on
hamburger.ply under 0.4 s and 120 MB on the 2-core machine.

Example:
    $ python bench/bench_startup.py --file ../shared/fixtures/hamburger.ply
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default=str(ROOT.parent / "shared/fixtures/hamburger.ply"))
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    py = sys.executable
    cli = [py, "-m", "splatlab"]
    commands = {
        "python -c pass": [py, "-c", "pass"],
        "python -c 'import torch'": [py, "-c", "import torch"],
        "splatlab --version": [*cli, "--version"],
        "splatlab --help": [*cli, "--help"],
        f"splatlab info {Path(args.file).name}": [*cli, "info", args.file],
    }
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]},"
          f" load {os.getloadavg()[0]:.2f}; median of {args.rounds} processes each")
    print("| command | median s | peak MB (each process its own) |\n|---|---:|---:|")
    for name, command in commands.items():
        # RUSAGE_CHILDREN keeps the largest child so far: measure in a fresh helper each time
        runs = [_isolated(command) for _ in range(args.rounds)]
        print(f"| {name} | {statistics.median(r[0] for r in runs):.3f} |"
              f" {statistics.median(r[1] for r in runs):.0f} |")


def _isolated(command: list[str]) -> tuple[float, float]:
    """Run ``measure`` in its own process, so each peak is that command's alone."""
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r});"
            f"from bench_startup import measure; print(*measure({command!r}))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout.split()
    return float(out[0]), float(out[1])


if __name__ == "__main__":
    main()
