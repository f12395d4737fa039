"""Incidents budget: the alert conditions replayed over a day of minute rollups.

``find_incidents`` over 24 hours of minute rollups of 40 APIs x 20 orgs (about 1.1M
rollups, each minute of each series present), evaluated every minute over a 15-minute
window, with one 90-minute incident: <= 2 s. Building the rollups is not measured.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from medical_insurance_sdk.core.analysis.conditions import AlertPolicy
from medical_insurance_sdk.core.analysis.incidents import find_incidents
from medical_insurance_sdk.core.analysis.thresholds import default_threshold
from medical_insurance_sdk.core.collection.rollups import RollupFrame, frame_from_calls

__all__ = ["run"]

T0 = 1_700_000_040.0  # a minute boundary
DAY = 86_400.0
N_APIS = 40
N_ORGS = 20
BUDGET_S = 2.0


def _frame() -> RollupFrame:
    """Two calls per series and minute for a day; API 3 at org 5 fails and slows 90 min."""
    minutes = int(DAY // 60)
    series = N_APIS * N_ORGS
    rng = np.random.default_rng(3)
    minute = np.repeat(np.arange(minutes), series * 2)
    api = np.tile(np.repeat(np.arange(N_APIS), N_ORGS * 2), minutes).astype(np.int32)
    org = np.tile(np.repeat(np.tile(np.arange(N_ORGS), N_APIS), 2), minutes).astype(np.int32)
    ts = T0 + minute * 60.0 + rng.uniform(0, 59.9, minute.size)
    duration = rng.lognormal(-1.5, 0.5, minute.size)
    bad = (api == 3) & (org == 5) & (ts > T0 + 50_000) & (ts < T0 + 55_400)
    duration[bad] *= 40
    success = ~(bad & (rng.random(minute.size) < 0.3))
    return frame_from_calls(
        timestamp=ts,
        duration=duration,
        api=api,
        org=org,
        error=np.where(success, -1, 0).astype(np.int32),
        success=success,
        request_size=np.zeros(ts.size, np.uint32),
        response_size=np.zeros(ts.size, np.uint32),
        api_codes=tuple(f"{2000 + i}" for i in range(N_APIS)),
        org_codes=tuple(f"H430105{i:05d}" for i in range(N_ORGS)),
        error_codes=("NETWORK_ERROR",),
    )


def run() -> list[dict[str, Any]]:
    """Measure the budget; rows ``{name, value, unit, budget, ok}``."""
    frame = _frame()
    best = float("inf")
    found = 0
    for _ in range(3):
        t0 = time.perf_counter()
        found = len(find_incidents(frame, T0, T0 + DAY, default_threshold, AlertPolicy(), 15))
        best = min(best, time.perf_counter() - t0)
    return [
        {
            "name": f"find_incidents 24h x {N_APIS * N_ORGS} series ({len(frame)} rollups)",
            "value": best,
            "unit": "s",
            "budget": f"<= {BUDGET_S:g}",
            "ok": best <= BUDGET_S and found >= 1,
        }
    ]
