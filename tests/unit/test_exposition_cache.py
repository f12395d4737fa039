"""The cached /metrics rendering equals prometheus_client's, byte for byte, and is incremental."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import make_wsgi_app
from prometheus_client.exposition import generate_latest as generate_text
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.samples import Exemplar as PromExemplar

from medical_insurance_sdk.core import MetricConfig, MetricsCollector
from medical_insurance_sdk.core.export.scrape import (
    TEXT,
    ExpositionFormat,
    make_scrape_app,
    render_exposition,
    render_gzip,
)
from medical_insurance_sdk.core.export.series_rows import changed_rows
from medical_insurance_sdk.core.export.series_text import (
    CounterLines,
    FamilySpec,
    HistogramLines,
    SummaryLines,
    escape_label_value,
    exemplar_text,
)
from medical_insurance_sdk.core.runtime.config import DEFAULT_DURATION_BUCKETS

OM = ExpositionFormat(openmetrics=True)
LES = [repr(float(b)) for b in DEFAULT_DURATION_BUCKETS] + ["+Inf"]
#: Label values that need escaping or are unusual: quotes, backslash, newline, unicode,
#: and the characters our templates use (``%``, braces).
TRICKY = st.text(
    alphabet=st.sampled_from(['"', "\\", "\n", "%", "{", "}", "a", "医", "保", "😀", " ", "="]),
    max_size=8,
)
LABEL = st.one_of(st.text(max_size=12), TRICKY)
NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1e-300, 5e-324, 1e16, 1e6, 999999.9, 123456789.0, 1.5e300]),
)
COUNT = st.one_of(st.integers(0, 10), st.integers(999_990, 1_000_010), st.integers(0, 2**62))


class _Metrics:
    def __init__(self, metrics: list[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> list[Metric]:
        return self._metrics


def _sample_lines(family: Metric, openmetrics: bool) -> bytes:
    """prometheus_client's lines of ``family`` without its HELP/TYPE lines and EOF."""
    render = generate_openmetrics if openmetrics else generate_text
    lines = render(_Metrics([family])).split(b"\n")
    return b"".join(line + b"\n" for line in lines if line and not line.startswith(b"# "))


def _ours(labels: list[str], lines: Any) -> list[bytes]:
    return [escape_label_value(labels[i]).encode() for i in lines.order]


@settings(max_examples=300, deadline=None)
@given(
    labels=st.tuples(LABEL, LABEL),
    steps=st.lists(COUNT, min_size=len(LES), max_size=len(LES)),
    total=NUMBER,
    marks=st.lists(
        st.one_of(st.none(), st.tuples(LABEL, NUMBER, st.floats(0, 1e11))),
        min_size=len(LES),
        max_size=len(LES),
    ),
)
def test_histogram_lines_equal_prometheus_client(labels, steps, total, marks):
    """A histogram series' lines equal prometheus_client's, text and OpenMetrics with exemplars."""
    cumulative, running = [], 0
    for step in steps:
        running = min(running + step, 2**63 - 1)
        cumulative.append(running)
    spec = FamilySpec("medical_insurance_api_duration_seconds", ("api_code", "org_code"))
    family = HistogramMetricFamily(spec.name, "d", labels=spec.labelnames)
    buckets: list[Any] = []
    for le, count, mark in zip(LES, cumulative, marks, strict=True):
        if mark is None:
            buckets.append((le, float(count)))
        else:
            buckets.append((le, float(count), PromExemplar({"trace_id": mark[0]}, *mark[1:])))
    family.add_metric(list(labels), buckets, total)
    lines = HistogramLines(spec, LES)
    esc = _ours(list(labels), lines)
    texts = [b"" if m is None else exemplar_text(*m) for m in marks]
    with_marks = texts if any(m is not None for m in marks) else None
    assert lines.render(esc, cumulative, total) == _sample_lines(family, False)
    assert lines.render(esc, cumulative, total, with_marks) == _sample_lines(family, True)


