"""``splatlab convert IN OUT [--to FORMAT] [--container zstd|gzip]``: any readable 3DGS
format to PLY, SPZ, compressed PLY or ``.splat``.

The output format comes from OUT's name (``.spz`` SPZ, ``.compressed.ply`` compressed PLY,
``.splat`` antimatter15's rows, anything else PLY) or ``--to``. SPZ is written as version 2
in the zstd container pyspz writes (what subnet 17 sends; ``--container gzip`` for
Niantic's); compressed PLY in Morton order, as splat-transform. The input's format is told
by its content. Converting to SPZ quantises: the command prints what the conversion changed.

Exit status: 0 converted, 2 bad input (unreadable input, an existing OUT without
``--overwrite``, a splat SPZ cannot hold).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ...core.fields import f_rest_names
from ...core.io import FORMATS, format_for_name, load, save
from ...core.splat import SourceFormat
from ...core.spz import CONTAINERS, ENCODED_PROPERTIES, sh_rest_count
from ...world.submission import log_scale_clamps, position_wraps
from ..main import EXIT_OK, BadInput


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("convert", help="convert to PLY, SPZ, compressed PLY or .splat",
                            description=__doc__.split("\n\n")[0].replace("``", ""))
    parser.add_argument("input", metavar="IN")
    parser.add_argument("output", metavar="OUT")
    parser.add_argument("--to", choices=FORMATS, help="output format (default: from OUT's name)")
    parser.add_argument("--container", choices=CONTAINERS, default="zstd",
                        help="SPZ container: zstd as pyspz (default), gzip as Niantic's spz")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    source, target = Path(args.input), Path(args.output)
    if target.exists() and source.exists() and target.resolve() == source.resolve():
        raise BadInput(f"{target}: is the input; write the conversion elsewhere")
    splat = load(source)
    kind = args.to or format_for_name(target)
    save(splat, target, overwrite=args.overwrite, format=kind, container=args.container)
    print(f"{source} -> {target}: {splat.count:,} gaussians, {SourceFormat(kind).title}"
          + (f" ({args.container})" if kind == "spz" else ""))
    if kind == "spz" and splat.is_gaussian:
        _print_losses(splat)
    return EXIT_OK


def _print_losses(splat) -> None:
    """What quantising to SPZ changes, in the terms a validator cares about."""
    wraps = int(position_wraps(splat.positions).any(axis=1).sum())
    clamps = int(log_scale_clamps(splat.log_scales).any(axis=1).sum())
    carried = {*ENCODED_PROPERTIES, *f_rest_names(sh_rest_count(splat.properties))}
    dropped = [n for n in splat.properties if n not in carried]
    print(f"  quantised to SPZ bytes; {wraps:,} gaussians wrap (beyond +-2048),"
          f" {clamps:,} have log scales clamped to [-10, 5.9375]"
          + (f"; dropped: {', '.join(dropped)}" if dropped else ""))
