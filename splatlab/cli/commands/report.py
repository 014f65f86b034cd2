"""``splatlab report FILE... -o report.html``: one self-contained HTML case report.

For each file: format and layout, the submission path's verdict, the sn17 gate on both
paths, the findings in words, statistics and histograms of opacity and scales, and the
validator rig's renders; several files side by side. Figures are inlined: the file opens
anywhere, offline.

Exit status: 0 written, 2 bad input (an unreadable file, an existing OUT without
--overwrite).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..main import EXIT_OK, BadInput


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="write an HTML case report of one or more files",
                            description=__doc__.split("\n\n")[0].replace("``", ""))
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.html")
    parser.add_argument("--views", type=int, default=4,
                        help="views of the validator's 16-view rig to render (default 4)")
    parser.add_argument("--resolution", type=int, default=256,
                        help="side of each render in pixels (default 256)")
    parser.add_argument("--device", help="torch device for the renders (default: CUDA if any)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ...viz.report import report

    out = Path(args.output)
    if out.exists() and not args.overwrite:
        raise BadInput(f"{out}: exists (pass --overwrite to replace it)")
    if not 0 <= args.views <= 16 or args.resolution < 8:
        raise BadInput("--views must lie in 0..16 and --resolution be at least 8")
    path = report(args.files, out, views=args.views, resolution=args.resolution,
                  device=args.device, overwrite=args.overwrite)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {len(args.files)} files)")
    return EXIT_OK