@settings(max_examples=300, deadline=None)
@given(labels=st.tuples(LABEL, LABEL, LABEL), count=COUNT, total=NUMBER)
def test_counter_and_summary_lines_equal_prometheus_client(labels, count, total):
    """Counter and summary lines (labels written sorted by name) equal prometheus_client's."""
    spec = FamilySpec("medical_insurance_api_errors", ("api_code", "org_code", "error_code"))
    counter = CounterMetricFamily(spec.name, "e", labels=spec.labelnames)
    counter.add_metric(list(labels), float(count))
    lines = CounterLines(spec)
    ours = lines.render(_ours(list(labels), lines), count)
    assert ours == _sample_lines(counter, False) == _sample_lines(counter, True)
    sspec = FamilySpec("medical_insurance_api_request_size_bytes", ("api_code",))
    summary = SummaryMetricFamily(sspec.name, "s", labels=sspec.labelnames)
    summary.add_metric([labels[0]], count, total)
    slines = SummaryLines(sspec)
    ours = slines.render(_ours([labels[0]], slines), count, total)
    assert ours == _sample_lines(summary, False) == _sample_lines(summary, True)


CODE = st.one_of(
    st.sampled_from(["1101", "2207", "9001"]), TRICKY.filter(bool), st.text(min_size=1, max_size=6)
)
CALL = st.tuples(
    CODE,  # api
    st.sampled_from(["H1", "H2", 'H"3', "医院\\4"]),  # org
    st.booleans(),  # success
    st.floats(0, 1e10),  # duration ms
    st.one_of(st.none(), CODE),  # error code
    st.one_of(st.none(), st.text(max_size=10), TRICKY),  # trace id
)


def _record(c: MetricsCollector, calls: list[tuple[Any, ...]]) -> None:
    for api, org, ok, ms, err, trace in calls:
        status = "success" if ok else "error"
        if trace:  # a traced call: an exemplar
            call_id = c.record_api_call_start(api, org, trace_id=trace)
            c.record_api_call_end(call_id, status, error_code=err, response_size=len(trace))
        else:
            c.record_api_call(api, org, status, ms, error_code=err, request_size=int(ms) % 999)


@pytest.fixture
def fresh() -> Iterator[MetricsCollector]:
    """A collector without psutil figures (their values move between two renderings)."""
    c = MetricsCollector(
        MetricConfig(prometheus_port=0, background=False, system_metrics_enabled=False)
    )
    yield c
    c.shutdown()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rounds=st.lists(st.lists(CALL, max_size=25), min_size=1, max_size=4))
def test_scrape_equals_prometheus_client_over_random_states(rounds):
    """After each batch of calls, every rendering equals prometheus_client's over the registry."""
    c = MetricsCollector(
        MetricConfig(prometheus_port=0, background=False, system_metrics_enabled=False)
    )
    try:
        registry = c.prometheus.exposed
        c.record_cache_hit_ratio(0.5, "response")
        for calls in [[], *rounds]:  # the first state has empty families
            _record(c, calls)
            text, om = generate_text(registry), generate_openmetrics(registry)
            assert render_exposition(registry, TEXT) == text
            assert render_exposition(registry, OM) == om
            assert gzip.decompress(render_gzip(registry, TEXT)) == text
            assert gzip.decompress(render_gzip(registry, OM)) == om
            assert c.get_prometheus_metrics() == text.decode()
            assert c.get_prometheus_metrics(openmetrics=True) == om.decode()
    finally:
        c.shutdown()


@pytest.mark.parametrize(
    "setup",
    ["histogram_without_org", "caps_overflow", "custom_metrics", "foreign_registry"],
)
def test_scrape_equals_prometheus_client_for_configurations(setup):
    """Histograms without org, __other__ overflow, custom metrics, a registry with more in it."""
    from prometheus_client import CollectorRegistry, Gauge

    config = MetricConfig(prometheus_port=0, background=False, system_metrics_enabled=False)
    registry = None
    if setup == "histogram_without_org":
        config = config.replace(histogram_by_org=False)
    elif setup == "caps_overflow":
        config = config.replace(max_api_codes=2, max_series_per_metric=3)
    elif setup == "foreign_registry":
        registry = CollectorRegistry(target_info={"site": 'h"n'})
        Gauge("before_ours", "registered first", registry=registry).set(float("nan"))
    c = MetricsCollector(config, registry=registry)
    try:
        calls = [
            (f"{1100 + i}", f"H{i % 3}", i % 4 != 0, 10.0 * i, "E", f"t{i}") for i in range(12)
        ]
        _record(c, calls)
        if setup == "custom_metrics":
            c.record_custom_metric("queue_depth", 3.0, labels={"queue": "结算"})
            c.record_custom_metric("payload_ms", 12.5, metric_type="histogram")
        exposed = c.prometheus.exposed
        for _ in range(2):  # a full render, then one from the cache
            assert render_exposition(exposed, TEXT) == generate_text(exposed)
            assert render_exposition(exposed, OM) == generate_openmetrics(exposed)
            assert gzip.decompress(render_gzip(exposed, OM)) == generate_openmetrics(exposed)
            _record(c, calls[:2])
    finally:
        c.shutdown()


