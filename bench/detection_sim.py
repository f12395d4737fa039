"""Hospitals and clinics calling the simulated platform in virtual time, alerts evaluated.

A discrete-event loop: every call starts and ends at a virtual time, and the collector's
:class:`ManualClock` is moved to that time before ``record_api_call_start`` /
``record_api_call_end``, so durations, timestamps, calls in flight and windows are all the
same consistent virtual time. The collector is configured with its defaults except what
would touch the real world (no HTTP server, no psutil sample, no real-time thread): its
``run_housekeeping()`` runs every ``collection_interval`` of virtual time, as its
background thread would, and the analyzer's ``evaluate_alerts()`` every evaluation
interval (``analyzer.evaluation_interval``, else ``collection_interval``: what
``start_background_evaluation()`` uses), housekeeping first when both fall on the same
instant. Latency and faults are the simulator's own draws (:class:`FaultPlan`, its default
latency models, deterministic per seed), and each outcome is recorded as the client
records it (:mod:`bench.detection_outcomes`).

Each hospital sends scenarios of the simulator's HIS mix (``simulator.his.DEFAULT_MIX``):
a whole visit (1101 → 2201 → 2203 → 2204 → 2206 → 2207, now and then 2208; an unknown 2207
is reversed with 2601, resent while its own outcome is unknown), a lookup (1101), a
catalog download (1301/1305/1307, half the time 9102) or a dictionary query (1901),
arriving as a Poisson process, the steps of a scenario back to back as ``HisWorker`` runs
them. A clinic sends one person lookup (1101) every ``lookup_every_s`` seconds.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from bench.detection_outcomes import Outcome, OutcomeModel
from bench.detection_score import AlertEvent, Incident
from medical_insurance_sdk.core import (
    ManualClock,
    MetricConfig,
    MetricsCollector,
    PerformanceAlert,
    PerformanceAnalyzer,
)
from medical_insurance_sdk.simulator import FaultPlan, SimulatorConfig
from medical_insurance_sdk.simulator.his import DEFAULT_MIX
from medical_insurance_sdk.simulator.testing import SAMPLE_CERTNO_BAD_CHECK
from medical_insurance_sdk.simulator.workload import Visit, new_visit

__all__ = ["T0", "Org", "Run", "simulate"]

_CATALOGS = ("1301", "1305", "1307")
_REVERSAL_ATTEMPTS = 3
#: Scenario steps: they yield an API code and its input, and get the call's Outcome back.
Scenario = Generator[tuple[str, dict[str, Any]], Outcome, None]


@dataclass(frozen=True)
class Org:
    """One institution's traffic: Poisson visits (hospital) or a regular lookup (clinic)."""

    code: str
    settlements_per_minute: float = 0.0
    lookup_every_s: float = 0.0


@dataclass
class Run:
    """What one simulation produced."""

    events: list[AlertEvent]
    calls: int
    evaluations: int
    interval_s: float
    end_s: float
    #: api_code -> [(start_s, duration_s)] of its successful calls (for the latency check).
    durations: dict[str, list[tuple[float, float]]]
    #: org_code -> the start time of each of its calls.
    starts: dict[str, list[float]]
    #: (api_code, error_code) -> failed calls; "outcome_unknown" counts unknown outcomes.
    errors: Counter[tuple[str, str]]
    #: (api_code, org_code) -> calls.
    volume: Counter[tuple[str, str]]


