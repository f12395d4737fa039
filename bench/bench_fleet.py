"""PrometheusSource over VictoriaMetrics: 24 hours of a 40-API × 20-org fleet in <= 2 s.

A VictoriaMetrics (Debian's ``victoria-metrics``, ``make bench`` installs it) on a free
loopback port is loaded through its import API (``/api/v1/import``, JSON lines with
millisecond timestamps) with 24 hours and 10 minutes of the SDK's series as one
process scraped every 60 s would leave them: 500 calls/s spread over 40 APIs × 20 orgs,
2 % errors, lognormal latencies in the default buckets (800 × 21 series, 1450 samples
each, about 23 M samples). Then the 24-hour window is read (best of 3) and the per-API
totals the overview needs are summed from the frame; the counts are checked against the
samples (they must be exact). ``PerformanceAnalyzer`` does not take a source on this
branch yet, so ``source.rollups`` + ``frame.totals`` is timed: what its overview reads.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core import PerformanceAnalyzer
from medical_insurance_sdk.core.history.prometheus_source import PrometheusSource
from medical_insurance_sdk.core.runtime.config import DEFAULT_DURATION_BUCKETS

__all__ = ["run"]

N_APIS, N_ORGS = 40, 20
CALLS_PER_SECOND = 500.0
ERROR_RATE = 0.02
SCRAPE = 60  # seconds between samples
HOURS = 24
BUDGET_S = 2.0
JOB, INSTANCE = "medical-insurance-sdk", "10.0.0.1:9100"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _victoria_metrics(binary: str) -> Iterator[str]:
    """A VictoriaMetrics on a free loopback port with its own storage; yields its URL."""
    with tempfile.TemporaryDirectory(prefix="misdk-bench-vm-") as workdir:
        port = _free_port()
        log = Path(workdir) / "vm.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    binary,
                    f"-storageDataPath={workdir}/data",
                    f"-httpListenAddr=127.0.0.1:{port}",
                    "-retentionPeriod=2y",
                    "-search.latencyOffset=0s",
                    "-loggerLevel=WARN",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"victoria-metrics did not start: {log.read_text()}")
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=60)


def _counters(rng: np.random.Generator, points: int) -> dict[str, npt.NDArray[np.int64]]:
    """Cumulative counters per (series, sample): calls, errors, histogram buckets."""
    series = N_APIS * N_ORGS
    per_sample = CALLS_PER_SECOND * SCRAPE / series
    calls = rng.poisson(per_sample, size=(series, points)).astype(np.int64)
    errors = rng.binomial(calls, ERROR_RATE).astype(np.int64)
    bounds = np.append(np.array(DEFAULT_DURATION_BUCKETS), np.inf)
    # lognormal latency (median 150 ms, sigma 0.8), per-API slowdown factor
    slow = np.exp(rng.normal(0.0, 0.5, size=N_APIS)).repeat(N_ORGS)
    cdf = np.array(
        [
            [
                0.5 * (1 + math.erf((math.log(b / (0.15 * f))) / (0.8 * math.sqrt(2))))
                for b in bounds
            ]
            for f in slow
        ]
    )
    probs = np.diff(cdf, axis=1, prepend=0.0)
    probs[:, -1] = 1.0 - probs[:, :-1].sum(axis=1)
    buckets = np.stack(
        [rng.multinomial(calls[s], probs[s]) for s in range(series)]
    )  # (series, points, bounds)
    mids = np.append((bounds[:-1] + np.concatenate(([0.0], bounds[:-2]))) / 2, 90.0)
    return {
        "calls": calls.cumsum(axis=1),
        "errors": errors.cumsum(axis=1),
        "buckets": buckets.cumsum(axis=2).cumsum(axis=1),
        "latency": (buckets * mids).sum(axis=2).cumsum(axis=1),
    }


def _lines(
    counters: dict[str, Any], timestamps: list[int], api: int, apis: list[str], orgs: list[str]
) -> str:
    """JSON lines of one API's series (every org) for ``/api/v1/import``."""
    les = [repr(float(b)) for b in DEFAULT_DURATION_BUCKETS] + ["+Inf"]
    out: list[str] = []

    def line(labels: dict[str, str], values: npt.NDArray[Any]) -> None:
        metric = {"job": JOB, "instance": INSTANCE, **labels}
        out.append(
            json.dumps({"metric": metric, "values": values.tolist(), "timestamps": timestamps})
        )

    for o, org in enumerate(orgs):
        s = api * N_ORGS + o
        base = {"api_code": apis[api], "org_code": org}
        calls, errors = counters["calls"][s], counters["errors"][s]
        line({"__name__": "medical_insurance_api_calls_total", **base, "status": "error"}, errors)
        line(
            {"__name__": "medical_insurance_api_calls_total", **base, "status": "success"},
            calls - errors,
        )
        line(
            {
                "__name__": "medical_insurance_api_errors_total",
                **base,
                "error_code": "TIMEOUT_READ",
            },
            errors,
        )
        for b, le in enumerate(les):
            line(
                {"__name__": "medical_insurance_api_duration_seconds_bucket", **base, "le": le},
                counters["buckets"][s, :, b],
            )
        line(
            {"__name__": "medical_insurance_api_duration_seconds_sum", **base},
            np.round(counters["latency"][s], 3),
        )
        line({"__name__": "medical_insurance_api_duration_seconds_count", **base}, calls)
    return "\n".join(out) + "\n"


