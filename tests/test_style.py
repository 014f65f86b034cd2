"""The code base stays ruff clean (configuration in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean():
    folders = [name for name in ("splatlab", "tests", "bench", "conftest.py")
               if (ROOT / name).exists()]
    # no cache: a cached result can hide what a new file changes (a root conftest.py makes
    # `conftest` first-party for import sorting), which a fresh clone then reports
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", *folders],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