class _Loop:
    """The event heap in integer nanoseconds, and the clock moved to each event."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.heap: list[tuple[int, int, Callable[[], None]]] = []
        self.seq = itertools.count()
        self.now_ns = 0

    def at(self, seconds: float, action: Callable[[], None]) -> None:
        heapq.heappush(self.heap, (round(seconds * 1e9), next(self.seq), action))

    def run(self, end_s: float) -> None:
        end_ns = round(end_s * 1e9)
        while self.heap and self.heap[0][0] <= end_ns:
            t_ns, _, action = heapq.heappop(self.heap)
            self.now_ns = t_ns
            self.clock.advance((t_ns - self.clock.monotonic_ns()) / 1e9)
            action()

    @property
    def now(self) -> float:
        return self.now_ns / 1e9


def _visit(rng: random.Random, visit: Visit) -> Scenario:
    for api, body in (
        ("1101", visit.person_query()),
        ("2201", visit.registration()),
        ("2203", visit.visit_upload()),
        ("2204", visit.fee_upload()),
        ("2206", visit.settlement()),
    ):
        if not (yield api, body).ok:
            return
    settled = yield "2207", visit.settlement()
    if settled.unknown:
        for _ in range(_REVERSAL_ATTEMPTS):
            if not (yield "2601", {"data": {"omsgid": "", "oinfno": "2207"}}).unknown:
                return
        return
    if settled.ok and rng.random() < 0.03:
        yield "2208", visit.settlement_reversal()


def _scenario(rng: random.Random, serial: int) -> Scenario:
    """One scenario of the HIS mix (as ``HisWorker.step`` draws it)."""
    name = rng.choices(list(DEFAULT_MIX), list(DEFAULT_MIX.values()))[0]
    visit = new_visit(rng, serial)
    if name == "visit":
        yield from _visit(rng, visit)
    elif name == "lookup":
        yield "1101", visit.person_query()
    elif name == "catalog":
        code = rng.choice(_CATALOGS)
        yield code, {"data": {"ver": str(rng.randint(0, 3))}}
        if rng.random() < 0.5:
            yield "9102", {"data": {"file_qury_no": f"CATALOG-{code}", "filename": code}}
    else:
        yield "1901", {"data": {"type": rng.choice(("INSUTYPE", "MED_TYPE"))}}


class _World:
    """The institutions, the simulator's plan and the monitoring under test."""

    def __init__(
        self,
        orgs: Sequence[Org],
        incidents: Sequence[Incident],
        seed: int,
        history_path: str | None,
    ) -> None:
        self.orgs = orgs
        self.incidents = incidents
        self.rng = random.Random(seed)
        self.config = SimulatorConfig(seed=seed)
        self.plan = FaultPlan(seed, self.config.latency, {}, self.config.latency_scale)
        self.model = OutcomeModel(self.config)
        self.clock = ManualClock(T0)
        config = MetricConfig(  # defaults, but no HTTP server, psutil or real-time thread
            prometheus_enabled=False,
            background=False,
            system_metrics_enabled=False,
            history_path=history_path,
        )
        self.collector = MetricsCollector(config, clock=self.clock)
        self.analyzer = PerformanceAnalyzer(self.collector)  # the README's defaults
        self.loop = _Loop(self.clock)
        self.events: list[AlertEvent] = []
        self.stopped: set[str] = set()
        self.typos: set[str] = set()
        self.calls = 0
        self.evaluations = 0
        self.serial = 0
        self.durations: dict[str, list[tuple[float, float]]] = {}
        self.starts: dict[str, list[float]] = {}
        self.errors: Counter[tuple[str, str]] = Counter()
        self.volume: Counter[tuple[str, str]] = Counter()
        self.analyzer.on_alert(self._alerted)

    def _alerted(self, alert: PerformanceAlert) -> None:
        self.events.append(
            AlertEvent(
                self.loop.now,
                alert.alert_id,
                alert.api_code,
                alert.org_code,
                alert.alert_type,
                alert.severity,
                alert.state,
            )
        )

    # -- traffic ---------------------------------------------------------------------------
    def _arrive(self, org: Org) -> None:
        rate = org.settlements_per_minute / 60.0 / DEFAULT_MIX["visit"]
        self.loop.at(self.loop.now + self.rng.expovariate(rate), partial(self._arrive, org))
        if org.code not in self.stopped:
            self.serial += 1
            self._step(org.code, _scenario(self.rng, self.serial), None)

    def _lookup(self, org: Org) -> None:
        self.loop.at(self.loop.now + org.lookup_every_s, partial(self._lookup, org))
        if org.code not in self.stopped:
            self.serial += 1
            self._step(org.code, _scenario_lookup(self.rng, self.serial), None)

    def _step(self, org: str, scenario: Scenario, previous: Outcome | None) -> None:
        if org in self.stopped:
            scenario.close()
            return
        try:
            api, body = next(scenario) if previous is None else scenario.send(previous)
        except StopIteration:
            return
        start = self.loop.now
        call_id = self.collector.record_api_call_start(api, org)
        latency, fault, faults = self.plan.draw(api)
        if api == "1101" and org in self.typos:
            self.typos.discard(org)
            mistyped = {"certno": SAMPLE_CERTNO_BAD_CHECK, "mdtrt_cert_no": SAMPLE_CERTNO_BAD_CHECK}
            typo = {"data": {**body["data"], **mistyped}}
            outcome = self.model.refusal(api, typo, latency)
        else:
            outcome = self.model.outcome(api, latency, fault, faults, body)
        self.calls += 1
        self.volume[api, org] += 1
        self.starts.setdefault(org, []).append(start)
        if outcome.ok:
            self.durations.setdefault(api, []).append((start, outcome.duration_s))
        else:
            self.errors[api, outcome.error_code or ""] += 1
        if outcome.unknown:
            self.errors[api, "outcome_unknown"] += 1

        def end() -> None:
            if outcome.ok:
                self.collector.record_api_call_end(call_id, "success")
            else:
                self.collector.record_api_call_end(call_id, "error", outcome.error_code)
            if outcome.unknown:
                self.collector.record_outcome_unknown(api, org)
            self._step(org, scenario, outcome)

        self.loop.at(start + outcome.duration_s, end)

    # -- incidents and evaluation ----------------------------------------------------------
    def _onset(self, incident: Incident) -> None:
        self.plan.update(incident.faults)
        if incident.stopped_org:
            self.stopped.add(incident.stopped_org)
        if incident.typo_org:
            self.typos.add(incident.typo_org)

    def _recover(self, incident: Incident) -> None:
        self.plan.replace({})
        self.stopped.discard(incident.stopped_org or "")

    def _housekeep(self, interval: float) -> None:
        """What the collector's background thread does every ``collection_interval``."""
        self.loop.at(self.loop.now + interval, partial(self._housekeep, interval))
        self.collector.run_housekeeping()

    def _evaluate(self, interval: float) -> None:
        self.loop.at(self.loop.now + interval, partial(self._evaluate, interval))
        self.evaluations += 1
        self.analyzer.evaluate_alerts()

    def run(self, end_s: float) -> Run:
        source = self.analyzer.evaluation_interval  # as start_background_evaluation()
        interval = float(source or self.collector.config.collection_interval)
        for org in self.orgs:
            if org.settlements_per_minute > 0:
                self.loop.at(0.0, partial(self._arrive, org))
            if org.lookup_every_s > 0:
                self.loop.at(org.lookup_every_s / 3, partial(self._lookup, org))
        for incident in self.incidents:
            self.loop.at(incident.onset_s, partial(self._onset, incident))
            self.loop.at(incident.recovery_s, partial(self._recover, incident))
        every = float(self.collector.config.collection_interval)
        self.loop.at(every, partial(self._housekeep, every))  # first at the same instant
        self.loop.at(interval, partial(self._evaluate, interval))
        try:
            self.loop.run(end_s)
        finally:
            self.collector.shutdown()
        return Run(
            self.events,
            self.calls,
            self.evaluations,
            interval,
            end_s,
            self.durations,
            self.starts,
            self.errors,
            self.volume,
        )


def _scenario_lookup(rng: random.Random, serial: int) -> Scenario:
    yield "1101", new_visit(rng, serial).person_query()


#: A Thursday, 09:30 in China (01:30 UTC): a busy weekday morning.
T0 = 1_796_261_400.0


def simulate(
    orgs: Sequence[Org],
    incidents: Sequence[Incident],
    end_s: float,
    seed: int = 1,
    history_path: str | None = None,
) -> Run:
    """Run the traffic and the incidents for ``end_s`` virtual seconds; alerts as events.

    ``history_path`` turns the collector's history on (off by default, as in the library).
    """
    return _World(orgs, incidents, seed, history_path).run(end_s)
