"""Alerts need evidence: the binomial rule, the typo at a small clinic, multi-window resolve."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from suite_constants import NOW

from medical_insurance_sdk.core import (
    MemorySource,
    MetricConfig,
    MetricsCollector,
    PerformanceAlert,
    PerformanceAnalyzer,
    RollupFrame,
)
from medical_insurance_sdk.core.analysis import AlertPolicy
from medical_insurance_sdk.core.analysis.evidence import (
    evidence_table,
    failures_needed,
    poisson_lower_tail,
)
from medical_insurance_sdk.core.runtime.clock import ManualClock


def _upper_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed directly."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


@pytest.mark.parametrize("budget", [0.005, 0.01, 0.02, 0.05], ids=lambda b: f"budget{b}")
@pytest.mark.parametrize("calls", [10, 20, 40, 100, 400, 1000])
def test_failures_needed_is_the_smallest_count_rejecting_the_budget(calls, budget):
    """k failures reject the budget at 99 %; k - 1 do not (unless k is the minimum, 3)."""
    k = failures_needed(calls, budget, 0.99, 3)
    assert 3 <= k <= calls
    assert _upper_tail(k, calls, budget) <= 0.01
    if k > 3:
        assert _upper_tail(k - 1, calls, budget) > 0.01


def test_evidence_table_rows_for_the_default_targets():
    """The documented table: 20 calls need 3 failures at every default budget but 5 %."""
    rows = dict(evidence_table((20, 100, 1000), (0.005, 0.01, 0.02, 0.05), 0.99, 3))
    assert rows[20][:3] == [3, 3, 3]
    assert rows[20][3] == 5  # P(X >= 4 | 20, 5 %) = 1.6 % > 1 %
    assert _upper_tail(rows[1000][0], 1000, 0.005) <= 0.01
    assert rows[100] == sorted(rows[100])  # a larger budget needs more failures


def test_too_few_calls_can_never_be_evidence():
    """With 2 calls and a 50 % budget even two failures are no evidence at 99 %."""
    assert failures_needed(2, 0.5, 0.99, 1) == 3


def test_poisson_lower_tail_matches_the_direct_sum():
    """P(X <= x) of a Poisson law, summed directly."""
    for x, lam in ((0, 40.0), (10, 32.0), (30, 30.0)):
        direct = sum(math.exp(-lam) * lam**i / math.factorial(i) for i in range(x + 1))
        assert poisson_lower_tail(x, lam) == pytest.approx(direct, rel=1e-9)


def _clinic(collector: MetricsCollector, calls: int, refusals: int, start: float) -> None:
    for i in range(calls):
        bad = i >= calls - refusals  # the latest calls: the short window is not clean
        collector.record_api_call(
            "1101",
            "C1",
            "error" if bad else "success",
            120.0,
            error_code="BIZ_1001" if bad else None,
            timestamp=start + 30.0 * i,
        )


def test_one_typo_among_twenty_calls_at_a_clinic_fires_nothing(mc):
    """One business refusal in exactly 20 calls of 1101 (95 % < 98 %) is no alert."""
    collector, _ = mc
    _clinic(collector, 20, 1, NOW - 20 * 30.0)
    analyzer = PerformanceAnalyzer(collector)
    assert analyzer.evaluate_alerts() == []
    assert analyzer.get_active_alerts() == []


def test_many_refusals_at_the_same_clinic_are_evidence(mc):
    """Five refusals in 20 calls of 1101 reject its 2 % budget: success_rate fires."""
    collector, _ = mc
    _clinic(collector, 20, 5, NOW - 20 * 30.0)
    analyzer = PerformanceAnalyzer(collector)
    kinds = {a.alert_type for a in analyzer.evaluate_alerts()}
    assert kinds == {"success_rate"}


def _busy(collector: MetricsCollector, start: float, seconds: int, error_every: int) -> None:
    """2207 at H1, one call a second; every ``error_every``-th a network error (0: none)."""
    rng = np.random.default_rng(3)
    for i in range(seconds):
        bad = error_every > 0 and i % error_every == 0
        collector.record_api_call(
            "2207",
            "H1",
            "error" if bad else "success",
            float(rng.lognormal(5.4, 0.3)),
            error_code="NETWORK_RESET" if bad else None,
            timestamp=start + i + 0.5,
        )


def test_twenty_percent_errors_fire_within_a_minute_and_resolve_within_two():
    """A busy API: 20 % network errors fire in <= 60 s; recovery resolves in <= 120 s."""
    clock = ManualClock(NOW)
    collector = MetricsCollector(
        MetricConfig(prometheus_enabled=False, background=False), clock=clock
    )
    analyzer = PerformanceAnalyzer(collector)
    events: list[tuple[float, PerformanceAlert]] = []
    analyzer.on_alert(lambda a: events.append((clock.wall(), a)))
    step = 15
    onset, recovery = NOW + 20 * 60, NOW + 23 * 60
    t = NOW
    while t < NOW + 30 * 60:
        _busy(collector, t, step, 5 if onset <= t < recovery else 0)
        clock.advance(step)
        t += step
        analyzer.evaluate_alerts()
    fired = [(w, a) for w, a in events if a.alert_type == "error_rate" and a.state == "active"]
    resolved = [(w, a) for w, a in events if a.alert_type == "error_rate" and a.state != "active"]
    assert len(fired) <= 2  # a warning, possibly escalated once: never re-fired
    assert len({a.alert_id for _, a in fired}) == 1
    assert 0 < fired[0][0] - onset <= 60
    assert len(resolved) == 1
    assert 0 < resolved[0][0] - recovery <= 120
    assert all(onset < w for w, _ in events)  # nothing before the incident
    collector.shutdown()


def test_a_clear_short_window_blocks_a_stale_long_window(mc):
    """Errors 10 minutes ago, clean calls in the last minute: nothing fires."""
    collector, _ = mc
    _busy(collector, NOW - 600, 60, 5)  # 20 % errors, 10 minutes ago
    _busy(collector, NOW - 60, 60, 0)  # the last minute is clean
    analyzer = PerformanceAnalyzer(collector)
    assert analyzer.evaluate_alerts() == []
    policy = AlertPolicy(short_window_minutes=0.1)  # 6 clean calls: too few to resolve
    assert PerformanceAnalyzer(collector, alert_policy=policy).evaluate_alerts() == []


def test_a_quiet_short_window_leaves_it_to_the_long_window(mc):
    """Errors 10 minutes ago and no call since: the long window's evidence fires."""
    collector, _ = mc
    _busy(collector, NOW - 600, 60, 5)
    fired = PerformanceAnalyzer(collector).evaluate_alerts()
    assert {a.alert_type for a in fired} == {"error_rate", "success_rate"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("confidence", 1.0),
        ("confidence", 0.2),
        ("min_failures", 0),
        ("short_window_minutes", 0.0),
        ("drop_ratio", 1.5),
        ("latency_factor", -1.0),
        ("refusal_margin", -0.1),
    ],
)
def test_alert_policy_rejects_bad_settings(field, value):
    """A bad AlertPolicy setting is a ValueError naming it."""
    with pytest.raises(ValueError, match=field):
        AlertPolicy(**{field: value})


def test_the_documented_table_is_the_rule():
    """docs/alerting.md's table of calls -> failures needed is what the rule computes."""
    doc = Path(__file__).resolve().parents[2] / "docs" / "alerting.md"
    rows = [
        line.strip("|").split("|")
        for line in doc.read_text(encoding="utf-8").splitlines()
        if line.startswith("| ") and line.split("|")[1].strip().isdigit()
    ]
    assert len(rows) >= 10
    for cells in rows:
        calls, *needed = (int(c) for c in cells)
        assert needed == [failures_needed(calls, b, 0.99, 3) for b in (0.005, 0.01, 0.02, 0.05)]


def test_evaluation_interval_defaults_to_a_quarter_of_a_minute(mc):
    """Background evaluation every 15 s over a collector, 60 s over a source, or as given."""
    collector, _ = mc
    assert PerformanceAnalyzer(collector).evaluation_interval == 15.0
    assert PerformanceAnalyzer(collector, evaluation_interval=5).evaluation_interval == 5
    assert PerformanceAnalyzer(MemorySource(RollupFrame.empty())).evaluation_interval == 60.0
