"""Alerts against baselines: a 5x slowdown, a refusal surge and a traffic stop after 35
minutes of steady traffic are seen within 60 s and resolved within 120 s; nothing else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
from suite_constants import NOW

from medical_insurance_sdk.core import (
    ManualClock,
    MetricConfig,
    MetricsCollector,
    PerformanceAlert,
    PerformanceAnalyzer,
)

#: (api, org) -> (calls a minute, median ms)
SERIES = {("2207", "H1"): (40, 220.0), ("2207", "H2"): (30, 200.0), ("1101", "H1"): (60, 120.0)}
STEP = 15  # seconds between evaluations (the default over a collector)
ONSET = NOW + 35 * 60
RECOVERY = ONSET + 180
END = RECOVERY + 300

#: What an incident does to one call: (api, org, time) -> (latency factor, error code, dropped)
Effect = Callable[[str, str, float], tuple[float, "str | None", bool]]


@dataclass
class Run:
    analyzer: PerformanceAnalyzer
    events: list[tuple[float, PerformanceAlert]] = field(default_factory=list)

    def of(self, kind: str) -> list[tuple[float, PerformanceAlert]]:
        return [(w, a) for w, a in self.events if a.alert_type == kind]


def _drive(effect: Effect, language: str = "zh") -> Run:
    """Steady Poisson traffic, evaluated every 15 s; ``effect`` between ONSET and RECOVERY."""
    clock = ManualClock(NOW)
    collector = MetricsCollector(
        MetricConfig(prometheus_enabled=False, background=False), clock=clock
    )
    run = Run(PerformanceAnalyzer(collector, language=language))
    run.analyzer.on_alert(lambda a: run.events.append((clock.wall(), a)))
    rng = np.random.default_rng(5)
    t = NOW
    while t < END:
        for (api, org), (per_minute, median) in SERIES.items():
            n = int(rng.poisson(per_minute * STEP / 60.0))
            for when in np.sort(rng.uniform(t, t + STEP, n)).tolist():
                factor, code, dropped = (
                    effect(api, org, when) if ONSET <= when < RECOVERY else (1.0, None, False)
                )
                if dropped:
                    continue
                collector.record_api_call(
                    api,
                    org,
                    "error" if code else "success",
                    float(rng.lognormal(np.log(median), 0.5)) * factor,
                    error_code=code,
                    timestamp=when,
                )
        t += STEP
        clock.advance(STEP)
        run.analyzer.evaluate_alerts()
    collector.shutdown()
    return run


def _only_2207(change: tuple[float, str | None, bool]) -> Effect:
    def effect(api: str, org: str, when: float) -> tuple[float, str | None, bool]:
        return change if api == "2207" else (1.0, None, False)

    return effect


def _timing(run: Run, kind: str, org: str) -> tuple[float, float]:
    """Seconds from onset to the alert, and from recovery to its resolution (one each)."""
    mine = [(w, a) for w, a in run.of(kind) if a.org_code == org and a.api_code == "2207"]
    fired = [w for w, a in mine if a.state == "active"]
    resolved = [w for w, a in mine if a.state == "resolved"]
    assert len({a.alert_id for _, a in mine}) == 1, "fired more than once (flapping)"
    assert len(resolved) == 1
    return fired[0] - ONSET, resolved[0] - RECOVERY


def _quiet_elsewhere(run: Run, kinds: set[str]) -> None:
    """Nothing before the onset, nothing on 1101, no other alert type."""
    assert all(w > ONSET for w, _ in run.events)
    assert not [a for _, a in run.events if a.api_code == "1101"]
    assert {a.alert_type for _, a in run.events} <= kinds
    assert run.analyzer.get_active_alerts() == []


def test_five_times_slower_fires_latency_baseline_and_resolves():
    """2207 five times slower (p95 ~5x the usual, below the static 5 s): seen and healed."""
    run = _drive(_only_2207((5.0, None, False)))
    for org in ("H1", "H2"):
        detect, heal = _timing(run, "latency_baseline", org)
        assert 0 < detect <= 60
        assert 0 < heal <= 120
    _quiet_elsewhere(run, {"latency_baseline"})
    first = run.of("latency_baseline")[0][1]
    assert "为本时段常态" in first.message
    assert "倍" in first.message
    assert first.actual_value / first.threshold_value >= 2.5


def test_refusal_surge_fires_refusal_rate_judged_apart_from_system_errors():
    """20 % business refusals on 2207: refusal_rate (and the success target), no error_rate."""
    run = _drive(_refusals)
    for org in ("H1", "H2"):
        detect, heal = _timing(run, "refusal_rate", org)
        assert 0 < detect <= 60
        assert 0 < heal <= 120
    _quiet_elsewhere(run, {"refusal_rate", "success_rate"})
    assert not run.of("error_rate")


def _refusals(api: str, org: str, when: float) -> tuple[float, str | None, bool]:
    if api == "2207" and int(when * 1000) % 5 == 0:
        return 1.0, "BIZ_1001", False
    return 1.0, None, False


def test_traffic_stop_at_one_hospital_fires_traffic_drop():
    """H1 stops calling 2207 (no call at all): a critical traffic_drop, resolved on return."""

    def stop(api: str, org: str, when: float) -> tuple[float, str | None, bool]:
        return 1.0, None, api == "2207" and org == "H1"

    run = _drive(stop, language="en")
    detect, heal = _timing(run, "traffic_drop", "H1")
    assert 0 < detect <= 60
    assert 0 < heal <= 120
    assert "critical" in {a.severity for _, a in run.of("traffic_drop")}
    assert "traffic dropped" in run.of("traffic_drop")[0][1].message
    assert not [a for _, a in run.events if a.org_code == "H2"]
    _quiet_elsewhere(run, {"traffic_drop"})


def test_steady_traffic_fires_nothing():
    """35 minutes and more of steady traffic: no alert at all."""
    run = _drive(lambda api, org, when: (1.0, None, False))
    assert run.events == []
    baseline = run.analyzer.get_baseline("2207", "H1")
    assert baseline is not None
    assert baseline.kind == "recent"
    assert baseline.calls_per_minute == pytest.approx(40.0, rel=0.15)
