"""Retry rules and backoff (docs/protocol.md §6).

Only R interfaces are retried, and only after network errors, timeouts and 5xx answers.
W and W$ calls are never resent: a resent 2207 could settle twice. Backoff is exponential
with full jitter (a random delay between 0 and the capped exponential step).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from medical_insurance_sdk.client.catalog import Kind
from medical_insurance_sdk.exceptions import (
    HTTPStatusError,
    MedicalInsuranceError,
    NetworkError,
)

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
        if isinstance(error, NetworkError):
            return True
        return isinstance(error, HTTPStatusError) and 500 <= error.status_code < 600

    def delay(self, attempt: int) -> float:
        """Seconds to wait after attempt number ``attempt`` (full jitter)."""
        step = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return self.rng.uniform(0.0, step)
