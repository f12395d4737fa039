"""The fleet: three SDK processes, one Prometheus agent remote-writing to VictoriaMetrics.

Three SDK processes (``fleet_member.py``) call one simulator process through the real
client, each serving its own /metrics (so each is its own ``instance``). A Prometheus in
agent mode scrapes them and remote-writes to VictoriaMetrics; a plain Prometheus scrapes
the same targets. ``PrometheusSource`` over either gives exactly the per-API and per-org
counts of the three collectors summed, and percentiles within the bucket error the
source's module states.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fleet import fleet, launch, simulator_process
from fleet_member import SIMULATOR_CONFIG
from servers import Prometheus, VictoriaMetrics

from medical_insurance_sdk.core import PerformanceAnalyzer, PrometheusSource, SourceError
from medical_insurance_sdk.core.collection.latency_buckets import percentiles
from medical_insurance_sdk.core.collection.rollups import RollupFrame, is_business_error

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

JOB = "medical-insurance-sdk"
QS = (50.0, 90.0, 95.0, 99.0)


def expected_figures(members: list[dict[str, Any]]) -> dict[str, Any]:
    """The members' exact figures summed: per (api, org) counts, durations per API."""
    counts: dict[tuple[str, str], Counter[str]] = {}
    errors: dict[tuple[str, str], Counter[str]] = {}
    durations: dict[str, list[float]] = {}
    latency: dict[tuple[str, str], float] = {}
    for figures in members:
        for key, row in figures["series"].items():
            api, org = key.split("|")
            c = counts.setdefault((api, org), Counter())
            c["calls"] += row["calls"]
            c["successes"] += row["success"]
            for code, n in row["errors"].items():
                errors.setdefault((api, org), Counter())[code] += n
                c["business" if is_business_error(code) else "system"] += n
            c["system"] += row["calls"] - row["success"] - sum(row["errors"].values())
            durations.setdefault(api, []).extend(row["durations"])
            latency[api, org] = latency.get((api, org), 0.0) + sum(row["durations"])
        for key, n in figures["outcome_unknown"].items():
            api, org = key.split("|")
            counts.setdefault((api, org), Counter())["unknown"] += n
    for c in counts.values():
        for name in [k for k, v in c.items() if v == 0]:
            del c[name]
    return {"counts": counts, "errors": errors, "durations": durations, "latency": latency}


def frame_figures(frame: RollupFrame) -> dict[str, Any]:
    """The frame's rows summed per (api, org), and per API's histogram."""
    counts: dict[tuple[str, str], Counter[str]] = {}
    errors: dict[tuple[str, str], Counter[str]] = {}
    latency: dict[tuple[str, str], float] = {}
    hist: dict[str, np.ndarray[Any, Any]] = {}
    for i in range(len(frame)):
        api, org = frame.api_codes[frame.api[i]], frame.org_codes[frame.org[i]]
        c = counts.setdefault((api, org), Counter())
        c["calls"] += int(frame.calls[i])
        c["successes"] += int(frame.successes[i])
        c["business"] += int(frame.business_errors[i])
        c["system"] += int(frame.system_errors[i])
        c["unknown"] += int(frame.unknown_outcomes[i])
        latency[api, org] = latency.get((api, org), 0.0) + float(frame.latency_sum[i])
        lo, hi = frame.err_offsets[i], frame.err_offsets[i + 1]
        for code, n in zip(frame.err_code[lo:hi], frame.err_count[lo:hi], strict=True):
            errors.setdefault((api, org), Counter())[frame.error_codes[code]] += int(n)
        lo, hi = frame.hist_offsets[i], frame.hist_offsets[i + 1]
        row = hist.setdefault(api, np.zeros(len(frame.bounds), dtype=np.int64))
        np.add.at(row, frame.hist_bucket[lo:hi], frame.hist_count[lo:hi])
    for table in (counts, errors):
        for c in table.values():
            for name in [k for k, v in c.items() if v == 0]:
                del c[name]
    return {"counts": counts, "errors": errors, "latency": latency, "histogram": hist}


