"""``splatlab scan FILE_OR_DIR...``: one row a PLY or SPZ file (opacity, spikes, gate verdicts)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..main import EXIT_BAD_INPUT, EXIT_OK, BadInput, add_table_formats


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("scan", help="scan PLY and SPZ files and folders into one table")
    parser.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    add_table_formats(parser, "one JSON object a line", "CSV on stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ...analysis.scanning import expand, scan

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise BadInput(f"{missing[0]}: no such file or folder")
    if not expand(args.paths):
        raise BadInput("no .ply or .spz files found in " + ", ".join(args.paths))
    table = scan(args.paths)
    bad = table[table["error"].notna()]
    for message in bad["error"]:
        print(f"splatlab: {message}", file=sys.stderr)
    good = table[table["error"].isna()].drop(columns="error")
    if args.csv:
        print(good.to_csv(index=False), end="")
    elif args.json:
        if len(good):
            print(good.to_json(orient="records", lines=True), end="")
    elif len(good):
        print(good.set_index("file").to_string(float_format=lambda v: f"{v:.4g}"))
    return EXIT_BAD_INPUT if len(bad) else EXIT_OK
