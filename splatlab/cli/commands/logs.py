"""``splatlab logs FILE... [--since T] [--json]``: the summary that replaces grep/awk pipelines."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("logs", help="summarise miner and generation-worker logs")
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--since", help="only events at or after this time (e.g. 2025-11-04 21:00)")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ...analysis.logs import run_logs_command

    text, code = run_logs_command(args.files, args.since, args.json)
    print(text, file=sys.stderr if code else sys.stdout)
    return code
