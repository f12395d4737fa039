"""Values the whole suite shares: the manual clock's start and the `make stress` sizes.

Import them by module name (``from suite_constants import NOW``): ``tests/`` is on
``sys.path`` because of ``tests/conftest.py``. Fixtures live in the conftest files.
"""

from __future__ import annotations

import os

__all__ = ["NOW", "SCALE", "STRESS"]

#: The wall time the ``clock`` fixture (a ManualClock) starts at: 2023-11-14 22:13:20 UTC.
NOW = 1_700_000_000.0

#: `make stress` sets MISDK_STRESS=1: the same tests with larger sizes.
STRESS = os.environ.get("MISDK_STRESS") == "1"

#: Multiplier of loop sizes: 1 in `make test`, 10 in `make stress`.
SCALE = 10 if STRESS else 1
