"""The collector writes history: config, housekeeping, shutdown, restart, a replayed week."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest
from suite_constants import NOW

from medical_insurance_sdk.core import HistorySource, ManualClock, MetricConfig, MetricsCollector
from medical_insurance_sdk.core.collection.rollups import HOUR, MINUTE
from medical_insurance_sdk.core.runtime.config import KNOWN_ENV_VARIABLES

DAY = 86400.0


def history_config(path, **changes) -> MetricConfig:
    """No server, no thread, history at ``path``."""
    return MetricConfig(
        prometheus_port=0, background=False, system_metrics_enabled=False, history_path=str(path)
    ).replace(**changes)


def test_config_fields_env_and_validation(tmp_path):
    """history_* fields default off/14/400, read MISDK_HISTORY_*, and name bad values."""
    default = MetricConfig(prometheus_port=0)
    assert (default.history_path, default.history_minute_days, default.history_hour_days) == (
        None,
        14,
        400,
    )
    env = {
        "MISDK_HISTORY_PATH": str(tmp_path / "h.sqlite"),
        "MISDK_HISTORY_MINUTE_DAYS": "3",
        "MISDK_HISTORY_HOUR_DAYS": "30",
    }
    config = MetricConfig.from_env(env)
    assert config.history_path == str(tmp_path / "h.sqlite")
    assert (config.history_minute_days, config.history_hour_days) == (3.0, 30.0)
    for name in env:
        assert name in KNOWN_ENV_VARIABLES
    assert MetricConfig(history_path=tmp_path / "p.sqlite").history_path == str(
        tmp_path / "p.sqlite"
    )
    for field, value in (
        ("history_path", ""),
        ("history_minute_days", 0),
        ("history_hour_days", float("inf")),
        ("history_hour_days", 2),
    ):
        with pytest.raises(ValueError, match=f"MetricConfig.{field}"):
            MetricConfig(**{field: value})
    with pytest.raises(ValueError, match="MISDK_HISTORY_MINUTE_DAYS"):
        MetricConfig.from_env({"MISDK_HISTORY_MINUTE_DAYS": "-1"})


def test_history_is_off_by_default(collector):
    """Without history_path there are no rollups and no file."""
    collector.record_api_call("2207", "H1", "success", 10.0)
    assert collector.rollups(NOW - 60, NOW + 60) is None
    with pytest.raises(ValueError, match="window"):
        collector.rollups(NOW + 60, NOW)


def test_housekeeping_writes_closed_minutes_and_shutdown_writes_the_rest(tmp_path):
    """A run writes minutes closed before now - grace; shutdown writes the open one too."""
    path = tmp_path / "h.sqlite"
    clock = ManualClock(NOW - NOW % 60)
    collector = MetricsCollector(history_config(path), clock=clock)
    start = clock.wall()
    collector.record_api_call("2207", "H1", "success", 50.0, timestamp=start + 10)
    collector.record_api_call("2207", "H1", "error", 70.0, error_code="BIZ_X", timestamp=start + 70)
    clock.advance(130)  # minutes 0 and 1 are closed and past the 5 s grace
    collector.record_api_call("1101", "H2", "success", 20.0, timestamp=clock.wall())
    collector.record_outcome_unknown("2207", "H1")
    collector.run_housekeeping()
    assert collector.monitoring_health()["errors"] == {}
    written = HistorySource(path).rollups(start, start + 600)
    assert written.total_calls == 2
    # the process's own view: written rows plus those held, unknown outcomes included
    mine = collector.rollups(start, start + 600)
    assert mine is not None
    assert mine.total_calls == 3
    assert int(mine.unknown_outcomes.sum()) == 1
    assert collector.rollups(start, start + 600, api_code="1101").total_calls == 1
    collector.shutdown()
    after = HistorySource(path).rollups(start, start + 600)
    assert after.total_calls == 3
    assert int(after.unknown_outcomes.sum()) == 1
    assert int(after.business_errors.sum()) == 1


def test_a_restart_keeps_history_and_readers_sum_every_writer(tmp_path):
    """A new collector on the same file adds to it; rollups() shows only its own rows."""
    path = tmp_path / "h.sqlite"
    clock = ManualClock(NOW)
    start = NOW - NOW % HOUR - 2 * HOUR
    first = MetricsCollector(history_config(path), clock=clock)
    for i in range(30):
        first.record_api_call("2207", "H1", "success", 40.0, timestamp=start + 60 * i + 5)
    first.shutdown()
    second = MetricsCollector(history_config(path), clock=clock)
    for i in range(20):
        second.record_api_call("2207", "H1", "success", 40.0, timestamp=start + 60 * i + 7)
    second.run_housekeeping()
    source = HistorySource(path)
    assert source.rollups(start, start + HOUR).total_calls == 50
    own = second.rollups(start, start + HOUR)
    assert own is not None
    assert own.total_calls == 20
    second.shutdown()
    assert len(source.describe().writers) == 2


def test_a_replayed_week_gives_exact_counts_per_api_org_and_hour(tmp_path):
    """A 7-day log replayed with timestamps: exact counts per API/org and per hour."""
    path = tmp_path / "h.sqlite"
    clock = ManualClock(NOW - NOW % HOUR)
    end = clock.wall()
    start = end - 7 * DAY
    collector = MetricsCollector(history_config(path), clock=clock)
    rng = random.Random(7)
    apis, orgs = ("1101", "2201", "2207", "5205"), ("H43010500001", "H43010500002", "H43010500003")
    per_series: Counter[tuple[str, str]] = Counter()
    per_hour: Counter[tuple[float, str, str]] = Counter()
    failures: Counter[str] = Counter()
    minutes: list[float] = []
    t = start
    while t < end:
        api, org = rng.choice(apis), rng.choice(orgs)
        ok = rng.random() > 0.05
        collector.record_api_call(
            api,
            org,
            "success" if ok else "error",
            rng.uniform(5, 900),
            error_code=None if ok else "BIZ_REFUSED",
            timestamp=t,
        )
        per_series[(api, org)] += 1
        per_hour[(t - t % HOUR, api, org)] += 1
        failures[api] += not ok
        minutes.append(t - t % MINUTE)
        t += rng.uniform(1, 90)
        if int(t) % int(DAY) < 90:  # write once a simulated day, as housekeeping would
            collector.run_housekeeping()
    clock.advance(MINUTE)  # the last minute closes
    collector.run_housekeeping()
    assert collector.monitoring_health()["errors"] == {}
    total = sum(per_series.values())
    assert len(collector.store) < total  # the ring forgot most of the week; history did not
    frame = HistorySource(path).rollups(start, end)
    assert set(frame.step) == {HOUR}
    got_series: Counter[tuple[str, str]] = Counter()
    got_hour: Counter[tuple[float, str, str]] = Counter()
    for i in range(len(frame)):
        api, org = frame.api_codes[frame.api[i]], frame.org_codes[frame.org[i]]
        got_series[(api, org)] += int(frame.calls[i])
        got_hour[(float(frame.start[i]), api, org)] += int(frame.calls[i])
    assert got_series == per_series
    assert got_hour == per_hour
    for api in apis:
        one = HistorySource(path).rollups(start, end, api_code=api)
        refused = int(one.business_errors.sum())
        assert refused == failures[api]
    # the same week at minute resolution (a window whose edges are not on hours)
    edged = HistorySource(path).rollups(start + 30 * MINUTE, end - 30 * MINUTE)
    assert set(edged.step) == {MINUTE, HOUR}
    assert edged.total_calls == sum(start + 1800 <= m < end - 1800 for m in minutes)
    hist = edged.totals(np.zeros(len(edged), dtype=np.int64), 1).histogram
    assert int(hist.sum()) == edged.total_calls
    collector.shutdown()


def test_housekeeping_prunes_by_age(tmp_path):
    """history_minute_days/hour_days apply at each run: old minutes go, their hours stay."""
    path = tmp_path / "h.sqlite"
    clock = ManualClock(NOW - NOW % HOUR)
    now = clock.wall()
    config = history_config(path, history_minute_days=1, history_hour_days=5)
    collector = MetricsCollector(config, clock=clock)
    for age in (8 * DAY, 3 * DAY, 600.0):
        collector.record_api_call("2207", "H1", "success", 30.0, timestamp=now - age)
    collector.run_housekeeping()  # writes all three, then prunes one step per table
    summary = HistorySource(path).describe()
    assert summary.minute_rows == 1
    assert summary.hour_rows == 2
    assert summary.calls == 2
    collector.shutdown()