def test_series_beyond_the_cap_fold_into_other_without_losing_calls():
    """Past max_series, calls fold into __other__ per status and per error code, none lost."""
    c = MetricsCollector(
        MetricConfig(
            prometheus_port=0,
            background=False,
            system_metrics_enabled=False,
            max_series_per_metric=2,
        )
    )
    try:
        for i in range(10):
            c.record_api_call(f"{1100 + i}", "H1", "error", 5.0, error_code=f"E{i}")
            c.record_api_call(f"{1100 + i}", "H1", "success", 5.0)
        registry = c.prometheus.exposed
        assert render_exposition(registry, TEXT) == generate_text(registry)
        assert c.health.errors() == {}
        calls = errors = 0.0
        for metric in registry.collect():
            for sample in metric.samples:
                if sample.name == "medical_insurance_api_calls_total":
                    calls += sample.value
                elif sample.name == "medical_insurance_api_errors_total":
                    errors += sample.value
        assert (calls, errors) == (20.0, 10.0)
    finally:
        c.shutdown()


def test_only_changed_series_are_rendered_again(fresh):
    """A scrape re-renders the series a fold touched since the last scrape, and no other."""
    _record(fresh, [(f"{2000 + i}", "H1", True, 5.0, None, "t") for i in range(30)])
    registry = fresh.prometheus.exposed
    cache = fresh.prometheus.exporter.exposition_cache
    render_exposition(registry, TEXT)
    before = cache.rows_rendered
    fresh.record_api_call("2003", "H1", "success", 7.0)
    assert render_exposition(registry, TEXT) == generate_text(registry)
    # one series each of calls, duration, request and response size
    assert cache.rows_rendered - before == 4
    render_exposition(registry, TEXT)
    assert cache.rows_rendered - before == 4
    assert cache.rows_reused > 0


def test_fold_marks_the_rows_it_touched(fresh):
    """Each fold is a generation; changed_rows lists exactly the rows folds touched since."""
    _record(fresh, [("1101", "H1", True, 5.0, None, None), ("2207", "H2", False, 9.0, "E", None)])
    fresh.store.fold()
    agg = fresh.prometheus.aggregates
    since = agg.generation
    assert changed_rows(agg, "duration", since) == []
    fresh.record_api_call("2207", "H2", "error", 3.0, error_code="E")
    fresh.store.fold()
    assert agg.generation == since + 1
    assert changed_rows(agg, "duration", since) == [1]
    assert changed_rows(agg, "errors", since) == [0]
    assert changed_rows(agg, "calls", since) == [1]
    assert changed_rows(agg, "duration", 0) == [0, 1]


@pytest.mark.parametrize("changed", [1.0, 0.02], ids=["one-stream", "chunks"])
def test_gzip_body_is_one_valid_gzip_member(fresh, changed):
    """The gzip body is one member with a valid CRC and size, in both compression regimes."""
    calls = [(f"{2000 + i}", f"H{j}", True, 5.0, None, "t") for i in range(20) for j in range(5)]
    _record(fresh, calls)
    registry = fresh.prometheus.exposed
    render_gzip(registry, OM)  # every series new: one stream
    _record(fresh, calls[: max(1, int(len(calls) * changed))])
    body = render_gzip(registry, OM)
    reader = zlib.decompressobj(wbits=31)  # gzip framing: checks CRC-32 and ISIZE
    assert reader.decompress(body) == generate_openmetrics(registry)
    assert reader.eof
    assert reader.unused_data == b""  # one member, nothing after it
    if shutil.which("gzip"):
        test = subprocess.run(["gzip", "-t"], input=body, capture_output=True, check=False)
        assert test.returncode == 0, test.stderr


