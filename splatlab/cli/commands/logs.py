"""``splatlab logs FILE... [--since T] [--json]``: the summary that replaces grep/awk pipelines."""

from __future__ import annotations

import argparse
import json
import sys

from ...core.jsonsafe import json_safe


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("logs", help="summarise miner and generation-worker logs")
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--since", help="only events at or after this time (e.g. 2025-11-04 21:00)")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    text, code = logs_report(args.files, args.since, args.json)
    print(text, file=sys.stderr if code else sys.stdout)
    return code


def logs_report(paths: list[str], since: str | None, as_json: bool) -> tuple[str, int]:
    """Text for ``splatlab logs FILE... [--since T] [--json]`` and its exit code.

    Exit code 0 on success; 2 with a one-line message for a bad ``--since`` or a missing or
    unreadable file.  The text report includes an hourly breakdown.

    Example:
        >>> from splatlab import data
        >>> text, code = logs_report([str(data.path("miner-out.log"))], "2025-11-04", False)
        >>> code, text.splitlines()[0]
        (0, 'Validator feedback: 31 events from 3 validators')
    """
    from ...analysis.logs import format_summary, parse_files, parse_time, summarize  # pandas

    if since is not None:
        try:
            parse_time(since)
        except ValueError:
            return f"splatlab logs: invalid --since time {since!r}", 2
    try:
        tables = parse_files(paths)
    except OSError as error:
        name = error.filename if error.filename is not None else ", ".join(paths)
        return f"splatlab logs: cannot read {name}: {error.strerror or error}", 2
    summary = summarize(tables, since=since, window="1h")
    if as_json:
        return json.dumps(json_safe(summary), allow_nan=False), 0
    return format_summary(summary), 0
