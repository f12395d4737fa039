"""Fault kinds added later draw from their own stream: old runs of a random seed stay the same."""

from __future__ import annotations

import random

from medical_insurance_sdk.simulator.config import DEFAULT_LATENCY
from medical_insurance_sdk.simulator.faults import Fault, FaultPlan

FIRST_EIGHT = [fault for fault in Fault if not fault.later]


def test_the_first_eight_kinds_keep_their_stream() -> None:
    """With the new kinds configured or not, the first eight fire on the same requests as
    the one-stream draw (one gauss, then one roll per kind) always made them fire."""
    rates = {"http_5xx_rate": 0.2, "reset_rate": 0.2, "hang_rate": 0.1}
    newer = {"html_200_rate": 0.3, "drip_rate": 0.3}
    plain = FaultPlan(5, DEFAULT_LATENCY, {"2207": rates})
    mixed = FaultPlan(5, DEFAULT_LATENCY, {"2207": {**rates, **newer}})
    reference = random.Random("5:2207")
    for _ in range(300):
        reference.gauss(0.0, 1.0)
        rolls = {fault: reference.random() for fault in FIRST_EIGHT}
        expected = next((f for f in FIRST_EIGHT if rolls[f] < rates.get(f.rate_field, 0.0)), None)
        assert plain.draw("2207")[1] is expected
        fired = mixed.draw("2207")[1]
        assert fired is expected or (expected is None and fired is not None and fired.later)
    assert len(FIRST_EIGHT) == 8
