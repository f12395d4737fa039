"""/metrics scrape cost, and the client's import time.

The same 40 APIs x 200 institutions (8 000 histogram series, caps raised to hold them)
are held twice: by a MetricsCollector (its /metrics WSGI app, ``core/export/scrape.py``) and by
a plain prometheus_client ``CollectorRegistry`` whose ``Counter``/``Histogram``/``Summary``
objects observed the same calls (with the same exemplars), served by ``make_wsgi_app``.
Created series are off in prometheus_client during the run (``disable_created_metrics``)
so both expose the same lines. Each GET is timed in process (no socket), for the text
format and OpenMetrics, plain and gzip:

* a full scrape, every series changed since the previous one: <= 0.1x prometheus_client;
* a scrape after a fold that changed 5 % of the series: <= 0.02x prometheus_client.

The folds that change the series run before each timed scrape (they are the store's
work, paid per call, see ``bench_collector``). Then the import time of
``import medical_insurance_sdk`` beside ``import httpx``, each in fresh interpreters.
"""

from __future__ import annotations

import gzip
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    Summary,
    disable_created_metrics,
    enable_created_metrics,
    make_wsgi_app,
)

from medical_insurance_sdk.core import MetricConfig, MetricsCollector
from medical_insurance_sdk.core.export.scrape import make_scrape_app

__all__ = ["run"]

N_APIS, N_ORGS = 40, 200
CALLS_PER_SERIES = 4
CHANGED = 0.05
FULL_BUDGET, PARTIAL_BUDGET = 0.1, 0.02
IMPORT_RUNS = 7
ROUNDS = 4
OM_ACCEPT = "application/openmetrics-text; version=1.0.0; charset=utf-8"
FORMATS = {
    "text": {},
    "text+gzip": {"HTTP_ACCEPT_ENCODING": "gzip"},
    "OpenMetrics": {"HTTP_ACCEPT": OM_ACCEPT},
    "OpenMetrics+gzip": {"HTTP_ACCEPT": OM_ACCEPT, "HTTP_ACCEPT_ENCODING": "gzip"},
}
Call = tuple[str, str, float, bool, str | None, int, int, str]
App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

APIS = [f"{2000 + i}" for i in range(N_APIS)]
ORGS = [f"H430105{i:05d}" for i in range(N_ORGS)]
SERIES = [(a, o) for a in APIS for o in ORGS]


def _calls(rng: random.Random, series: list[tuple[str, str]], per_series: int) -> list[Call]:
    out: list[Call] = []
    for api, org in series:
        for _ in range(per_series):
            ok = rng.random() > 0.03
            out.append(
                (
                    api,
                    org,
                    rng.lognormvariate(-1.2, 1.0),
                    ok,
                    None if ok else rng.choice(("TIMEOUT_READ", "BIZ_-1")),
                    rng.randrange(200, 4000),
                    rng.randrange(200, 40000),
                    f"{rng.getrandbits(128):032x}",
                )
            )
    return out


def _stage(collector: MetricsCollector, calls: list[Call]) -> None:
    """Stage the calls as the client does (StagedCall fields: clock readings in ns first),
    fold them, and check that none was refused as malformed."""
    stage, store = collector.store.staging.extend, collector.store
    end_ns = collector.clock.monotonic_ns()
    for api, org, dur, ok, err, req, resp, trace in calls:
        stage((end_ns, end_ns - round(dur * 1e9), api, org, ok, err, None, req, resp, trace))
    store.fold()
    assert not collector.health.dropped(), collector.health.dropped()
    assert not collector.health.errors(), collector.health.errors()


class _Ours:
    def __init__(self) -> None:
        self.collector = MetricsCollector(
            MetricConfig(
                prometheus_port=0,
                background=False,
                system_metrics_enabled=False,
                max_org_codes=N_ORGS + 10,
                max_series_per_metric=4 * len(SERIES),
                max_memory_metrics=200_000,
            )
        )
        assert self.collector.prometheus is not None
        self.app: App = make_scrape_app(self.collector.prometheus.exposed)

    def add(self, calls: list[Call]) -> None:
        _stage(self.collector, calls)


class _Bare:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        reg = self.registry = CollectorRegistry()
        self.calls = Counter(
            "medical_insurance_api_calls", "calls", ["api_code", "org_code", "status"], registry=reg
        )
        self.duration = Histogram(
            "medical_insurance_api_duration_seconds",
            "duration",
            ["api_code", "org_code"],
            registry=reg,
            buckets=buckets,
        )
        self.errors = Counter(
            "medical_insurance_api_errors",
            "errors",
            ["api_code", "org_code", "error_code"],
            registry=reg,
        )
        self.req = Summary(
            "medical_insurance_api_request_size_bytes", "req", ["api_code"], registry=reg
        )
        self.resp = Summary(
            "medical_insurance_api_response_size_bytes", "resp", ["api_code"], registry=reg
        )
        self.app: App = make_wsgi_app(reg)

    def add(self, calls: list[Call]) -> None:
        for api, org, dur, ok, err, req, resp, trace in calls:
            self.calls.labels(api, org, "success" if ok else "error").inc()
            self.duration.labels(api, org).observe(dur, exemplar={"trace_id": trace})
            if not ok:
                self.errors.labels(api, org, err or "unknown").inc()
            self.req.labels(api).observe(req)
            self.resp.labels(api).observe(resp)


def _get(app: App, extra: dict[str, str]) -> bytes:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics", "QUERY_STRING": "", **extra}
    return b"".join(app(environ, lambda status, headers: None))


def _timed(app: App, extra: dict[str, str]) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    body = _get(app, extra)
    return (time.perf_counter() - t0) * 1e3, body


