"""Make nested results JSON-ready: numpy scalars to Python, NaN/inf to null, times to ISO text.

Example:
    >>> import numpy as np
    >>> json_safe({"a": np.float32(1.5), "b": [float("nan")], 3: (np.int64(2),)})
    {'a': 1.5, 'b': [None], '3': [2]}
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np


def json_safe(value: Any) -> Any:
    """A copy of ``value`` that ``json.dumps(..., allow_nan=False)`` accepts.

    Dict keys become strings, tuples become lists, numpy scalars Python numbers,
    non-finite floats ``None`` and datetimes (pandas timestamps included) ISO text.
    """
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
