"""Scoring alert events against a timeline of incidents.

Each alert (one ``alert_id``) becomes an :class:`Episode`: the time of its first ``active``
event (fired) and of its ``resolved`` event. Times are seconds from the timeline's start.
The timeline is cut into segments: steady traffic before the first onset, then each
incident from its onset to the next one's (the last to the end). Per incident:

* an alert **matches** it when its API is one the incident touches and, for an incident
  at named institutions, its org is one of them;
* **detected**: a matching alert fired in its segment at most ``DETECT_WITHIN_S`` after the
  onset (``detect_s`` is the first such delay, shown even when late);
* **resolved**: every matching alert that was active at the onset or fired in the segment
  resolved at most ``RESOLVE_WITHIN_S`` after the recovery (``resolve_s`` is the last
  resolve's delay; None when one is still active at the segment's end or none fired);
* **collateral**: an alert fired in the segment on an API the incident does not touch, or
  at an institution it does not touch (an alert without one of the timeline's
  institutions on a touched API, or on one of its ``side_apis``, is neither a detection
  nor collateral);
* for an incident that must not alert (``expect_alert=False``), every matching alert.

Alerts fired during steady traffic are false alerts.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DETECT_WITHIN_S",
    "RESOLVE_WITHIN_S",
    "AlertEvent",
    "Episode",
    "Incident",
    "IncidentScore",
    "Score",
    "episodes",
    "score",
]

DETECT_WITHIN_S = 60.0
RESOLVE_WITHIN_S = 120.0


@dataclass(frozen=True)
class AlertEvent:
    """One alert callback, at the virtual time it was delivered (seconds from the start)."""

    time_s: float
    alert_id: str
    api_code: str
    org_code: str
    alert_type: str
    severity: str
    state: str  # 'active' (fired or escalated) | 'resolved'


@dataclass(frozen=True)
class Episode:
    """One alert from firing to resolving."""

    alert_id: str
    api_code: str
    org_code: str
    alert_type: str
    severity: str  # the highest seen
    fired_s: float
    resolved_s: float | None

    def label(self, onset_s: float = 0.0, recovery_s: float | None = None) -> str:
        """``2207/H43010500001 success_rate critical +30s`` (fired, relative to ``onset_s``);
        with ``recovery_s``, `` resolved +90s`` after it (or `` open``)."""
        text = (
            f"{self.api_code}/{self.org_code} {self.alert_type} {self.severity} "
            f"{self.fired_s - onset_s:+.0f}s"
        )
        if recovery_s is None:
            return text
        if self.resolved_s is None:
            return text + " open"
        return text + f" resolved {self.resolved_s - recovery_s:+.0f}s"


@dataclass(frozen=True)
class Incident:
    """One incident of the timeline and what it touches.

    ``faults`` are merged into the simulator's fault plan during ``[onset_s, recovery_s)``;
    ``stopped_org`` makes no call at all then; ``typo_org``'s next 1101 after the onset
    carries a mistyped ID number. ``apis``/``orgs`` (None: any) are the touched series;
    ``side_apis`` are APIs whose traffic exists or changes only as a consequence (2601
    reversals of unknown 2207 outcomes): an alert on them is neither a detection nor
    collateral.
    """

    name: str
    onset_s: float
    recovery_s: float
    apis: frozenset[str] | None
    orgs: frozenset[str] | None
    faults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    stopped_org: str | None = None
    typo_org: str | None = None
    expect_alert: bool = True
    side_apis: frozenset[str] = frozenset()

    def matches(self, episode: Episode) -> bool:
        """The alert is on a touched API (and touched org, when the incident names some)."""
        api_ok = self.apis is None or episode.api_code in self.apis
        return api_ok and (self.orgs is None or episode.org_code in self.orgs)

    def collateral(self, episode: Episode, known_orgs: Collection[str]) -> bool:
        """The alert is on an API, or at an institution, that the incident does not touch."""
        if episode.api_code in self.side_apis:
            return False
        if self.apis is not None and episode.api_code not in self.apis:
            return True
        return (
            self.orgs is not None
            and episode.org_code in known_orgs
            and episode.org_code not in self.orgs
        )


@dataclass(frozen=True)
class IncidentScore:
    """How the alerting did on one incident."""

    incident: Incident
    detect_s: float | None
    resolve_s: float | None
    alerts: list[Episode]
    collateral: list[Episode]

    @property
    def detected(self) -> bool:
        """A matching alert fired within ``DETECT_WITHIN_S`` of the onset."""
        return self.detect_s is not None and self.detect_s <= DETECT_WITHIN_S

    @property
    def resolved(self) -> bool:
        """Every matching alert resolved within ``RESOLVE_WITHIN_S`` of the recovery."""
        return self.resolve_s is not None and self.resolve_s <= RESOLVE_WITHIN_S


@dataclass(frozen=True)
class Score:
    """False alerts in steady traffic and one score per incident."""

    false_alerts: list[Episode]
    incidents: list[IncidentScore]


def episodes(events: Sequence[AlertEvent]) -> list[Episode]:
    """One episode per alert id, in firing order."""
    found: dict[str, Episode] = {}
    rank = {"warning": 0, "critical": 1}
    for e in sorted(events, key=lambda e: e.time_s):
        ep = found.get(e.alert_id)
        if ep is None:
            if e.state == "active":
                found[e.alert_id] = Episode(
                    e.alert_id, e.api_code, e.org_code, e.alert_type, e.severity, e.time_s, None
                )
            continue
        if ep.resolved_s is not None:
            continue
        if e.state == "resolved":
            found[e.alert_id] = _with(ep, resolved_s=e.time_s)
        elif rank.get(e.severity, 0) > rank.get(ep.severity, 0):
            found[e.alert_id] = _with(ep, severity=e.severity)
    return sorted(found.values(), key=lambda ep: (ep.fired_s, ep.alert_id))


def _with(ep: Episode, **changes: Any) -> Episode:
    return Episode(**{**ep.__dict__, **changes})


def _score_one(
    incident: Incident, eps: list[Episode], seg_end: float, known_orgs: Collection[str]
) -> IncidentScore:
    onset = incident.onset_s
    inside = [ep for ep in eps if onset <= ep.fired_s < seg_end]
    fired = [ep for ep in inside if incident.matches(ep)]
    open_at_onset = [
        ep
        for ep in eps
        if ep.fired_s < onset
        and (ep.resolved_s is None or ep.resolved_s > onset)
        and incident.matches(ep)
    ]
    detect_s = min((ep.fired_s - onset for ep in fired), default=None)
    relevant = open_at_onset + fired
    resolve_s: float | None = None
    if relevant and all(ep.resolved_s is not None and ep.resolved_s < seg_end for ep in relevant):
        resolve_s = max(float(ep.resolved_s or 0.0) for ep in relevant) - incident.recovery_s
    collateral = [ep for ep in inside if incident.collateral(ep, known_orgs)]
    return IncidentScore(incident, detect_s, resolve_s, fired, collateral)


def score(
    events: Sequence[AlertEvent],
    incidents: Sequence[Incident],
    end_s: float,
    known_orgs: Collection[str],
) -> Score:
    """Score ``events`` against ``incidents`` (in onset order) over ``[0, end_s)``."""
    eps = episodes(events)
    ordered = sorted(incidents, key=lambda i: i.onset_s)
    first = ordered[0].onset_s if ordered else end_s
    false_alerts = [ep for ep in eps if ep.fired_s < first]
    ends = [i.onset_s for i in ordered[1:]] + [end_s]
    scores = [
        _score_one(incident, eps, seg_end, known_orgs)
        for incident, seg_end in zip(ordered, ends, strict=True)
    ]
    return Score(false_alerts, scores)