ACCEPTS = [
    None,
    "text/plain",
    "text/plain; version=0.0.4",
    "text/plain; version=1.0.0; escaping=underscores",
    "text/plain; version=1.0.0; escaping=allow-utf-8",
    "text/plain; version=1.0.0; escaping=dots",
    "application/openmetrics-text",
    "application/openmetrics-text; version=1.0.0",
    "application/openmetrics-text; version=1.0.0; escaping=allow-utf-8",
    "application/openmetrics-text; version=2.0.0",
    "application/openmetrics-text; version=1.0.0; escaping=values",
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;"
    "escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
]


def _call(app: Any, **environ: str) -> tuple[str, list[tuple[str, str]], bytes]:
    got: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        got["status"], got["headers"] = status, headers

    base = {"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics", "QUERY_STRING": ""}
    body = b"".join(app({**base, **environ}, start_response))
    if dict(got["headers"]).get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return got["status"], got["headers"], body


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("encoding", [None, "gzip", "br, gzip;q=0.5", "identity"])
def test_app_answers_like_make_wsgi_app(fresh, accept, encoding):
    """Status, headers and (decompressed) body equal make_wsgi_app's for every negotiation."""
    _record(fresh, [("1101", "H1", True, 5.0, None, "t1"), ("2207", 'a"b', False, 1e9, "E", None)])
    registry = fresh.prometheus.exposed
    environ = {}
    if accept is not None:
        environ["HTTP_ACCEPT"] = accept
    if encoding is not None:
        environ["HTTP_ACCEPT_ENCODING"] = encoding
    assert _call(make_scrape_app(registry), **environ) == _call(make_wsgi_app(registry), **environ)


@pytest.mark.parametrize(
    "environ",
    [
        {"REQUEST_METHOD": "HEAD"},
        {"REQUEST_METHOD": "OPTIONS"},
        {"REQUEST_METHOD": "POST"},
        {"PATH_INFO": "/favicon.ico"},
        {"QUERY_STRING": "name[]=medical_insurance_api_calls_total"},
        {
            "QUERY_STRING": "name[]=medical_insurance_api_duration_seconds_bucket",
            "HTTP_ACCEPT_ENCODING": "gzip",
        },
    ],
    ids=["head", "options", "post", "favicon", "name-filter", "name-filter-gzip"],
)
def test_other_requests_answer_like_make_wsgi_app(fresh, environ):
    """HEAD, OPTIONS, other methods, the favicon and name[] filters answer as make_wsgi_app."""
    _record(fresh, [("1101", "H1", True, 5.0, None, "t1")])
    registry = fresh.prometheus.exposed
    assert _call(make_scrape_app(registry), **environ) == _call(make_wsgi_app(registry), **environ)


def test_metrics_server_serves_from_the_cache():
    """The built-in /metrics server renders from the exposition cache, gzip included."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = MetricsCollector(
        MetricConfig(
            prometheus_port=port,
            prometheus_host="127.0.0.1",
            background=False,
            system_metrics_enabled=False,
        )
    )
    try:
        _record(c, [("1101", "H1", True, 5.0, None, "t1")])
        cache = c.prometheus.exporter.exposition_cache
        url = f"http://127.0.0.1:{c.metrics_port}/metrics"
        first = httpx.get(url, headers={"Accept-Encoding": "gzip"})
        second = httpx.get(url, headers={"Accept-Encoding": "gzip"})
        assert first.headers["content-encoding"] == "gzip"
        assert second.content == generate_text(c.prometheus.exposed)
        assert cache.rows_reused >= 4  # the second scrape reused the first one's series
    finally:
        c.shutdown()


def test_import_leaves_numpy_prometheus_and_analyzer_out():
    """`import medical_insurance_sdk` loads no numpy, prometheus_client or analyzer."""
    heavy = ["numpy", "prometheus_client", "medical_insurance_sdk.core.performance_analyzer"]
    code = f"import sys, medical_insurance_sdk; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_core_names_still_import_lazily():
    """The core package's exported names resolve on first use (PEP 562)."""
    code = (
        "import sys; from medical_insurance_sdk import core; "
        "assert 'numpy' not in sys.modules; "
        "from medical_insurance_sdk.core import MetricsCollector, PerformanceAnalyzer; "
        "print(MetricsCollector.__module__, PerformanceAnalyzer.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [
        "medical_insurance_sdk.core.metrics_collector",
        "medical_insurance_sdk.core.performance_analyzer",
    ]
