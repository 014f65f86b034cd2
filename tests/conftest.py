"""Shared fixtures: the real 3DGS file from ../shared/fixtures (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES = Path(os.environ.get("SPLATLAB_FIXTURES",
                               Path(__file__).resolve().parents[2] / "shared" / "fixtures"))
"""``../shared/fixtures`` beside the checkout; ``SPLATLAB_FIXTURES`` points elsewhere."""


@pytest.fixture
def hamburger_path() -> Path:
    """The validator's own test asset: 52,709 gaussians, 14 float32 properties."""
    path = FIXTURES / "hamburger.ply"
    if not path.exists():
        pytest.skip(f"fixture {path} absent")
    return path
