"""``splatlab render FILE -o OUT.png [--views N --resolution R]``: the validator rig's views.

N views evenly spaced over the subnet-17 validator's 16-view rig (azimuths 0-360 degrees,
elevation -15, radius 2.5, white background), rendered with its normalisation from what the
validator receives: the file after the SPZ submission path (pyspz compress then decompress),
or the file itself with ``--as-is`` or when the path refuses it. Written as PNG, SVG or PDF
by OUT's extension: the views in a grid, ``--columns`` a row, each titled by its rig number.

Exit status: 0 written, 2 bad input (an unreadable file, an unknown extension, an existing
OUT without --overwrite).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from ...core.io import load
from ...core.ply import atomic_write
from ..main import EXIT_OK, BadInput
from .plot import DPI, figure_format


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("render", help="write the validator rig's views of a file to a figure",
                            description=__doc__.split("\n\n")[0].replace("``", ""))
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--views", type=int, default=4,
                        help="views of the validator's 16-view rig, evenly spaced (default 4)")
    parser.add_argument("--resolution", type=int, default=256,
                        help="side of each view in pixels (default 256; the validator's: 518)")
    parser.add_argument("--columns", type=int, default=4, help="views a row (default 4)")
    parser.add_argument("--as-is", action="store_true",
                        help="render the file itself, not what the submission path delivers")
    parser.add_argument("--device", help="torch device (default: CUDA if any, else CPU)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.png",
                        help="the figure: .png, .svg, .pdf")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ...rendering.cameras import validator_rig
    from ...rendering.rasterizer import render
    from ...viz.preview import montage
    from ...world.sn17 import RIG_VIEWS
    from ...world.submission import spz_roundtrip, submission_problems

    out = Path(args.output)
    kind = figure_format(out)
    if out.exists() and not args.overwrite:
        raise BadInput(f"{out}: exists (pass --overwrite to replace it)")
    if not 1 <= args.views <= RIG_VIEWS or args.resolution < 8 or args.columns < 1:
        raise BadInput(f"--views must lie in 1..{RIG_VIEWS}, --resolution be at least 8 and"
                       " --columns at least 1")
    splat = load(args.file)
    if not splat.is_gaussian:
        raise BadInput(f"{args.file}: not a 3DGS file (no opacity, scales, rotations or"
                       " colours to render)")
    refused = [] if args.as_is else submission_problems(splat)
    shown = splat if args.as_is or refused else spz_roundtrip(splat)
    rig = validator_rig(args.resolution)
    numbers = [i * RIG_VIEWS // args.views for i in range(args.views)]
    views = render(shown, [rig[i] for i in numbers], args.device)
    name = Path(args.file).name
    label = "as is" if args.as_is else ("as is: the submission path refuses it" if refused
                                        else "as the validator decodes it")
    figure = montage([v.to_uint8() for v in views], [f"view {n}" for n in numbers],
                     ncols=args.columns, size=2.4)
    figure.suptitle(f"{name} ({label}), {args.resolution} px", fontsize="medium")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=kind, dpi=DPI)
    atomic_write(out, iter([buffer.getvalue()]), overwrite=args.overwrite)
    print(f"wrote {out}: views {', '.join(map(str, numbers))} of {name} ({label}),"
          f" {args.resolution} px, {kind.upper()}")
    return EXIT_OK
