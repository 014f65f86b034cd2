"""Whether the compiled loops (numba, the ``[fast]`` extra) can run here: one answer for
the whole package.

numba is optional. With it, :func:`splatlab.stats` and the SPZ, compressed-PLY and SOG
codecs run numba loops (``analysis/kernels.py``, ``core/spz_kernels.py``,
``core/format_kernels.py``); without it they run the plain numpy twins beside those loops
(``analysis/kernels_numpy.py``, each format's ``*_reference`` functions), which give the
same bits (the statistics' sums within ``statistics_reference.moment_tolerance``), only
slower. Every place that picks one asks :func:`numba_available`, and nothing else.

The answer is taken once a process and kept. numba is looked for without importing it
(``import splatlab`` stays light); only when it is installed is it imported, on the first
question, so that a numba that cannot load (one built for another numpy, a broken
llvmlite) counts as absent instead of failing the verb that asked.

Example:
    >>> numba_available() in (True, False)
    True
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import cache


@cache
def numba_available() -> bool:
    """True when numba is installed and imports (asked once a process, then kept).

    Example:
        >>> numba_available() is numba_available()
        True
    """
    try:
        if importlib.util.find_spec("numba") is None:   # also when sys.modules["numba"] is None
            return False
        importlib.import_module("numba")
    except Exception:   # numba raises ImportError, AttributeError, ... on a bad install
        return False
    return True


__all__ = ["numba_available"]
