"""``splatlab diff A B [--json|--csv] [--all]``: what changed between two files, per field."""

from __future__ import annotations

import argparse
from pathlib import Path

from ...core.io import load
from ...core.splat import SplatFieldError
from ..main import EXIT_OK, BadInput, add_table_formats


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("diff", help="per-field changes between two files of equal rows"
                            " (paired by position where reordered)",
                            description=__doc__.splitlines()[0])
    parser.add_argument("a", metavar="A")
    parser.add_argument("b", metavar="B")
    add_table_formats(parser, "JSON records, one a field", "CSV table")
    parser.add_argument("--all", action="store_true",
                        help="text output: show unchanged fields too")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ...analysis.differences import DiffError, diff

    a, b = load(Path(args.a)), load(Path(args.b))
    try:
        table = diff(a, b)
    except DiffError as e:  # it names both files already
        raise BadInput(str(e)) from e
    except (SplatFieldError, ValueError) as e:
        raise BadInput(f"{args.a} vs {args.b}: {e}") from e
    if args.json:
        print(table.reset_index().to_json(orient="records"))
    elif args.csv:
        print(table.to_csv(), end="")
    else:
        shown = table if args.all else table[table["status"] != "same"]
        columns = ["status", "changed", "max_abs_change", "mean_abs_change", "a_mean", "b_mean",
                   "a_std", "b_std"]
        print(f"{args.a} -> {args.b}: {a.count:,} rows, {len(shown)} of {len(table)} fields"
              f" {'shown' if args.all else 'changed'}")
        pairs = table.attrs["match"]
        if pairs["method"] == "position":
            print(f"rows paired by nearest position (their order differs): {pairs['matched']:,}"
                  f" pairs, {pairs['unambiguous_share']:.2%} unambiguous,"
                  f" {pairs['unmatched_a']:,} and {pairs['unmatched_b']:,} rows unpaired")
        if len(shown):
            print(shown.to_string() if args.wide else shown[columns].to_string())
    return EXIT_OK
