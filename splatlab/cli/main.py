"""The ``splatlab`` command line: one sub-command a module of :mod:`splatlab.commands`.

Exit status: 0 success, 2 bad input (one line on stderr, no traceback), 1 internal
error, 3 a file fails: an error-level finding (``diagnose``), a gate rejection (``gate``),
or either or an unreadable file among those scanned (``scan``).

Example:
    $ splatlab info scene.ply
    $ python -m splatlab stats scene.ply --csv
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._version import __version__
from ..core.ply import SplatFormatError, one_line
from ..core.splat import SplatFieldError
from . import commands

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_FINDINGS = 0, 1, 2, 3


class BadInput(Exception):
    """A problem with what the user gave (a file, an option); printed as one line."""


TABLE_WIDTH = 100
"""Columns a table on the terminal may take unless ``--wide`` is given."""


def add_table_formats(parser: argparse.ArgumentParser, json_help: str, csv_help: str) -> None:
    """The mutually exclusive ``--json``, ``--csv`` and ``--wide`` options of a table command.

    ``--wide`` prints every column; by default a table keeps to :data:`TABLE_WIDTH`.

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_table_formats(p, "JSON lines", "CSV table")
        >>> p.parse_args(["--csv"]).csv, p.parse_args(["--wide"]).wide
        (True, True)
    """
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help=json_help)
    form.add_argument("--csv", action="store_true", help=csv_help)
    form.add_argument("--wide", action="store_true",
                      help=f"every column (default: the main ones, {TABLE_WIDTH} characters wide)")


def format_table(frame, formats: dict[str, str]) -> str:
    """``frame`` as text, each column in its ``formats`` spec (``"{:.4g}"``, ``"{:.1%}"``,
    ``"{:,}"``); other columns as they are. Missing values print as ``-``.

    Example:
        >>> import pandas as pd
        >>> print(format_table(pd.DataFrame({"a": [0.123456, None]}, index=["x", "y"]),
        ...                    {"a": "{:.1%}"}))
               a
        x  12.3%
        y      -
    """
    import pandas as pd

    shown = frame.copy().astype(object)
    for column, spec in formats.items():
        if column in shown:
            shown[column] = [("-" if pd.isna(v) else spec.format(v)) for v in frame[column]]
    return shown.fillna("-").to_string()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command found in :mod:`splatlab.commands`."""
    parser = argparse.ArgumentParser(
        prog="splatlab", description="Forensic toolkit for 3D Gaussian Splatting files.",
        epilog="Exit status: 0 success, 1 internal error, 2 bad input, 3 error-level findings.")
    parser.add_argument("--version", action="version", version=f"splatlab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"{commands.__name__}.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Example:
        >>> from splatlab import data
        >>> main(["info", str(data.path("trellis.spz"))])  # doctest: +ELLIPSIS
        /...trellis.spz: SPZ version 2 (zstd, 12 fractional bits, quantised), 7,040 gaussians...
        0
    """
    args = build_parser().parse_args(argv)
    try:
        with _warnings_unless_refused():
            return args.run(args)
    except (BadInput, SplatFormatError, SplatFieldError, FileExistsError) as e:
        _error(str(e))
        return EXIT_BAD_INPUT
    except OSError as e:
        _error(_os_error_line(e))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERNAL
    except Exception as e:  # an internal error: one line, traceback on request
        if os.environ.get("SPLATLAB_DEBUG"):
            raise
        _error(f"internal error: {type(e).__name__}: {e} (set SPLATLAB_DEBUG=1 for a traceback)")
        return EXIT_INTERNAL


def for_each_file(paths: Iterable[str | os.PathLike], work: Callable[[Path], None]) -> int:
    """Call ``work`` on each path; a bad file prints one line and the batch goes on.

    Returns 0 when every file worked, 2 when any was bad input.
    """
    status = EXIT_OK
    for path in paths:
        status = max(status, _finish(path, _guarded(str(path), work), _show_nothing))
    return status


def map_files(paths: Iterable[str | os.PathLike], work: Callable[[Path], Any],
              show: Callable[[Path, Any], None], *, executor: Any = None,
              workers: int | None = None, description: str = "files") -> int:
    """:func:`for_each_file` on the scan's engine: ``work(path)`` runs where the engine
    runs (local processes when the work is large enough, or ``executor``: see
    :func:`splatlab.core.parallel.engine`) and must be a module-level function (or a
    ``functools.partial`` of one); ``show(path, result)`` runs here, in the files' order.
    A bad file prints one line and the batch goes on; a file's warnings print after it.

    Returns 0 when every file worked, 2 when any was bad input.
    """
    from ..analysis.scanning import PARALLEL_ABOVE_S, estimate_s, worker_setup
    from ..core.parallel import engine

    files = [str(p) for p in paths]
    sizes = [os.path.getsize(f) if os.path.isfile(f) else 0 for f in files]
    if executor is None and workers is None and estimate_s(sizes) < PARALLEL_ABOVE_S:
        executor = "here"
    with engine(executor, workers, items=len(files)) as where:
        outcomes = where.run(_guarded, files, shared=work, sizes=sizes, setup=worker_setup,
                             description=description)
    status = EXIT_OK
    for path, outcome in zip(files, outcomes):
        status = max(status, _finish(path, outcome, show))
    return status


def _finish(path: str | os.PathLike, outcome: tuple[Any, list[str], str | None],
            show: Callable[[Path, Any], None]) -> int:
    """Print what :func:`_guarded` gave for one file: its error line, or ``show`` of its
    result then its warnings. Returns the file's exit status (0 or 2)."""
    result, held, error = outcome
    if error is not None:
        _error(error)
        return EXIT_BAD_INPUT
    show(Path(path), result)
    _print_warnings(held)
    return EXIT_OK


def _show_nothing(path: Path, result: Any) -> None:
    """The ``show`` of :func:`for_each_file`, whose work prints for itself."""


def _guarded(path: str, work: Callable[[Path], Any]) -> tuple[Any, list[str], str | None]:
    """(result, warnings, None) of ``work(path)``, or (None, [], the one-line error)."""
    with warnings.catch_warnings(record=True) as held:
        warnings.simplefilter("default")
        try:
            result = work(Path(path))
        except (BadInput, SplatFormatError, SplatFieldError, FileExistsError) as e:
            return None, [], one_line(str(e))
        except OSError as e:
            return None, [], one_line(_os_error_line(e, path))
    return result, [one_line(str(w.message)) for w in held], None


@contextmanager
def _warnings_unless_refused() -> Iterator[None]:
    """Hold the warnings raised inside; print each as one ``splatlab: warning:`` line when
    the work ends, unless it ends in an exception: a refused file gets its one error line
    alone (a load's "trailing bytes" warning says nothing once the file is refused)."""
    with warnings.catch_warnings(record=True) as held:
        warnings.simplefilter("default")
        yield
    _print_warnings(one_line(str(w.message)) for w in held)


def _print_warnings(lines: Iterable[str]) -> None:
    """Each distinct warning once, as a ``splatlab: warning:`` line on stderr."""
    for line in dict.fromkeys(lines):
        print(f"splatlab: warning: {line}", file=sys.stderr)


def _os_error_line(error: OSError, path: str | os.PathLike | None = None) -> str:
    """One line for an operating-system error: the file it names (else ``path``) and what
    the system said, e.g. ``out/x.ply: No space left on device``."""
    where = error.filename if error.filename is not None else path
    what = error.strerror or str(error)
    return f"{where}: {what}" if where is not None else what


def _error(message: str) -> None:
    print(f"splatlab: {one_line(message)}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
