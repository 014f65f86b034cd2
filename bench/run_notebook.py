"""Execute a notebook top to bottom with parameter overrides; save the executed copy.

Overrides go into a cell inserted after the cell tagged ``parameters``, as the
notebook tests do.

Example:
    $ python bench/run_notebook.py notebooks/02_noise_fix_on_gpu.ipynb out.ipynb \\
          -p 'OUT="gpu-out"'
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("executed", type=Path)
    parser.add_argument("-p", "--parameter", action="append", default=[],
                        help="a line of Python, e.g. 'SCALE = 0.1'")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds a cell")
    args = parser.parse_args()
    nb = nbformat.read(args.notebook, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell("\n".join(args.parameter)))
    start = time.perf_counter()
    try:
        NotebookClient(nb, kernel_name="python3", timeout=args.timeout,
                       resources={"metadata": {"path": str(Path.cwd())}}).execute()
    finally:
        nbformat.write(nb, args.executed)
        print(f"{args.notebook}: executed in {time.perf_counter() - start:.0f} s"
              f" -> {args.executed}")


if __name__ == "__main__":
    main()
