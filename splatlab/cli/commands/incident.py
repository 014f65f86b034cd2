"""``splatlab incident build DIR`` and ``splatlab incident run``: the Phase-3 reproduction."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..main import BadInput

DEFAULT_SCALE = 0.25
"""Default ``--scale`` of ``incident run``: about a minute on two cores (full size: 1.0)."""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("incident", help="reproduce the Phase-3 opacity incident")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    build = verbs.add_parser("build", help="write the 21 generations' raw, submitted and"
                             " validator-decoded PLYs")
    build.add_argument("dir", metavar="DIR")
    build.add_argument("--scale", type=float, default=1.0,
                       help="shrink counts by this factor (multiples of 32; default 1.0)")
    build.add_argument("--overwrite", action="store_true", help="replace existing files")
    build.set_defaults(run=run_build)
    run = verbs.add_parser("run", help="build, scan, gate, reproduce H1/H2 and summarise")
    run.add_argument("--out", default="splatlab-out", help="output folder (default ./splatlab-out)")
    run.add_argument("--scale", type=float, default=DEFAULT_SCALE,
                     help=f"shrink counts by this factor (default {DEFAULT_SCALE})")
    run.set_defaults(run=run_all)


def _scale(value: float) -> float:
    if not 0 < value <= 1:
        raise BadInput(f"--scale must lie in (0, 1], got {value}")
    return value


def run_build(args: argparse.Namespace) -> int:
    from ...incident.reproduction import build

    scale = _scale(args.scale)
    try:
        built = build(Path(args.dir), scale, overwrite=args.overwrite)
    except FileExistsError as e:
        path = str(e).split(": exists")[0]
        raise BadInput(f"{path}: exists (pass --overwrite to replace the built files)") from None
    print(f"wrote {len(built)} generations ({int(built['built_count'].sum()):,} gaussians each"
          f" raw, submitted and as the validator decoded them) to {args.dir}: raw/, submitted/,"
          " validator/, manifest.csv")
    return 0


def run_all(args: argparse.Namespace) -> int:
    from ...incident.reproduction import planned_bytes, run

    scale = _scale(args.scale)
    print(f"splatlab incident run: writing about {planned_bytes(scale) / 1e6:,.0f} MB of PLYs"
          f" and the tables into {Path(args.out).resolve()}", flush=True)
    result = run(Path(args.out), scale)
    print(result.summary())
    return 0