def _import_ms(module: str) -> float:
    """Best wall time of ``import module`` in a fresh interpreter, in ms."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(IMPORT_RUNS)
    ]
    return min(runs) * 1e3


def _heavy_imports() -> list[str]:
    code = (
        "import sys, medical_insurance_sdk; "
        "print(' '.join(m for m in ('numpy', 'prometheus_client', "
        "'medical_insurance_sdk.core.performance_analyzer') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


def _row(name: str, value: Any, unit: str, budget: str = "", ok: bool = True) -> dict[str, Any]:
    return {"name": name, "value": value, "unit": unit, "budget": budget, "ok": ok}


def _scrapes(ours: _Ours, bare: _Bare, rng: random.Random) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    n_changed = int(len(SERIES) * CHANGED)
    for label, extra in FORMATS.items():
        # Rounds interleave prometheus_client and ours, so the shared machine's load hits
        # both: each round a full change, prometheus_client, then three 5 % changes (the
        # first of them compresses every histogram chunk again, reported apart).
        bare_times: list[float] = []
        full: list[float] = []
        part: list[float] = []
        first: list[float] = []
        full_body = body = bare_body = b""
        for _ in range(ROUNDS):
            ours.add(_calls(rng, SERIES, 1))  # every series changed
            ms, full_body = _timed(ours.app, extra)
            full.append(ms)
            ms, bare_body = _timed(bare.app, extra)
            bare_times.append(ms)
            for k in range(3):
                ours.add(_calls(rng, rng.sample(SERIES, n_changed), 1))
                ms, body = _timed(ours.app, extra)
                (part if k else first).append(ms)
        bare_ms = min(bare_times)
        f, p = min(full) / bare_ms, min(part) / bare_ms
        rows += [
            _row(f"{label}: prometheus_client make_wsgi_app", bare_ms, "ms"),
            _row(f"{label}: ours, every series changed", min(full), "ms"),
            _row(f"{label}: ours, 5 % of series changed ({n_changed})", min(part), "ms"),
            _row(f"{label}: ours, the first 5 % after a full change", min(first), "ms"),
            _row(
                f"{label}: full / prometheus_client", f, "×", f"<= {FULL_BUDGET}", f <= FULL_BUDGET
            ),
            _row(
                f"{label}: 5 % changed / prometheus_client",
                p,
                "×",
                f"<= {PARTIAL_BUDGET}",
                p <= PARTIAL_BUDGET,
            ),
        ]
        if "gzip" in label:
            size = len(gzip.decompress(body))
            rows += [
                _row(
                    f"{label}: body, ours, chunks (of {size / 1e6:.1f} MB)", len(body) / 1e6, "MB"
                ),
                _row(f"{label}: body, ours, one stream", len(full_body) / 1e6, "MB"),
                _row(f"{label}: body, prometheus_client (level 9)", len(bare_body) / 1e6, "MB"),
            ]
    return rows


def _default_caps(rng: random.Random) -> list[dict[str, Any]]:
    """Ours at the default caps (2 000 series per metric): 40 APIs x 50 institutions."""
    series = [(a, o) for a in APIS for o in ORGS[:50]]
    c = MetricsCollector(
        MetricConfig(prometheus_port=0, background=False, system_metrics_enabled=False)
    )
    assert c.prometheus is not None
    app: App = make_scrape_app(c.prometheus.exposed)

    def add(chosen: list[tuple[str, str]]) -> None:
        _stage(c, _calls(rng, chosen, 1))

    add(series)
    full, part = [], []
    for _ in range(5):
        add(series)
        full.append(_timed(app, {})[0])
    for _ in range(5):
        add(rng.sample(series, int(len(series) * CHANGED)))
        part.append(_timed(app, {})[0])
    c.shutdown()
    return [
        _row("default caps (2 000 series), text: every series changed", min(full), "ms"),
        _row("default caps (2 000 series), text: 5 % changed", min(part), "ms"),
    ]


def run() -> list[dict[str, Any]]:
    """Measure and return the table rows."""
    rng = random.Random(7)
    disable_created_metrics()  # type: ignore[no-untyped-call]
    try:
        ours = _Ours()
        bare = _Bare(ours.collector.config.duration_buckets)
        calls = _calls(rng, SERIES, CALLS_PER_SERIES)
        ours.add(calls)
        bare.add(calls)
        histogram_lines = _get(bare.app, {}).count(b"_duration_seconds_count{")
        rows = [_row("histogram series scraped", histogram_lines, "")]
        rows += _scrapes(ours, bare, rng)
        assert ours.collector.prometheus is not None
        exporter = ours.collector.prometheus.exporter
        assert exporter is not None
        cache = exporter.exposition_cache
        total = cache.rows_rendered + cache.rows_reused
        rows.append(_row("series served from the cache", cache.rows_reused / total * 100, "%"))
        rows.append(_row("cache memory (text, OpenMetrics, chunks)", cache.nbytes() / 1e6, "MB"))
        ours.collector.shutdown()
        rows += _default_caps(rng)
    finally:
        enable_created_metrics()  # type: ignore[no-untyped-call]
    ours_ms, httpx_ms = _import_ms("medical_insurance_sdk"), _import_ms("httpx")
    heavy = _heavy_imports()
    rows += [
        _row("import httpx", httpx_ms, "ms"),
        _row("import medical_insurance_sdk", ours_ms, "ms"),
        _row(
            "heavy modules imported by it (numpy, prometheus_client, analyzer)",
            " ".join(heavy) or "none",
            "",
            "none",
            not heavy,
        ),
    ]
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
