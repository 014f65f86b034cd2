"""``splatlab plot FILE... --field NAME -o OUT.png``: histograms of one field across files.

The figure ``splatlab.plots.histogram`` draws (the files overlaid, with the incident's
reference lines), written as PNG, SVG or PDF by OUT's extension. ``--activated`` plots
sigmoid(opacity) or exp(scale) instead of the stored values.

Exit status: 0 written, 2 bad input (an unreadable file, a field a file lacks, an unknown
extension, an existing OUT without --overwrite).
"""

from __future__ import annotations

import argparse
import io
import re
from collections.abc import Sequence
from pathlib import Path

from ...core.io import load
from ...core.ply import atomic_write
from ...core.splat import Splat
from ..main import EXIT_OK, BadInput

FIGURE_FORMATS = ("png", "svg", "pdf")
"""Extensions OUT may have; the file is written in that format."""
DPI = 100
"""Pixels an inch of a PNG: ``--size`` in pixels is the figure's size in inches times this."""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("plot", help="write histograms of one field across files to a figure",
                            description=__doc__.split("\n\n")[0].replace("``", ""))
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--field", required=True, metavar="NAME",
                        help="a stored property (opacity, scale_0, x, ...) or a derived field"
                             " (alpha, scale_max, anisotropy, volume, quat_norm, ...)")
    parser.add_argument("--activated", action="store_true",
                        help="activated values: sigmoid(opacity), exp(scale) (default: stored)")
    parser.add_argument("--bins", type=int, default=256, help="bins (default 256)")
    parser.add_argument("--log-count", action="store_true", help="counts on a log axis")
    parser.add_argument("--labels", nargs="+", metavar="LABEL",
                        help="one legend label a file (default: the file names)")
    parser.add_argument("--size", type=size, default=(1280, 800), metavar="WxH",
                        help=f"figure size in pixels at {DPI} dpi (default 1280x800)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.png",
                        help=f"the figure: {', '.join('.' + f for f in FIGURE_FORMATS)}")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    parser.set_defaults(run=run)


def size(text: str) -> tuple[int, int]:
    """``"1280x800"`` -> (1280, 800), for argparse.

    Example:
        >>> size("640x400")
        (640, 400)
    """
    match = re.fullmatch(r"(\d+)[xX](\d+)", text.strip())
    if match is None or min(int(match[1]), int(match[2])) < 64:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT in pixels, each >= 64")
    return int(match[1]), int(match[2])


def figure_format(out: Path) -> str:
    """OUT's figure format from its extension; :class:`BadInput` for another.

    Example:
        >>> figure_format(Path("opacity.SVG"))
        'svg'
    """
    kind = out.suffix.lower().lstrip(".")
    if kind not in FIGURE_FORMATS:
        raise BadInput(f"{out}: unknown figure format {out.suffix or '(no extension)'!r};"
                       f" use {', '.join('.' + f for f in FIGURE_FORMATS)}")
    return kind


def run(args: argparse.Namespace) -> int:
    out = Path(args.output)
    kind = figure_format(out)
    if out.exists() and not args.overwrite:
        raise BadInput(f"{out}: exists (pass --overwrite to replace it)")
    if args.bins < 1:
        raise BadInput(f"--bins must be at least 1, not {args.bins}")
    if args.labels is not None and len(args.labels) != len(args.files):
        raise BadInput(f"--labels: {len(args.labels)} labels for {len(args.files)} files")
    splats = [load(path) for path in args.files]
    _check_field(splats, args.field)
    labels = args.labels or _names(args.files)
    figure = histogram_figure(splats, args.field, not args.activated, args.bins,
                              args.log_count, labels, args.size)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=kind, dpi=DPI)
    atomic_write(out, iter([buffer.getvalue()]), overwrite=args.overwrite)
    width, height = args.size
    print(f"wrote {out}: {args.field}{' (activated)' if args.activated else ''} of"
          f" {len(splats)} file{'s' * (len(splats) != 1)}, {width} x {height} px {kind.upper()}")
    return EXIT_OK


def histogram_figure(splats: Sequence[Splat], field: str, raw: bool, bins: int,
                     log_count: bool, labels: Sequence[str], pixels: tuple[int, int]):
    """:func:`splatlab.plots.histogram` of ``field`` in a figure of ``pixels`` at :data:`DPI`.

    Example:
        >>> from splatlab import data
        >>> fig = histogram_figure([data.trellis_like()], "opacity", True, 64, False, ["a"],
        ...                        (640, 400))
        >>> fig.get_size_inches().tolist()
        [6.4, 4.0]
    """
    from ...viz.plots import SplatFigure, histogram

    ax = SplatFigure(figsize=(pixels[0] / DPI, pixels[1] / DPI), layout="constrained",
                     dpi=DPI).add_subplot()
    return histogram(list(splats), field, raw=raw, bins=bins, log_count=log_count,
                     labels=list(labels), ax=ax)


def _check_field(splats: Sequence[Splat], field: str) -> None:
    """:class:`BadInput` naming the first file without ``field`` (stored or derivable)."""
    from ...viz.plots import DERIVED_FIELDS

    for splat in splats:
        if field in splat.properties or (field in DERIVED_FIELDS and splat.is_gaussian):
            continue
        known = ", ".join(splat.properties[:12]) + (", ..." if len(splat.properties) > 12
                                                    else "")
        derived = (f"; derived: {', '.join(DERIVED_FIELDS)}" if splat.is_gaussian else "")
        raise BadInput(f"{splat.source or 'a file'}: no field {field!r} (properties: {known}"
                       f"{derived})")


def _names(paths: Sequence[str]) -> list[str]:
    """Legend labels: the file names, with their folders where two names are the same."""
    names = [Path(p).name for p in paths]
    return names if len(set(names)) == len(names) else [str(p) for p in paths]