def check_percentiles(
    durations: list[float], histogram: np.ndarray[Any, Any], bounds: np.ndarray[Any, Any]
) -> None:
    """Each percentile lies in the bucket range of the order statistics it interpolates."""
    values = np.sort(np.array(durations))
    estimates = percentiles(histogram[None, :], bounds, QS)[:, 0]
    lower = np.concatenate(([0.0], bounds[:-1]))
    for q, estimate in zip(QS, estimates, strict=True):
        exact = float(np.percentile(values, q))
        pos = (values.size - 1) * q / 100.0
        below, above = values[int(np.floor(pos))], values[int(np.ceil(pos))]
        lo = lower[np.searchsorted(bounds, below)]
        hi = bounds[np.searchsorted(bounds, above)]
        assert lo <= exact <= hi
        assert lo <= estimate <= hi, (q, exact, estimate, lo, hi)


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict inside a JSON document."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def wait_total(query: Callable[[str], list[dict[str, Any]]], expr: str, total: float) -> None:
    """Poll ``expr`` (a sum) until it equals ``total``."""
    deadline = time.monotonic() + 60
    last: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        last = query(expr)
        if last and float(last[0]["value"][1]) == total:
            return
        time.sleep(0.25)
    raise AssertionError(f"{expr}: expected {total}, last {last}")


def wait_scraped(
    queries: tuple[Callable[[str], list[dict[str, Any]]], ...],
    expected: dict[str, Any],
    instance: str | None = None,
) -> None:
    """Poll each server until every counter's sum (of ``instance``, or of all) equals the
    collectors' figures."""
    counts = expected["counts"].values()
    calls = sum(c["calls"] for c in counts)
    failures = sum(sum(e.values()) for e in expected["errors"].values())
    only = f'instance="{instance}"' if instance else ""
    for query in queries:
        for metric, total in (
            (f"medical_insurance_api_calls_total{{{only}}}", calls),
            (f'medical_insurance_api_duration_seconds_bucket{{le="+Inf",{only}}}', calls),
            (f"medical_insurance_api_errors_total{{{only}}}", failures),
            (
                f"medical_insurance_api_outcome_unknown_total{{{only}}}",
                sum(c["unknown"] for c in counts),
            ),
        ):
            if total:
                wait_total(query, f"sum({metric})", total)


def wait_at_minute_boundary(url: str, instance: str, figures: dict[str, Any]) -> None:
    """Poll until the last minute boundary shows all of ``instance``'s calls."""
    calls = sum(row["calls"] for row in figures["series"].values())
    expr = f'sum(last_over_time(medical_insurance_api_calls_total{{instance="{instance}"}}[10m]))'
    deadline = time.monotonic() + 90
    last: Any = None
    while time.monotonic() < deadline:
        boundary = time.time() // 60 * 60
        last = httpx.get(
            f"{url}/api/v1/query", params={"query": expr, "time": boundary}, timeout=10
        ).json()["data"]["result"]
        if last and float(last[0]["value"][1]) == calls:
            return
        time.sleep(0.5)
    raise AssertionError(f"{url}: {expr} at a minute boundary: expected {calls}, got {last}")


