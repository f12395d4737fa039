"""Sizes for reliability tests: CI-friendly by default, larger under `make stress`."""

from __future__ import annotations

import os

import pytest

#: `make stress` sets MISDK_STRESS=1: same tests, larger sizes.
STRESS = os.environ.get("MISDK_STRESS") == "1"


@pytest.fixture
def scale() -> int:
    """Multiplier of loop sizes: 1 in `make test`, 10 in `make stress`."""
    return 10 if STRESS else 1
