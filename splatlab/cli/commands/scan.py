"""``splatlab scan FILE_OR_DIR_OR_GLOB...``: one row a file (format, opacity, spikes,
findings, gate verdicts), on local processes or a Dask cluster, into one report.

Every file named, matched or found under a folder is a row: a file that cannot be read
is a row with its error (and one line on stderr), and the scan goes on.

Exit status: 0 every file passes the gate with no error-level finding, 3 some file fails
(unreadable, rejected or refused by the gate as the validator receives it, or with an
error-level finding), 2 bad arguments (a path that is nothing, a report name of an
unknown kind, an unreachable scheduler).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..main import EXIT_FINDINGS, EXIT_OK, BadInput, add_table_formats, format_table

COLUMNS = {"format": "{}", "count": "{:,}", "opacity_mean": "{:.3g}", "opacity_std": "{:.3g}",
           "alpha_below_1e-3": "{:.1%}", "alpha_below_1e-3_spz": "{:.1%}", "gate": "{}",
           "gate_as_is": "{}", "worst": "{}"}
"""The columns shown by default (``--wide`` shows every column)."""
HEADERS = {"alpha_below_1e-3": "invisible", "alpha_below_1e-3_spz": "inv.(spz)",
           "opacity_mean": "op.mean", "opacity_std": "op.std", "gate_as_is": "as-is"}
"""Short headings for the default table ("refused" there stands for "cannot be submitted",
"unreadable" for a row with an error)."""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("scan", help="scan 3DGS files, folders and globs into one table",
                            description=__doc__.split("\n\n")[0].replace("``", ""))
    parser.add_argument("paths", nargs="+", metavar="FILE_OR_DIR_OR_GLOB")
    add_table_formats(parser, "one JSON object a line", "CSV on stdout")
    add_executor_options(parser)
    parser.add_argument("--report", metavar="OUT", help="also write the table to OUT (.csv, "
                        ".json, .parquet or .html: a sortable page, worst files first)")
    parser.add_argument("--resume", metavar="REPORT", help="take the rows of files whose"
                        " sha256 REPORT (an earlier --report) holds from it, scan the rest")
    parser.add_argument("--case-reports", metavar="DIR", help="write a case report (splatlab"
                        " report) of each failing file into DIR; the HTML report links them")
    parser.add_argument("--quiet", action="store_true", help="no table on stdout")
    parser.set_defaults(run=run)


def add_executor_options(parser: argparse.ArgumentParser) -> None:
    """``--workers N`` and ``--dask ADDRESS``: where the work of many files runs."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="local worker processes (default: one a core; 1 runs here)")
    where.add_argument("--dask", metavar="ADDRESS", help="run on the Dask scheduler at"
                       " ADDRESS (host:port), or 'local' for a LocalCluster on this machine")


def executor_of(args: argparse.Namespace) -> str | None:
    """The ``executor`` of :func:`splatlab.scan` the options ask for (checked)."""
    if args.workers is not None and args.workers < 1:
        raise BadInput(f"--workers must be at least 1 (got {args.workers})")
    if args.dask is None:
        return None
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise BadInput("--dask needs Dask: pip install 'splatlab[dask]'") from None
    return f"dask://{args.dask}"


def check_paths(paths: list[str]) -> None:
    """BadInput for a named path that is nothing: not a file, not a folder, no glob match."""
    import glob

    for p in paths:
        if not os.path.lexists(p) and not (glob.has_magic(p) and glob.glob(p, recursive=True)):
            raise BadInput(f"{p}: no such file or folder" if not glob.has_magic(p)
                           else f"{p}: no file matches")


def run(args: argparse.Namespace) -> int:
    from ...analysis.scan_reports import read_report, report_format, write_report
    from ...analysis.scanning import expand, failing, scan

    check_paths(args.paths)
    for option, name in (("--report", args.report), ("--resume", args.resume)):
        if name is not None:
            try:
                report_format(name)
            except ValueError as e:
                raise BadInput(f"{option} {e}") from None
    if args.resume is not None and not Path(args.resume).is_file():
        raise BadInput(f"--resume {args.resume}: no such report")
    if not expand(args.paths):
        raise BadInput("no files found in " + ", ".join(args.paths))
    previous = read_report(args.resume) if args.resume else None
    try:
        table = scan(args.paths, executor_of(args), workers=args.workers, resume=previous)
    except (ValueError, OSError) as e:  # an unreachable scheduler, a bad executor
        raise BadInput(str(e)) from None
    for message in table["error"].dropna():
        print(f"splatlab: {message}", file=sys.stderr)
    bad = failing(table)
    links = _case_reports(table[bad], args.case_reports) if args.case_reports else {}
    if args.report:
        base = Path(args.report).resolve().parent
        relative = {f: os.path.relpath(Path(p).resolve(), base) for f, p in links.items()}
        write_report(table, args.report, case_reports=relative)
    if not args.quiet:
        _print(table, args)
    return EXIT_FINDINGS if bad.any() else EXIT_OK


def _print(table, args: argparse.Namespace) -> None:
    if args.csv:
        print(table.to_csv(index=False), end="")
    elif args.json:
        print(table.to_json(orient="records", lines=True), end="")
    elif args.wide:
        print(table.set_index("file").to_string(float_format=lambda v: f"{v:.4g}"))
    else:
        shown = table.assign(file=_short_names(table["file"])).set_index("file")
        shown["gate"] = shown["gate"].where(shown["error"].isna().to_numpy(), "unreadable"
                                            ).replace({"cannot be submitted": "refused"})
        formats = {HEADERS.get(k, k): spec for k, spec in COLUMNS.items()}
        print(format_table(shown[list(COLUMNS)].rename(columns=HEADERS), formats))


def _case_reports(rows, folder: str) -> dict[str, str]:
    """Write a case report of each readable row's file into ``folder``; file -> report."""
    from ...viz.report import report

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for i, file in enumerate(rows.loc[rows["error"].isna(), "file"]):
        target = out / f"{i:04d}-{Path(file).stem}.html"
        written[file] = str(report([file], target, title=f"splatlab case report: {file}"))
    return written


def _short_names(files) -> list[str]:
    """Paths relative to the folder they share (just the name when there is one file)."""
    paths = [Path(f) for f in files]
    if len(paths) == 1:
        return [paths[0].name]
    root = Path(os.path.commonpath([p.resolve().parent for p in paths]))
    return [p.resolve().relative_to(root).as_posix() for p in paths]
