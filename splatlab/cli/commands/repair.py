"""``splatlab repair IN... (-o OUT | --in-place) --strategy NAME``: repair files, with a record.

Each repaired PLY gets a JSON sidecar ``OUT.repair.json`` (see :mod:`splatlab.export`);
a failure leaves neither behind, and ``--in-place`` keeps the input as ``IN.bak``.
``--strategy auto`` runs the repairs the diagnosis calls for (:func:`splatlab.repair.auto`).
"""

from __future__ import annotations

import argparse
import os
from functools import partial
from pathlib import Path

from ...core.io import load
from ...core.splat import SplatFieldError
from ..main import BadInput, map_files
from .diagnose import bad_input
from .scan import add_executor_options, executor_of

STRATEGY_NAMES = ("match_distribution", "nonfinite", "scales", "undo_double_logit",
                  "uniform_noise")
"""The names of :data:`splatlab.repair.STRATEGIES` (a test keeps them equal), here so that
``splatlab --help`` need not import the repairs."""
CLAMPS = ("1e-4", "1e-3")
"""The miner's clamps by the name ``--clamp`` takes."""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("repair", help="repair 3DGS files; writes OUT and OUT.repair.json",
                            description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", metavar="IN")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("-o", "--output", metavar="OUT",
                       help="output file, or a directory (required for several inputs)")
    where.add_argument("--in-place", action="store_true",
                       help="replace each input, keeping a backup IN.bak")
    parser.add_argument("--strategy", required=True, choices=["auto", *STRATEGY_NAMES],
                        help="a repair, or auto: those the diagnosis calls for")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--seed", type=int, default=0, help="RNG seed (uniform_noise,"
                        " match_distribution, scales, auto; default 0)")
    parser.add_argument("--device", help="uniform_noise: torch device (cpu, cuda); numpy if unset")
    parser.add_argument("--mode", choices=["median", "drop", "legacy"], default="median",
                        help="nonfinite: what to do with NaN/inf (default median)")
    parser.add_argument("--clamp", choices=CLAMPS, default="1e-4",
                        help="undo_double_logit: the miner's clamp (default 1e-4)")
    parser.add_argument("--clamped-to", default="bound", metavar="bound|keep|LOW,HIGH",
                        help="undo_double_logit: value for clamped opacities (default bound)")
    parser.add_argument("--field", help="match_distribution: the property to map")
    parser.add_argument("--reference", default="prior", metavar="prior|FILE",
                        help="match_distribution, scales: a healthy PLY or the documented prior")
    add_executor_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.device and args.strategy != "uniform_noise":
        raise BadInput("--device applies to --strategy uniform_noise only")
    if args.strategy == "match_distribution" and not args.field:
        raise BadInput("--strategy match_distribution needs --field")
    out_dir = _output_dir(args)
    targets = {}
    for path in map(Path, args.files):  # two inputs may not race for one output
        out = path if args.in_place else (out_dir / path.name if out_dir else Path(args.output))
        if out in targets:
            raise BadInput(f"{path}: its output {out} is also the output of {targets[out]}")
        targets[out] = path
    work = partial(repaired, strategy=args.strategy, options=_options(args), out_dir=out_dir,
                   output=args.output, in_place=args.in_place, overwrite=args.overwrite)
    return map_files(args.files, work, lambda path, line: print(line),
                     executor=executor_of(args), workers=args.workers, description="repair")


def repaired(path: Path, strategy: str, options: dict, out_dir: Path | None,
             output: str | None, in_place: bool, overwrite: bool) -> str:
    """Repair the file at ``path`` and write it with its record (the work of a worker);
    returns the line that says what was done."""
    from ...repair.export import export, sidecar_path
    from ...repair.strategies import STRATEGIES, auto

    out = path if in_place else (out_dir / path.name if out_dir else Path(output))
    if not in_place and out.exists() and os.path.samefile(out, path):
        raise BadInput(f"{path}: output is the input (use --in-place)")
    if not out.parent.is_dir():
        raise BadInput(f"{out.parent}: no such directory")
    for target in (out, sidecar_path(out)):
        if target.exists() and not (overwrite or in_place):
            raise BadInput(f"{target}: exists (pass --overwrite to replace it)")
    try:
        splat = load(path)
        fixed, record = (auto if strategy == "auto" else STRATEGIES[strategy])(splat, **options)
    except (SplatFieldError, ValueError) as e:
        raise bad_input(path, e) from e
    export(path, fixed, record, out, backup=in_place)
    return f"{path} -> {out}: {record.summary()}"


def _output_dir(args: argparse.Namespace) -> Path | None:
    if args.in_place:
        return None
    out = Path(args.output)
    if len(args.files) > 1:
        if out.exists() and not out.is_dir():
            raise BadInput(f"{out}: not a directory (several inputs need -o DIR)")
        out.mkdir(parents=True, exist_ok=True)
        return out
    return out if out.is_dir() else None


def _options(args: argparse.Namespace) -> dict:
    name = args.strategy
    if name == "auto":
        return {"seed": args.seed}
    if name == "uniform_noise":
        return {"seed": args.seed, "device": args.device}
    if name == "nonfinite":
        return {"mode": args.mode}
    if name == "undo_double_logit":
        from ...world.miner import CLAMP_1E3, CLAMP_1E4

        clamp = {"1e-4": CLAMP_1E4, "1e-3": CLAMP_1E3}[args.clamp]
        return {"clamp": clamp, "clamped_to": _clamped_to(args.clamped_to)}
    reference = args.reference if args.reference == "prior" else load(args.reference)
    if name == "match_distribution":
        return {"field": args.field, "reference": reference, "seed": args.seed}
    return {"reference": reference, "seed": args.seed}


def _clamped_to(text: str) -> str | tuple[float, float]:
    if text in ("bound", "keep"):
        return text
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise BadInput(f"--clamped-to must be bound, keep or LOW,HIGH, not {text!r}") from None
    return low, high