def test_fleet_counts_are_exact_on_victoria_metrics_and_prometheus(
    tmp_path: Path,
    start_prometheus: Callable[..., Prometheus],
    victoria_metrics: VictoriaMetrics,
) -> None:
    """Both stores give the collectors' per-(API, org) counts summed, exactly."""
    began = time.time()
    with (
        simulator_process(SIMULATOR_CONFIG, tmp_path / "simulator") as (base_url, _),
        fleet(base_url) as members,
    ):
        targets = {JOB: [m.target for m in members]}
        server = start_prometheus(targets)
        start_prometheus(targets, agent=True, remote_write=[victoria_metrics.write_url])
        reported = [m.figures() for m in members]
        wait_scraped((server.query, victoria_metrics.query), expected_figures(reported))
        # a restart: member 2's process exits, another takes its port (its instance). The
        # source sees counters at minute boundaries: a process's increments are lost if it
        # restarts in the minute they were scraped, so wait for a boundary to show them.
        for url in (server.url, victoria_metrics.url):
            wait_at_minute_boundary(url, members[2].target, reported[2])
        members[2].stop()
        members.append(launch(base_url, -1, members[2].port))
        reported.append(members[-1].figures())
        wait_scraped(
            (server.query, victoria_metrics.query),
            expected_figures(reported[-1:]),
            instance=members[-1].target,
        )
        expected = expected_figures(reported)
        instances = {r["metric"]["instance"] for r in server.query("up")}
        assert instances == set(targets[JOB])
    until = time.time() + 60
    assert sum(c["unknown"] for c in expected["counts"].values()) == 3
    assert any(c["business"] for c in expected["counts"].values())
    assert any(c["system"] for c in expected["counts"].values())
    for url in (server.url, victoria_metrics.url):
        with PrometheusSource(url) as source:
            frame = source.rollups(began - 120, until)
            only_1101 = source.rollups(began - 120, until, api_code="1101")
        # a window longer than fine_window: hour rows, the restarted instance in minutes
        with PrometheusSource(url, fine_window=60) as source:
            coarse = source.rollups(began - 3700, until)
        assert max(coarse.step) > 1800.0
        for got_frame in (frame, coarse):
            got = frame_figures(got_frame)
            assert got["counts"] == expected["counts"], url
            assert got["errors"] == expected["errors"], url
            assert got["latency"] == pytest.approx(expected["latency"], rel=1e-9)
            for api, durations in expected["durations"].items():
                check_percentiles(durations, got["histogram"][api], got_frame.bounds)
        assert set(frame.step) == {60.0}
        assert set(frame.start % 60) == {0.0}
        # the analyzer over the source: every instance's calls, per API
        minutes = (time.time() - began + 120) / 60
        with PrometheusSource(url) as source:
            analyzer = PerformanceAnalyzer(source)
            overview = analyzer.overview(minutes)
            incidents = analyzer.get_incidents(minutes)
        per_api: Counter[str] = Counter()
        for (api, _), c in expected["counts"].items():
            per_api[api] += c["calls"]
        assert {a.api_code: a.basic_stats.total_calls for a in overview.apis} == per_api
        for incident in incidents:
            key = (incident.api_code, incident.org_code)
            assert incident.calls <= expected["counts"][key]["calls"]
        # misdk report --source prometheus:URL: the same calls in the JSON report
        out = tmp_path / f"report-{url.rsplit(':', 1)[1]}"
        command = ["report", "--lang", "en", "--source", f"prometheus:{url}"]
        command += ["--hours", str(minutes / 60), "--format", "json", "--out", str(out)]
        ran = subprocess.run(
            [sys.executable, "-m", "medical_insurance_sdk.cli", *command],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert ran.returncode == 0, ran.stderr
        (report,) = out.glob("*.json")
        document = json.loads(report.read_text(encoding="utf-8"))
        totals = [d["total_calls"] for d in walk(document) if "api_count" in d]
        assert totals == [sum(per_api.values())]
        assert set(only_1101.api_codes) == {"1101"}
        assert only_1101.total_calls == sum(
            c["calls"] for (api, _), c in expected["counts"].items() if api == "1101"
        )
    with PrometheusSource(server.url, job="another-job") as source:
        assert len(source.rollups(began - 120, until)) == 0  # no data: an empty frame
    with (
        PrometheusSource(victoria_metrics.url, max_series=5) as source,
        pytest.raises(SourceError, match="max_series=5"),
    ):
        source.rollups(began - 120, until)
