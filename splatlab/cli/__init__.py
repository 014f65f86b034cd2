"""Floor 6, the ``splatlab`` command line: :func:`~splatlab.cli.main.main` and one module a
sub-command in :mod:`splatlab.cli.commands`."""

from .main import main

__all__ = ["main"]
