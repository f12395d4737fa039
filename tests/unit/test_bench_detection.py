"""The detection benchmark's harness (bench/bench_detection.py): its scoring, the client
records it makes of the simulator's faults, and a shortened timeline run end to end.

These check the harness, not the alerting: what the current alerting scores is the
benchmark's output, not a test.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import pytest

from bench.bench_detection import BUSY, CLINIC, ORGS, rows, timeline
from bench.detection_outcomes import OutcomeModel
from bench.detection_score import AlertEvent, Incident, episodes, score
from bench.detection_sim import simulate
from medical_insurance_sdk.simulator import Fault, FaultConfig, SimulatorConfig

KNOWN = ("H1", "H2", "C1")
S2207 = frozenset({"2207"})


def _ev(t: float, aid: str, api: str = "2207", org: str = "H1", state: str = "active",
        severity: str = "warning", kind: str = "success_rate") -> AlertEvent:  # fmt: skip
    return AlertEvent(t, aid, api, org, kind, severity, state)


def _what(e: AlertEvent) -> tuple[object, ...]:
    """An event without its alert id (how ids are made is the alerting's business)."""
    return (e.time_s, e.api_code, e.org_code, e.alert_type, e.severity, e.state)


def _incident(onset: float = 100.0, recovery: float = 280.0, **kw: object) -> Incident:
    spec: dict[str, object] = {"apis": S2207, "orgs": None, **kw}
    return Incident("x", onset, recovery, **spec)


def test_episodes_join_fire_escalation_and_resolve():
    """One episode per alert id: fired at the first event, the peak severity, resolved."""
    eps = episodes(
        [
            _ev(130, "1"),
            _ev(190, "1", severity="critical"),
            _ev(350, "1", state="resolved", severity="critical"),
            _ev(140, "2", api="1101"),
        ]
    )
    assert [(e.alert_id, e.fired_s, e.resolved_s, e.severity) for e in eps] == [
        ("1", 130, 350, "critical"),
        ("2", 140, None, "warning"),
    ]


def test_detection_resolve_and_collateral_times():
    """Detected 30 s after onset, the last resolve 70 s after recovery, one collateral."""
    events = [
        _ev(50, "0", api="1901"),  # steady traffic: a false alert
        _ev(60, "0", api="1901", state="resolved"),
        _ev(130, "1"),
        _ev(160, "2", org="H2", kind="error_rate"),
        _ev(300, "2", org="H2", kind="error_rate", state="resolved"),
        _ev(350, "1", state="resolved"),
        _ev(150, "3", api="1101"),  # an API the incident did not touch
    ]
    result = score(events, [_incident()], 1000.0, KNOWN)
    assert [e.alert_id for e in result.false_alerts] == ["0"]
    (s,) = result.incidents
    assert s.detect_s == 30
    assert s.detected
    assert s.resolve_s == 70
    assert s.resolved
    assert [e.alert_id for e in s.alerts] == ["1", "2"]
    assert [e.alert_id for e in s.collateral] == ["3"]
    assert s.alerts[0].label(100, 280) == "2207/H1 success_rate warning +30s resolved +70s"
    assert s.collateral[0].label(100, 280) == "1101/H1 success_rate warning +50s open"


def test_late_detection_and_slow_or_missing_resolve_are_misses():
    """Fired 100 s after onset: late; resolved 200 s after recovery: slow; none: no time."""
    late = score([_ev(200, "1"), _ev(480, "1", state="resolved")], [_incident()], 1e4, KNOWN)
    (s,) = late.incidents
    assert s.detect_s == 100
    assert not s.detected
    assert s.resolve_s == 200
    assert not s.resolved
    never = score([_ev(130, "1")], [_incident()], 1e4, KNOWN).incidents[0]
    assert never.detected
    assert never.resolve_s is None
    assert not never.resolved
    silent = score([], [_incident()], 1e4, KNOWN).incidents[0]
    assert silent.detect_s is None
    assert silent.resolve_s is None
    assert not silent.alerts


def test_an_alert_open_at_onset_is_not_a_detection_but_must_resolve():
    """An alert left from before counts for the resolve, not for the detection."""
    events = [_ev(20, "1"), _ev(400, "1", state="resolved")]
    (s,) = score(events, [_incident()], 1e4, KNOWN).incidents
    assert s.detect_s is None
    assert s.resolve_s == 120
    assert s.resolved


def test_segments_end_at_the_next_onset():
    """An alert after the next onset belongs to the next incident, still open: not resolved."""
    first, second = _incident(), _incident(1000.0, 1180.0, apis=frozenset({"1101"}))
    events = [_ev(130, "1"), _ev(1030, "2", api="1101"), _ev(1100, "1", state="resolved")]
    a, b = score(events, [second, first], 2000.0, KNOWN).incidents
    assert a.incident is first
    assert a.resolve_s is None
    assert b.detect_s == 30
    assert [e.alert_id for e in b.collateral] == []


def test_org_specific_incident_needs_the_org():
    """At a named org: an alert elsewhere is collateral; one without a known org is neither."""
    stop = _incident(apis=None, orgs=frozenset({"H1"}))
    events = [_ev(130, "1", api="2201", org="H2"), _ev(140, "2", org="*"), _ev(150, "3")]
    (s,) = score(events, [stop], 1e4, KNOWN).incidents
    assert [e.alert_id for e in s.alerts] == ["3"]
    assert s.detect_s == 50
    assert [e.alert_id for e in s.collateral] == ["1"]


def test_side_apis_are_neither_detection_nor_collateral():
    """2601 reversals caused by the incident: an alert on them is not held against it."""
    network = _incident(side_apis=frozenset({"2601"}))
    events = [_ev(130, "1", api="2601"), _ev(140, "2", api="1901")]
    (s,) = score(events, [network], 1e4, KNOWN).incidents
    assert s.alerts == []
    assert s.detect_s is None
    assert [e.alert_id for e in s.collateral] == ["2"]


def test_an_incident_that_must_not_alert_and_its_rows():
    """The typo: any matching alert is a miss; rows say so, one row per target."""
    typo = _incident(500.0, 500.0, apis=frozenset({"1101"}), orgs=frozenset({"C1"}))
    typo = replace(typo, name="typo", expect_alert=False)
    result = score([_ev(530, "1", api="1101", org="C1")], [_incident(), typo], 1e4, KNOWN)
    table = {r["name"]: r for r in rows(result, 30)}
    assert table["typo: alerts"]["value"] == 1
    assert not table["typo: alerts"]["ok"]
    assert table["x: time to detect"]["value"] == "missed"
    assert table["x: time to resolve"]["value"] == "no alert"
    assert table["false alerts in 30 min of steady traffic"]["ok"]
    assert len(table) == 6


@pytest.mark.parametrize(
    ("fault", "code", "unknown", "duration"),
    [
        (Fault.BUSINESS_ERROR, "BIZ_MBS_HygeiaException", False, 0.2),
        (Fault.HTTP_5XX, "HTTP_STATUS", True, 0.2),
        (Fault.HTML_502, "HTTP_STATUS", True, 0.2),
        (Fault.RESET, "NETWORK", True, 0.2),
        (Fault.HANG, "TIMEOUT_READ", True, 30.0),  # 2207's read timeout, below 0.2 + 30 s
        (None, None, False, 0.2),
    ],
    ids=["business", "http-503", "html-502", "reset", "hang", "none"],
)
def test_faults_become_the_client_records(fault, code, unknown, duration):
    """Each simulator fault on 2207 is recorded with the client's code and unknown rule."""
    model = OutcomeModel(SimulatorConfig(seed=1))
    out = model.outcome("2207", 0.2, fault, FaultConfig(), {"data": {"certno": "1"}})
    assert (out.error_code, out.unknown, out.duration_s) == (code, unknown, duration)


def test_a_hang_shorter_than_the_read_timeout_succeeds_late_and_retries_are_refused():
    """A short hang is a slow success; a fault the client would retry on 1101 is refused."""
    model = OutcomeModel(SimulatorConfig(seed=1))
    out = model.outcome("2207", 0.5, Fault.HANG, FaultConfig(hang_seconds=2.0), {})
    assert out.ok
    assert out.duration_s == 2.5
    with pytest.raises(ValueError, match="retries are not modelled"):
        model.outcome("1101", 0.1, Fault.HTTP_5XX, FaultConfig(), {})


def test_shortened_timeline_end_to_end():
    """A 16-minute timeline: every incident happens as specified, deterministically."""
    incidents, end_s = timeline(steady_min=2, incident_min=1, gap_min=2)
    latency, business, network, stop, typo = incidents
    run = simulate(ORGS, incidents, end_s, seed=3)
    assert run.evaluations == int(end_s // run.interval_s)  # the analyzer's own interval
    busy = run.starts[BUSY]
    assert not [t for t in busy if stop.onset_s <= t < stop.recovery_s]
    assert [t for t in busy if t >= stop.recovery_s]
    assert all(len(run.starts[o.code]) > 0 for o in ORGS)
    clinic = run.starts[CLINIC]
    assert {round(b - a, 6) for a, b in pairwise(clinic)} == {45.0}  # 20 in 15 min
    assert run.errors["1101", "BIZ_MBS_HygeiaException"] == 1  # the typo, nothing else
    assert run.errors["2207", "BIZ_MBS_HygeiaException"] > 0
    failed_2207 = sum(n for (api, code), n in run.errors.items() if api == "2207")
    network_failures = failed_2207 - run.errors["2207", "BIZ_MBS_HygeiaException"]
    unknown = run.errors["2207", "outcome_unknown"]
    assert unknown > 0
    assert 2 * unknown == network_failures
    assert len(run.durations["2601"]) == unknown  # each reversed once (2601 never fails here)
    slow = [d for t, d in run.durations["2207"] if latency.onset_s <= t < latency.recovery_s]
    usual = [d for t, d in run.durations["2207"] if t < latency.onset_s]
    assert sorted(slow)[len(slow) // 2] > 3 * sorted(usual)[len(usual) // 2]
    assert business.onset_s < network.onset_s < typo.onset_s
    assert typo.typo_org == CLINIC
    assert not typo.expect_alert
    again = simulate(ORGS, incidents, end_s, seed=3)
    assert [_what(e) for e in again.events] == [_what(e) for e in run.events]
    assert again.calls == run.calls
