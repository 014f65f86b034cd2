"""``splatlab convert IN OUT [--to FORMAT] [--container zstd|gzip]``: any readable 3DGS
format to PLY, SPZ, compressed PLY or ``.splat``.

The output format comes from OUT's name (``.spz`` SPZ, ``.compressed.ply`` compressed PLY,
``.splat`` antimatter15's rows, anything else PLY) or ``--to``. SPZ is written as version 2
in the zstd container pyspz writes (what subnet 17 sends; ``--container gzip`` for
Niantic's); compressed PLY in Morton order, as splat-transform. The input's format is told
by its content. The command then reads OUT back and prints what a reader of it gets that
the input did not hold (per-field errors, gaussians pinned at a format's bounds, wrapped
positions, SH bands and properties dropped; rows paired by position where the format
reorders them); ``--loss-report FILE.json`` writes the whole report as JSON.

Exit status: 0 converted, 2 bad input (unreadable input, an existing OUT without
``--overwrite``, a splat SPZ cannot hold).
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from ...core.io import FORMATS, format_for_name, load, save
from ...core.ply import atomic_write
from ...core.provenance import SourceFormat
from ...core.spz import CONTAINERS
from ..main import EXIT_OK, BadInput


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("convert", help="convert to PLY, SPZ, compressed PLY or .splat",
                            description=__doc__.split("\n\n")[0].replace("``", ""))
    parser.add_argument("input", metavar="IN")
    parser.add_argument("output", metavar="OUT")
    parser.add_argument("--to", choices=FORMATS, help="output format (default: from OUT's name)")
    parser.add_argument("--container", choices=CONTAINERS, default="zstd",
                        help="SPZ container: zstd as pyspz (default), gzip as Niantic's spz")
    parser.add_argument("--loss-report", metavar="FILE.json", type=Path,
                        help="write what the conversion lost as JSON")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing OUT (and loss report)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    source, target = Path(args.input), Path(args.output)
    if target.exists() and source.exists() and target.resolve() == source.resolve():
        raise BadInput(f"{target}: is the input; write the conversion elsewhere")
    report_path = args.loss_report
    if report_path is not None and report_path.exists() and not args.overwrite:
        raise BadInput(f"{report_path}: exists (pass --overwrite to replace it)")
    splat = load(source)
    kind = args.to or format_for_name(target)
    save(splat, target, overwrite=args.overwrite, format=kind, container=args.container)
    print(f"{source} -> {target}: {splat.count:,} gaussians, {SourceFormat(kind).title}"
          + (f" ({args.container})" if kind == "spz" else ""))
    _report_loss(splat, target, report_path, args.overwrite)
    return EXIT_OK


def _report_loss(splat, target: Path, report_path: Path | None, overwrite: bool) -> None:
    """What a reader of ``target`` gets that ``splat`` did not hold: printed, and as JSON."""
    from ...analysis.conversion import conversion_loss
    from ...analysis.matching import MatchError

    try:
        loss = conversion_loss(splat, load(target))
    except MatchError as e:
        print(f"  loss not measured: {e}")
        return
    print(textwrap.fill(loss.summary(), width=100, initial_indent="  ",
                        subsequent_indent="  ", break_on_hyphens=False))
    if report_path is not None:
        atomic_write(report_path, iter([loss.to_json(indent=1).encode()]), overwrite=overwrite)
        print(f"  loss report: {report_path}")
