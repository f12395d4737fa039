"""get_api_statistics: exact figures on known data, and windows."""

from __future__ import annotations

import pytest


def test_statistics_exact_on_known_data(clocked, clock):
    """Totals, rates (fractions), mean time and breakdowns are exact."""
    now = clock.wall()
    for ms in (10, 20, 30):
        clocked.record_api_call("1101", "H1", "success", ms, timestamp=now - 60)
    clocked.record_api_call("2207", "H1", "success", 100, timestamp=now - 60)
    clocked.record_api_call("2207", "H1", "error", 300, error_code="-1", timestamp=now - 60)
    clocked.record_api_call("2207", "H2", "error", 500, timestamp=now - 60)
    s = clocked.get_api_statistics(60)
    assert (s["total_calls"], s["successful_calls"], s["failed_calls"]) == (6, 4, 2)
    assert s["success_rate"] == pytest.approx(4 / 6)
    assert s["average_response_time"] == pytest.approx(960 / 6)
    assert s["api_breakdown"] == {
        "1101": {"count": 3, "success": 3, "success_rate": 1.0, "avg_time": pytest.approx(20.0)},
        "2207": {
            "count": 3,
            "success": 1,
            "success_rate": pytest.approx(1 / 3),
            "avg_time": pytest.approx(300.0),
        },
    }
    assert s["error_breakdown"] == {"-1": 1, "unknown": 1}
    assert s["time_range_minutes"] == 60
    assert s["timestamp"].startswith("2023-11-14T22:13:20")


def test_window_excludes_older_calls(clocked, clock):
    """Only calls inside the window count."""
    now = clock.wall()
    clocked.record_api_call("1101", "H1", "success", 10, timestamp=now - 2 * 3600)
    clocked.record_api_call("1101", "H1", "success", 10, timestamp=now - 30 * 60)
    assert clocked.get_api_statistics(60)["total_calls"] == 1
    assert clocked.get_api_statistics(180)["total_calls"] == 2


def test_empty_window(collector):
    """No calls gives zeros, not errors."""
    s = collector.get_api_statistics(5)
    assert (s["total_calls"], s["success_rate"], s["api_breakdown"]) == (0, 0.0, {})


def test_bad_window_is_a_value_error(collector):
    """A non-positive window raises ValueError."""
    with pytest.raises(ValueError, match="time_range_minutes must be > 0"):
        collector.get_api_statistics(0)
