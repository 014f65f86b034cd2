"""``splatlab gate FILE... [--json] [--intended] [--as-is]``: a validator's input gate.

By default each file is judged as the validator receives it, after the SPZ submission
path (pyspz compress then decompress), with the verdict on the file as it is beside it
where the two differ; ``--as-is`` judges only the file itself.

Exit status: 0 every file passes, 3 some file is rejected or cannot be submitted, 2 a
file could not be read.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

from ...core.io import load
from ...core.splat import SplatFieldError
from ..main import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK, map_files
from .diagnose import bad_input
from .scan import add_executor_options, executor_of


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("gate", help="judge files as a validator's input gate would",
                            description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--json", action="store_true", help="one JSON result a line")
    parser.add_argument("--intended", action="store_true",
                        help="evaluate what the checks that cannot fire as written meant")
    parser.add_argument("--rules", default="sn17", help="which validator's gate (default sn17)")
    parser.add_argument("--as-is", action="store_true",
                        help="judge the file itself, not what the validator receives")
    add_executor_options(parser)
    parser.set_defaults(run=run)


def verdict_of(path: Path, rules: str, intended: bool, as_is: bool):
    """The :func:`splatlab.gate` result of the file at ``path`` (the work of a worker)."""
    from ...analysis.gates import AS_IS, SUBMISSION, gate

    try:
        return gate(load(path), rules=rules, intended=intended,
                    path=AS_IS if as_is else SUBMISSION)
    except (SplatFieldError, ValueError) as e:
        raise bad_input(path, e) from e


def run(args: argparse.Namespace) -> int:
    rejected = []

    def show(path: Path, result) -> None:
        rejected.append(not result.passed)
        if args.json:
            print(result.to_json())
            return
        print(f"{path}: {_verdict(result)} [{result.rules} {result.version}, {result.path}"
              f"{', intended' if result.intended else ''}]")
        for c in result.checks:
            if c.name == "submission":
                for reason in result.refused:
                    print(f"  submission refused: {reason}")
                continue
            print(f"  {c.name:9s} {c.verdict:23s} measured {c.measured:.6g},"
                  f" threshold {c.threshold:.6g}  ({c.description})")
        if result.differs:
            print(f"  as-is: {_verdict(result.as_is)}")
            for c in result.as_is.checks:
                print(f"  {c.name:9s} {c.verdict:23s} measured {c.measured:.6g}  (as-is)")

    work = partial(verdict_of, rules=args.rules, intended=args.intended, as_is=args.as_is)
    status = map_files(args.files, work, show, executor=executor_of(args),
                       workers=args.workers, description="gate")
    if status != EXIT_OK:
        return EXIT_BAD_INPUT
    return EXIT_FINDINGS if any(rejected) else EXIT_OK


def _verdict(result) -> str:
    if result.verdict == "reject":
        return "REJECT (" + ", ".join(result.failed) + ")"
    return result.verdict.upper()
