"""Detection quality: does the alerting catch real incidents, quickly, and only them?

Four hospitals and a clinic call the simulated platform; the monitoring is what the README
recommends (``MetricsCollector`` and ``PerformanceAnalyzer(collector)`` with their defaults,
alerts evaluated every evaluation interval as ``start_background_evaluation()`` does,
``on_alert`` collecting every fire, escalation and resolve). Timeline: 30 minutes of steady
traffic, then one incident after another, each followed by its recovery and a quiet gap:

1. 2207 five times slower for 3 minutes (p50 about 200 → 1000 ms, p95 about 700 →
   3500 ms: below the settlement class's static 5 s threshold);
2. 20 % business refusals on 2207 for 3 minutes;
3. 20 % network failures on 2207 for 3 minutes (HTTP 503 and 502 pages, connection
   resets, hangs ending in the client's read timeout; each an unknown outcome reversed
   with 2601);
4. the busy hospital stops calling for 3 minutes (its HIS or network is down), the others
   go on;
5. one mistyped ID number (one 1101 business refusal) at the clinic that makes exactly
   20 lookups in 15 minutes.

Targets: no alert in steady traffic; incidents 1–4 each detected (an alert on the touched
API, and at the stopped hospital for 4) at most 60 s after the onset and every such alert
resolved at most 120 s after the recovery; no alert for the typo; no collateral alert on
an API or institution the incident did not touch. Scoring: :mod:`bench.detection_score`.

**Accelerated, with honest clocks**: the real client against the simulator's HTTP server
would spend real minutes per simulated minute (its latencies are real sleeps), and
accelerating it is not honest: the client reads the collector's one monotonic clock at
each call's start and end, so the overlapping calls of several hospitals cannot each see
their own virtual latency. The run is therefore a virtual-time event loop
(:mod:`bench.detection_sim`) over the simulator's own latency and fault draws
(``FaultPlan``, seeded), its platform answers and the client's own error translation and
classification (:mod:`bench.detection_outcomes`;
``tests/integration/test_bench_detection_client.py`` checks that the real client against
the simulator records each modelled fault the same way). The collector runs on a
:class:`ManualClock` moved to each call's start and end, so every timestamp, duration and
window the collector and analyzer see is the same virtual time. About 59 000 calls over
142 virtual minutes take about 5 s.

``python -m bench.bench_detection`` prints the table (``--history``: with the collector's
history on, which is off by default; ``-v``: every alert with its fire and resolve times);
``python -m bench`` includes the rows.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.detection_score import (
    DETECT_WITHIN_S,
    RESOLVE_WITHIN_S,
    Incident,
    IncidentScore,
    Score,
    score,
)
from bench.detection_sim import Org, Run, simulate

__all__ = ["BUSY", "CLINIC", "ORGS", "print_table", "rows", "run", "timeline"]

BUSY = "H43010500001"
CLINIC = "H43010500104"
#: ~40 settlements a minute at the busy hospital; the clinic: one 1101 every 45 s.
ORGS = (
    Org(BUSY, settlements_per_minute=40.0),
    Org("H43010500002", settlements_per_minute=12.0),
    Org("H43010500003", settlements_per_minute=6.0),
    Org("H43010500004", settlements_per_minute=3.0),
    Org(CLINIC, lookup_every_s=45.0),
)
_S2207 = frozenset({"2207"})
#: Onsets fall this far into an evaluation interval (half of the default 60 s).
ONSET_PHASE_S = 30.0
NETWORK_FAULTS = {"http_5xx_rate": 0.08, "html_502_rate": 0.02, "reset_rate": 0.06}


def timeline(
    steady_min: float = 30.0, incident_min: float = 3.0, gap_min: float = 20.0
) -> tuple[list[Incident], float]:
    """The incidents (onset order) and the end of the run, in seconds from the start."""
    specs: list[dict[str, Any]] = [
        {"name": "latency x5 on 2207", "apis": _S2207, "faults": {"2207": {"slowdown": 5.0}}},
        {
            "name": "20% business errors on 2207",
            "apis": _S2207,
            "faults": {"2207": {"business_error_rate": 0.2}},
        },
        {
            "name": "20% network errors on 2207",
            "apis": _S2207,
            "faults": {"2207": {**NETWORK_FAULTS, "hang_rate": 0.055}},
            "side_apis": frozenset({"2601"}),  # the reversals of the unknown outcomes
        },
        {
            "name": "traffic stop at the busy hospital",
            "apis": None,
            "orgs": frozenset({BUSY}),
            "stopped_org": BUSY,
        },
    ]
    incidents, t = [], steady_min * 60.0 + ONSET_PHASE_S
    for spec in specs:
        incidents.append(
            Incident(
                onset_s=t,
                recovery_s=t + incident_min * 60.0,
                orgs=spec.pop("orgs", None),
                **spec,
            )
        )
        t += (incident_min + gap_min) * 60.0
    incidents.append(
        Incident(
            "one typo at the 20-call clinic (1101)",
            t,
            t,
            frozenset({"1101"}),
            frozenset({CLINIC}),
            typo_org=CLINIC,
            expect_alert=False,
        )
    )
    return incidents, t + gap_min * 60.0


def _secs(value: float | None, missing: str) -> float | str:
    return missing if value is None else round(value, 1)


def rows(result: Score, steady_min: float) -> list[dict[str, Any]]:
    """One row per target: ``{name, value, unit, budget, ok}``."""
    out = [
        {
            "name": f"false alerts in {steady_min:g} min of steady traffic",
            "value": len(result.false_alerts),
            "unit": "",
            "budget": "0",
            "ok": not result.false_alerts,
        }
    ]
    for s in result.incidents:
        name = s.incident.name
        if not s.incident.expect_alert:
            out.append(
                {
                    "name": f"{name}: alerts",
                    "value": len(s.alerts),
                    "unit": "",
                    "budget": "0",
                    "ok": not s.alerts,
                }
            )
        else:
            out += [
                {
                    "name": f"{name}: time to detect",
                    "value": _secs(s.detect_s, "missed"),
                    "unit": "s",
                    "budget": f"<= {DETECT_WITHIN_S:g}",
                    "ok": s.detected,
                },
                {
                    "name": f"{name}: time to resolve",
                    "value": _secs(s.resolve_s, "open" if s.alerts else "no alert"),
                    "unit": "s",
                    "budget": f"<= {RESOLVE_WITHIN_S:g}",
                    "ok": s.resolved,
                },
            ]
        out.append(
            {
                "name": f"{name}: collateral alerts",
                "value": len(s.collateral),
                "unit": "",
                "budget": "0",
                "ok": not s.collateral,
            }
        )
    return out


def _fmt(value: float | None, missing: str) -> str:
    return missing if value is None else f"{value:.0f} s"


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def _line(s: IncidentScore) -> str:
    i = s.incident
    if i.expect_alert:
        detect = ("yes " if s.detected else "NO ") + _fmt(s.detect_s, "(none)")
        resolve = ("yes " if s.resolved else "NO ") + _fmt(
            s.resolve_s, "(still open)" if s.alerts else "(n/a)"
        )
    else:
        detect = "yes (no alert)" if not s.alerts else f"NO ({len(s.alerts)} alerts)"
        resolve = "-"
    return (
        f"{i.name:<38}{_clock(i.onset_s):>7}  {detect:<16}{resolve:<18}"
        f"{len(s.collateral):>4}  {len(s.alerts)}: "
        + "; ".join(ep.label(i.onset_s) for ep in s.alerts[:3])
    )


def _latency(run: Run, api: str, since: float, until: float) -> str:
    ms = sorted(d * 1000 for t, d in run.durations.get(api, []) if since <= t < until)
    if len(ms) < 20:
        return "n/a"
    q = statistics.quantiles(ms, n=20)
    return f"p50 {statistics.median(ms):.0f} ms, p95 {q[18]:.0f} ms"


def print_table(result: Score, run: Run, steady_min: float, verbose: bool = False) -> None:
    """The detection table, with what the run was (calls, evaluations, 2207 latency).

    ``verbose``: every alert of each incident, fired from the onset and resolved from the
    recovery.
    """
    first = result.incidents[0].incident
    print(
        f"detection: {run.calls} calls over {run.end_s / 60:.0f} virtual minutes, "
        f"{run.evaluations} evaluations every {run.interval_s:g} s; 2207 steady "
        f"{_latency(run, '2207', 0, first.onset_s)}, x5 "
        f"{_latency(run, '2207', first.onset_s, first.recovery_s)}; 2207 at {BUSY}: "
        f"{run.volume['2207', BUSY] / (run.end_s / 60):.1f}/min (incidents included)"
    )
    print(
        f"{'incident':<38}{'onset':>7}  {'detected <=60s':<16}{'resolved <=120s':<18}"
        f"{'coll':>4}  alerts (api/org type severity, from onset)"
    )
    false = "; ".join(ep.label() for ep in result.false_alerts[:3])
    count = len(result.false_alerts)
    print(f"{'steady traffic':<38}{_clock(0):>7}  false alerts: {count}  {false}")
    for s in result.incidents:
        print(_line(s))
        i = s.incident
        for ep in s.alerts if verbose else []:
            print(f"{'':<48}alert: {ep.label(i.onset_s, i.recovery_s)}")
        for ep in s.collateral if verbose else s.collateral[:4]:
            print(f"{'':<48}collateral: {ep.label(i.onset_s, i.recovery_s)}")


def run(
    steady_min: float = 30.0,
    gap_min: float = 20.0,
    seed: int = 1,
    history: bool = False,
    verbose: bool = False,
) -> list[dict[str, Any]]:
    """Run the timeline, print the table; rows ``{name, value, unit, budget, ok}``.

    ``history`` turns the collector's history on (a file in a temporary directory);
    ``verbose`` lists every alert.
    """
    incidents, end_s = timeline(steady_min, gap_min=gap_min)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "history.sqlite") if history else None
        result_run = simulate(ORGS, incidents, end_s, seed, history_path=path)
    result = score(result_run.events, incidents, end_s, [o.code for o in ORGS])
    print_table(result, result_run, steady_min, verbose)
    return rows(result, steady_min)


if __name__ == "__main__":
    table = run(history="--history" in sys.argv[1:], verbose="-v" in sys.argv[1:])
    for r in table:
        mark = "yes" if r["ok"] else "NO"
        print(f"{r['name']:<58}{r['value']!s:>10}  {r['unit']:<2}{r['budget']:>8}  {mark}")
    sys.exit(0 if all(r["ok"] for r in table) else 1)
