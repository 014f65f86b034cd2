"""Progress bars for work that can take more than a couple of seconds (tqdm).

In a notebook the bar is a widget (text on standard error in a kernel without ipywidgets);
on a terminal it is drawn on standard error; anywhere
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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

Item = TypeVar("Item")


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ipython = shell.get_ipython()
    return ipython is not None and type(ipython).__name__ == "ZMQInteractiveShell"


def _bar() -> type:
    """tqdm's widget bar in a notebook that has ipywidgets (the ``[notebook]`` extra); its
    text bar on standard error elsewhere, and in a kernel without ipywidgets, where the
    widget bar would raise instead of drawing."""
    if _in_notebook() and _have_widgets():
        from tqdm.notebook import tqdm
    else:
        from tqdm import tqdm
    return tqdm


def _have_widgets() -> bool:
    try:
        import ipywidgets  # noqa: F401  (what tqdm's widget bar draws with)
    except ImportError:
        return False
    return True


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
    yield from _bar()(items, desc=description, total=total, unit=unit, leave=False)


@contextmanager
def tally(description: str, *, files: int, total_bytes: int) -> Iterator[Callable[[int], None]]:
    """A bar of bytes done, with files done beside it; yields ``advance(nbytes)``, to be
    called once a file as each finishes (in any order).

    Example:
        >>> with tally("scan", files=2, total_bytes=300) as advance:
        ...     advance(100); advance(200)
    """
    if not enabled():
        yield lambda nbytes: None
        return
    done = 0
    with _bar()(desc=description, total=total_bytes, unit="B", unit_scale=True,
              unit_divisor=1024, leave=False) as bar:
        bar.set_postfix_str(f"0/{files} files")

        def advance(nbytes: int) -> None:
            nonlocal done
            done += 1
            bar.set_postfix_str(f"{done}/{files} files", refresh=False)
            bar.update(nbytes)

        yield advance


def announce(text: str, link: str | None = None) -> None:
    """Tell the person watching: a link in a notebook (clickable), a line on standard error
    on a terminal; nothing where bars are off (pipes, captured output).

    Example:
        >>> announce("Dask dashboard", "http://127.0.0.1:8787/status")   # no terminal here
    """
    if not enabled():
        return
    if _in_notebook():
        from html import escape

        from IPython.display import HTML, display

        target = f" <a href='{escape(link)}' target='_blank'>{escape(link)}</a>" if link else ""
        display(HTML(f"<p>{escape(text)}:{target}</p>" if link else f"<p>{escape(text)}</p>"))
    else:
        print(f"splatlab: {text}" + (f": {link}" if link else ""), file=sys.stderr)


__all__ = ["announce", "enabled", "progress", "tally"]
