"""Progress bars for work that can take more than a couple of seconds (tqdm).

In a notebook the bar is a widget; on a terminal it is drawn on standard error; anywhere
else (a pipe, a file, a test capturing output) nothing is drawn, so that logs and the
command line's one-line errors stay clean. ``SPLATLAB_PROGRESS=0`` turns bars off, ``1``
forces them on.

Example:
    >>> [x * 2 for x in progress(range(3), "doubling")]
    [0, 2, 4]
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

Item = TypeVar("Item")


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ipython = shell.get_ipython()
    return ipython is not None and type(ipython).__name__ == "ZMQInteractiveShell"


def enabled() -> bool:
    """Whether bars are drawn here (see the module docstring).

    Example:
        >>> isinstance(enabled(), bool)
        True
    """
    setting = os.environ.get("SPLATLAB_PROGRESS")
    if setting in ("0", "1"):
        return setting == "1"
    return _in_notebook() or sys.stderr.isatty()


def progress(items: Iterable[Item], description: str, *, total: int | None = None,
             unit: str = "file") -> Iterator[Item]:
    """``items``, with a bar named ``description`` where bars are drawn.

    Example:
        >>> list(progress(["a", "b"], "reading", unit="file"))
        ['a', 'b']
    """
    if not enabled():
        yield from items
        return
    if _in_notebook():
        from tqdm.notebook import tqdm
    else:
        from tqdm import tqdm
    yield from tqdm(items, desc=description, total=total, unit=unit, leave=False)


__all__ = ["enabled", "progress"]
