"""``splatlab diagnose FILE... [--json]``: findings for each file.

Exit status: 0 no error-level finding, 3 an error-level finding in some file, 2 a file
could not be read (this wins over 3).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ...core.display import counted
from ...core.io import load
from ...core.splat import SplatFieldError
from ..main import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK, BadInput, map_files
from .scan import add_executor_options, executor_of


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("diagnose", help="findings (codes SLxxx) for 3DGS files",
                            description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--json", action="store_true", help="one JSON report a line")
    add_executor_options(parser)
    parser.set_defaults(run=run)


def bad_input(path: Path, error: Exception) -> BadInput:
    """A :class:`BadInput` naming ``path`` once, from a library error."""
    text = str(error)
    return BadInput(text if text.startswith(str(path)) else f"{path}: {text}")


def findings_of(path: Path):
    """The :func:`splatlab.diagnose` report of the file at ``path`` (the work of a worker)."""
    from ...analysis.diagnosis import diagnose

    try:
        return diagnose(load(path))
    except (SplatFieldError, ValueError) as e:
        raise bad_input(path, e) from e


def run(args: argparse.Namespace) -> int:
    with_errors = []

    def show(path: Path, report) -> None:
        with_errors.append(report.has_errors)
        if args.json:
            print(report.to_json())
            return
        infos = len(report) - len(report.errors) - len(report.warnings)
        print(f"{path}: {report.count:,} gaussians, {counted(len(report.errors), 'error')},"
              f" {counted(len(report.warnings), 'warning')}, {infos} info")
        for f in report:
            print(f"  {f.code} {f.severity:7s} {f.field}: {f.message}")

    status = map_files(args.files, findings_of, show, executor=executor_of(args),
                       workers=args.workers, description="diagnose")
    if status != EXIT_OK:
        return EXIT_BAD_INPUT
    return EXIT_FINDINGS if any(with_errors) else EXIT_OK

