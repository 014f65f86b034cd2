"""``splatlab scan FILE_OR_DIR...``: one row a PLY or SPZ file (opacity, spikes, gate verdicts)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..main import EXIT_BAD_INPUT, EXIT_OK, BadInput, add_table_formats, format_table

COLUMNS = {"format": "{}", "count": "{:,}", "opacity_mean": "{:.3g}", "opacity_std": "{:.3g}",
           "alpha_below_1e-3": "{:.1%}", "alpha_below_1e-3_spz": "{:.1%}", "gate": "{}",
           "gate_as_is": "{}"}
"""The columns shown by default (``--wide`` shows every column)."""
HEADERS = {"alpha_below_1e-3": "invisible", "alpha_below_1e-3_spz": "invisible(spz)",
           "opacity_mean": "op.mean", "opacity_std": "op.std", "gate_as_is": "gate(as-is)"}
"""Short headings for the default table."""


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
    elif len(good) and args.wide:
        print(good.set_index("file").to_string(float_format=lambda v: f"{v:.4g}"))
    elif len(good):
        shown = good.assign(file=_short_names(good["file"])).set_index("file")
        shown["format"] = shown["format"].str.replace(", quantised", "")
        formats = {HEADERS.get(k, k): spec for k, spec in COLUMNS.items()}
        print(format_table(shown[list(COLUMNS)].rename(columns=HEADERS), formats))
    return EXIT_BAD_INPUT if len(bad) else EXIT_OK


def _short_names(files) -> list[str]:
    """Paths relative to the folder they share (just the name when there is one file)."""
    paths = [Path(f) for f in files]
    if len(paths) == 1:
        return [paths[0].name]
    root = Path(os.path.commonpath([p.resolve().parent for p in paths]))
    return [p.resolve().relative_to(root).as_posix() for p in paths]
