"""Monitoring health: internal errors are counted and logged once per interval, bounded."""

from __future__ import annotations

import logging

import pytest

from medical_insurance_sdk.core.runtime.health import MonitoringHealth


def test_a_long_error_is_logged_masked_and_cut_with_a_marker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 5 000-character error text is masked, cut to 300 characters and marked as cut."""
    health = MonitoringHealth()
    text = "写入失败 certno=440106199001011235 " + "x" * 5000
    with caplog.at_level(logging.WARNING, logger="medical_insurance_sdk.monitoring"):
        health.error("history", OSError(text))
    (record,) = caplog.records
    message = record.getMessage()
    assert "440106199001011235" not in message
    assert "已截断，原长" in message
    logged = message.split("OSError: ", 1)[1]
    assert len(logged) <= 300


def test_errors_are_counted_every_time_and_logged_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Three failures in a row count three and log one line."""
    health = MonitoringHealth(log_interval=60.0)
    with caplog.at_level(logging.WARNING, logger="medical_insurance_sdk.monitoring"):
        for _ in range(3):
            health.error("history", OSError("disk full"))
    assert len(caplog.records) == 1
    assert health.errors() == {"history": 3}
