"""Retry rules and backoff (docs/protocol.md §6).

Only R interfaces are retried, and only after the failures the "R retried" column of
:data:`~medical_insurance_sdk.client.outcomes.RULES` names (nothing sent, a reset or a
timeout after sending, a 5xx answer). W and W$ calls are never resent: a resent 2207 could
settle twice. Backoff is exponential with full jitter (a random delay between 0 and the
capped exponential step); the client gives up early when the delay would pass the call's
deadline.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from medical_insurance_sdk.client.outcomes import RULES, classify
from medical_insurance_sdk.exceptions import MedicalInsuranceError
from medical_insurance_sdk.protocol.catalog import Kind

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts an R call gets, and how long to wait between them.

    ``max_attempts`` counts the first attempt (1 disables retries).
    """

    max_attempts: int = 3
    backoff_base: float = 0.1
    backoff_max: float = 2.0
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_base < 0 or self.backoff_max < 0:
            raise ValueError("backoff values must not be negative")

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(max_attempts=1)

    def should_retry(self, kind: Kind, error: MedicalInsuranceError, attempt: int) -> bool:
        """True when ``error`` after attempt number ``attempt`` (1-based) may be retried."""
        if attempt >= self.max_attempts or not kind.retry_safe:
            return False
        return RULES[classify(error)].retried

    def delay(self, attempt: int) -> float:
        """Seconds to wait after attempt number ``attempt`` (full jitter)."""
        step = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return self.rng.uniform(0.0, step)
