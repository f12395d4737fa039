"""Retry rules: R interfaces only, network errors, timeouts and 5xx only."""

from __future__ import annotations

import random

import pytest

from medical_insurance_sdk.client.retry import RetryPolicy
from medical_insurance_sdk.exceptions import (
    BusinessError,
    GatewaySignatureError,
    HTTPStatusError,
    MedicalInsuranceError,
    NetworkError,
    ReadTimeoutError,
    ResponseParseError,
    ValidationError,
)
from medical_insurance_sdk.protocol.catalog import Kind

ERRORS: list[tuple[MedicalInsuranceError, bool]] = [
    (NetworkError("x"), True),
    (ReadTimeoutError("x"), True),
    (HTTPStatusError("x", status_code=503), True),
    (HTTPStatusError("x", status_code=404), False),
    (GatewaySignatureError("x"), False),
    (BusinessError("x", infcode=-1, error_class="INFCODE_-1"), False),
    (ResponseParseError("x"), False),
    (ValidationError("x"), False),
]


@pytest.mark.parametrize(("error", "retried"), ERRORS, ids=lambda v: type(v).__name__)
def test_read_interfaces_retry_only_transient_errors(
    error: MedicalInsuranceError, retried: bool
) -> None:
    """R calls retry network errors, timeouts and 5xx; nothing else."""
    assert RetryPolicy().should_retry(Kind.READ, error, 1) is retried


@pytest.mark.parametrize("kind", [Kind.WRITE, Kind.WRITE_MONEY], ids=["W", "W$"])
@pytest.mark.parametrize(("error", "retried"), ERRORS, ids=lambda v: type(v).__name__)
def test_writes_are_never_retried(kind: Kind, error: MedicalInsuranceError, retried: bool) -> None:
    """W and W$ calls are never resent, whatever the error."""
    assert RetryPolicy(max_attempts=10).should_retry(kind, error, 1) is False


def test_attempts_are_bounded() -> None:
    """No retry once max_attempts is reached; 1 disables retries."""
    policy = RetryPolicy(max_attempts=3)
    assert policy.should_retry(Kind.READ, NetworkError("x"), 2)
    assert not policy.should_retry(Kind.READ, NetworkError("x"), 3)
    assert not RetryPolicy.disabled().should_retry(Kind.READ, NetworkError("x"), 1)


def test_full_jitter_backoff_is_bounded() -> None:
    """Delays lie in [0, min(max, base * 2^(n-1))] and vary."""
    policy = RetryPolicy(backoff_base=0.1, backoff_max=0.3, rng=random.Random(1))
    delays = {attempt: [policy.delay(attempt) for _ in range(200)] for attempt in (1, 2, 3, 6)}
    assert all(0 <= d <= 0.1 for d in delays[1])
    assert all(0 <= d <= 0.2 for d in delays[2])
    assert all(0 <= d <= 0.3 for d in delays[6])
    assert len(set(delays[3])) > 100


def test_invalid_policy_is_rejected() -> None:
    """max_attempts < 1 or negative backoff fail at construction."""
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="backoff"):
        RetryPolicy(backoff_base=-1)