def run() -> list[dict[str, Any]]:
    """Load VictoriaMetrics, time the 24-hour read; rows ``{name, value, unit, budget, ok}``."""
    binary = shutil.which("victoria-metrics")
    if binary is None:
        raise RuntimeError("victoria-metrics is not installed: run `make servers` (root)")
    now = time.time()
    first = (math.floor(now / SCRAPE) - HOURS * 60 - 10) * SCRAPE + 15  # scrapes at :15
    timestamps = list(range(int(first) * 1000, int(now) * 1000, SCRAPE * 1000))
    rng = np.random.default_rng(7)
    counters = _counters(rng, len(timestamps))
    apis = [f"{2000 + i}" for i in range(N_APIS)]
    orgs = [f"H430105{i:05d}" for i in range(N_ORGS)]
    with _victoria_metrics(binary) as url:
        load_started = time.perf_counter()
        with httpx.Client(timeout=300) as http:
            for api in range(N_APIS):
                body = _lines(counters, timestamps, api, apis, orgs)
                http.post(f"{url}/api/v1/import", content=body).raise_for_status()
            http.get(f"{url}/internal/force_flush").raise_for_status()
        load_s = time.perf_counter() - load_started
        samples = len(timestamps) * N_APIS * N_ORGS * (5 + len(DEFAULT_DURATION_BUCKETS))
        with PrometheusSource(url, job=JOB) as source:
            best = math.inf
            overview = None
            for _ in range(3):
                analyzer = PerformanceAnalyzer(source)  # a new one: nothing cached
                started = time.perf_counter()
                overview = analyzer.overview(HOURS * 60.0)
                best = min(best, time.perf_counter() - started)
            assert overview is not None
    # the expected calls: every sample after the window's first whole minute, up to now
    since = overview.timestamp - HOURS * 3600.0
    ts = np.array(timestamps) / 1000.0
    inside = np.flatnonzero((ts > math.ceil(since / 60) * 60) & (ts <= overview.timestamp))
    before, last = inside[0] - 1, inside[-1]
    expected = int((counters["calls"][:, last] - counters["calls"][:, before]).sum())
    exact = overview.total_calls == expected
    return [
        {
            "name": f"VictoriaMetrics import, {samples / 1e6:.1f} M samples",
            "value": load_s,
            "unit": "s",
            "budget": "-",
            "ok": True,
        },
        {
            "name": "PerformanceAnalyzer(PrometheusSource(VictoriaMetrics)).overview(24 h)",
            "value": best,
            "unit": "s",
            "budget": f"<= {BUDGET_S:g}",
            "ok": best <= BUDGET_S,
        },
        {
            "name": f"  its calls exact ({expected} calls, {len(overview.apis)} APIs)",
            "value": overview.total_calls - expected,
            "unit": "diff",
            "budget": "== 0",
            "ok": exact,
        },
    ]


if __name__ == "__main__":  # pragma: no cover
    for row in run():
        print(row)
