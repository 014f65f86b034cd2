"""This checkout's load + statistics against another commit's, on the same files (issue 14).

A redesign must not make a speed ratio worse. Runs of ``bench_load_stats.py`` made at
different times differ by the machine's load more than by the code, so this runs both
checkouts in alternating processes, on the same files (``bench/_files.py``'s, built once),
and prints, per workload, each side's median and minimum and the ratio of this checkout to
the other.

Usage (the other commit checked out as a worktree):
    git worktree add /tmp/before d52ba92
    python bench/bench_against.py /tmp/before [--rounds 5] [--dir FOLDER]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _files import inria_file, trellis_file  # noqa: E402

HERE = Path(__file__).resolve().parent.parent

# One process a round: load + stats in each mode, a warm-up call first (numba's cache).
TIMER = """
import json, sys, time
import splatlab
from splatlab.analysis.statistics import stats
path, repeat = sys.argv[1], int(sys.argv[2])
modes = {"moments": False, "histogram": "histogram", "exact": True}
out = {}
for name, quantiles in modes.items():
    stats(splatlab.load(path), quantiles=quantiles)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        stats(splatlab.load(path), quantiles=quantiles)
        times.append((time.perf_counter() - start) * 1e3)
    out[name] = min(times)
print(json.dumps(out))
"""


def timed(checkout: Path, path: Path, repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` milliseconds per workload, in a process importing ``checkout``."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run([sys.executable, "-c", TIMER, str(path), str(repeat)], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", type=Path, help="a checkout of the commit to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "splatlab-bench")
    args = parser.parse_args()
    files = {"TRELLIS": trellis_file(args.dir), "INRIA SH-3": inria_file(args.dir)}
    print(f"this checkout ({HERE}) against {args.other}; {args.rounds} alternating rounds,"
          f" best of {args.repeat} a round; load average at start {os.getloadavg()[0]:.1f}\n")
    print("| file | workload | this ms (median, min) | other ms (median, min) | this / other |")
    print("|---|---|---:|---:|---:|")
    for label, path in files.items():
        ours, theirs = [], []
        for _ in range(args.rounds):
            ours.append(timed(HERE, path, args.repeat))
            theirs.append(timed(args.other, path, args.repeat))
        for work in ours[0]:
            a = [r[work] for r in ours]
            b = [r[work] for r in theirs]
            print(f"| {label} | {work} | {statistics.median(a):.1f}, {min(a):.1f} |"
                  f" {statistics.median(b):.1f}, {min(b):.1f} |"
                  f" {statistics.median(a) / statistics.median(b):.2f} |")


if __name__ == "__main__":
    main()
