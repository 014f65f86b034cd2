"""Collection rules for the whole checkout: ``tests/`` and the doctests of ``splatlab/``.

Without numba (the ``[fast]`` extra not installed) the compiled-loop modules cannot be
imported, so their doctests are not collected; everything else runs on the numpy twins.
"""

from splatlab.core.compiled import numba_available

collect_ignore = [] if numba_available() else [
    "splatlab/analysis/kernels.py", "splatlab/core/spz_kernels.py",
    "splatlab/core/format_kernels.py"]
