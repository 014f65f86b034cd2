"""``splatlab stats FILE... [--json|--csv]``: per-field statistics of each file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ...core.io import load
from ..main import add_table_formats, for_each_file, format_table

COLUMNS = {"finite": "{:,}", "nonfinite": "{:,}", "mean": "{:.4g}", "std": "{:.4g}",
           "min": "{:.4g}", "p50": "{:.4g}", "max": "{:.4g}", "mode_share": "{:.1%}"}
"""The columns shown by default and how (``--wide`` shows every column)."""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("stats", help="per-field statistics, raw and activated")
    parser.add_argument("files", nargs="+", metavar="FILE")
    add_table_formats(parser, "one JSON object a file, a line each",
                      "one CSV table with a 'file' column")
    parser.add_argument("--device", default=None, help="torch device for the work (e.g. cuda)")
    parser.add_argument("--quantiles", choices=("exact", "histogram", "none"), default="exact",
                        help="order statistics: exact (sorts), histogram (4,096 bins, faster)"
                             " or none")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from ...analysis.statistics import stats

    first = True

    def show(path: Path) -> None:
        nonlocal first
        quantiles = False if args.quantiles == "none" else args.quantiles
        splat = load(path)
        origin = splat.provenance.format
        table = stats(splat, device=args.device, quantiles=quantiles)
        if args.json:
            records = json.loads(table.reset_index().to_json(orient="records"))
            print(json.dumps({"file": str(path), "format": origin.name,
                              "quantised": origin.quantised, "fields": records}))
        elif args.csv:
            table.insert(0, "file", str(path))
            table.to_csv(sys.stdout, header=first)
        elif args.wide:
            with pd.option_context("display.max_rows", None, "display.width", 250,
                                   "display.max_columns", None, "display.precision", 5):
                print(f"== {path} ==")
                print(table.to_string())
        else:
            shown = table.assign(nonfinite=table["nan"] + table["posinf"] + table["neginf"])
            quantised = (f"; values quantised from {origin.label.removesuffix(', quantised')}"
                         if origin.quantised else "")
            print(f"== {path}: {int(table['count'].iloc[0]):,} gaussians{quantised} ==")
            print(format_table(shown[list(COLUMNS)], COLUMNS))
        first = False

    return for_each_file(args.files, show)
