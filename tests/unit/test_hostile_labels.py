"""connection_type and trace_id are validated like every label before any exposition."""

from __future__ import annotations

import socket

import httpx
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

from medical_insurance_sdk.core import MetricConfig, MetricsCollector
from medical_insurance_sdk.core.collection.labels import OTHER, LabelCache, is_trace_id
from medical_insurance_sdk.core.collection.pending import MAX_CONNECTION_TYPES

GOOD_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
HOSTILE_KINDS = ["\ud800", "a\nb", 'x"}\n# EOF', "\x00", "k" * 500, "  ", ""]
BAD_TRACES = [
    "t" * 129,
    "4bf92f3577b34da6a3ce929d0e0e4736\n",
    "4bf92f3577b34da6\na3ce929d0e0e473",
    "4BF92F3577B34DA6A3CE929D0E0E4736",
    "4bf92f3577b34da6a3ce929d0e0e473",
    "\ud800" * 32,
    "g" * 32,
    12345,
]


def _families(text: str, openmetrics: bool) -> dict[str, object]:
    parse = parse_om if openmetrics else parse_text
    return {f.name: f for f in parse(text)}


def _connections(c: MetricsCollector) -> dict[str, float]:
    family = _families(c.get_prometheus_metrics(), False)["medical_insurance_active_connections"]
    return {s.labels["connection_type"]: s.value for s in family.samples}  # type: ignore[attr-defined]


def _exemplars(c: MetricsCollector) -> list[str]:
    text = c.get_prometheus_metrics(openmetrics=True)
    family = _families(text, True)["medical_insurance_api_duration_seconds"]
    return [
        s.exemplar.labels["trace_id"]
        for s in family.samples  # type: ignore[attr-defined]
        if s.exemplar is not None
    ]


@pytest.mark.parametrize("kind", HOSTILE_KINDS, ids=repr)
def test_hostile_connection_type_keeps_both_formats_parsing(collector, kind):
    """A lone surrogate or control character in connection_type never breaks /metrics."""
    pending = collector.record_api_call_start("1101", "H1", connection_type=kind)
    with collector.track("1101", "H1", connection_type=kind):
        collector.inc_active_connections(kind)
        for openmetrics in (False, True):
            _families(collector.get_prometheus_metrics(openmetrics), openmetrics)
        shown = _connections(collector)
    collector.record_api_call_end(pending, "success")
    assert all(label.isprintable() and len(label) <= 64 for label in shown)
    assert sum(shown.values()) == 3  # two calls in flight and one connection added
    for openmetrics in (False, True):
        _families(collector.get_prometheus_metrics(openmetrics), openmetrics)


def test_hostile_values_keep_the_http_endpoint_serving():
    """After hostile connection types and trace ids, /metrics serves and parses in both formats."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = MetricsCollector(
        MetricConfig(prometheus_port=port, prometheus_host="127.0.0.1", background=False)
    )
    for kind, trace in zip(HOSTILE_KINDS, BAD_TRACES, strict=False):
        c.record_api_call_end(
            c.record_api_call_start("1101", "H1", 0, trace, kind),  # type: ignore[arg-type]
            "success",
        )
    url = f"http://127.0.0.1:{port}/metrics"
    for openmetrics in (False, True):
        accept = "application/openmetrics-text; version=1.0.0" if openmetrics else "text/plain"
        r = httpx.get(url, headers={"Accept": accept}, timeout=5)
        assert r.status_code == 200
        families = _families(r.text, openmetrics)
        assert "medical_insurance_api_duration_seconds" in families
    c.shutdown()


def test_connection_type_is_sanitised_once_per_distinct_value(collector):
    """A changed value is sanitised and counted once; then it is a dict hit on the hot path."""
    for _ in range(100):
        collector.record_api_call_end(
            collector.record_api_call_start("1101", "H1", connection_type="a\nb"), "success"
        )
    assert collector.pending.kinds.clean["a\nb"] == "a b"
    assert collector.monitoring_health()["dropped"]["label_sanitised_connection_type"] == 1
    assert _connections(collector) == {"a b": 0.0}


def test_connection_type_with_personal_data_is_masked_and_never_a_key(collector):
    """An ID number as connection_type is masked in the label and not kept as a raw key."""
    certno = "440106199001011235"
    collector.record_api_call_start("1101", "H1", connection_type=certno)
    shown = _connections(collector)
    assert certno not in str(shown)
    assert certno not in collector.pending.kinds.clean
    assert sum(shown.values()) == 1


def test_connection_types_are_capped_and_the_overflow_counted(collector):
    """Beyond MAX_CONNECTION_TYPES distinct values, calls count under __other__."""
    extra = 5
    for i in range(MAX_CONNECTION_TYPES + extra):
        collector.record_api_call_start("1101", "H1", connection_type=f"kind{i}")
    shown = _connections(collector)
    assert len(shown) == MAX_CONNECTION_TYPES + 1
    assert shown[OTHER] == extra
    assert collector.monitoring_health()["dropped"]["overflow_label_connection_type"] == extra


@pytest.mark.parametrize("kind", ["\ud800", "a\nb", "k" * 65, "", "440106199001011235", 7])
def test_explicit_apis_reject_a_connection_type_that_is_not_clean(collector, kind):
    """_open_channel and record_database_connections raise ValueError, not quoting the value."""
    for call in (
        lambda: collector._open_channel(kind),
        lambda: collector.record_database_connections(1, kind),
    ):
        with pytest.raises(ValueError, match="connection_type") as raised:
            call()
        assert "440106199001011235" not in str(raised.value)
    _families(collector.get_prometheus_metrics(openmetrics=True), True)


@pytest.mark.parametrize("trace", BAD_TRACES, ids=lambda t: repr(t)[:20])
def test_invalid_trace_id_keeps_no_exemplar_and_is_counted(collector, trace):
    """A trace id that is not 32 lowercase hex gives no exemplar and is counted once."""
    with collector.track("1101", "H1", trace_id=trace):
        pass
    collector.record_api_call_end(
        collector.record_api_call_start("2201", "H1", 0, trace), "success"
    )
    for _ in range(3):  # counted when first exposed, not at every scrape
        assert _exemplars(collector) == []
        _families(collector.get_prometheus_metrics(), False)
    assert collector.monitoring_health()["dropped"]["invalid_trace_id"] == 2


def test_valid_trace_id_is_the_exemplar(collector):
    """A W3C trace id becomes the duration histogram's exemplar."""
    with collector.track("1101", "H1", trace_id=GOOD_TRACE):
        pass
    for _ in range(2):
        assert _exemplars(collector) == [GOOD_TRACE]
    assert "invalid_trace_id" not in collector.monitoring_health()["dropped"]
    with collector.track("1101", "H1", trace_id="f" * 32):  # a newer one replaces it
        pass
    assert _exemplars(collector) == ["f" * 32]


def test_channel_record_with_invalid_trace_id_is_dropped_at_exposition(collector):
    """A channel caller's bad trace id is discarded before the exposition, counted once."""
    channel = collector._open_channel("http")
    assert channel is not None
    start = channel.clock()
    bad = "x" * 200 + "\n"
    channel.stage((channel.clock(), start, "1101", "H1", True, None, None, 1, 1, bad))
    channel.stage((channel.clock(), start, "2201", "H1", True, None, None, 1, 1, GOOD_TRACE))
    channel.fold()
    for _ in range(3):
        assert _exemplars(collector) == [GOOD_TRACE]
        _families(collector.get_prometheus_metrics(), False)
    assert collector.monitoring_health()["dropped"]["invalid_trace_id"] == 1


@pytest.mark.parametrize(
    ("value", "ok"),
    [(GOOD_TRACE, True), *((t, False) for t in BAD_TRACES), ("", False), (None, False)],
    ids=lambda v: repr(v)[:20],
)
def test_is_trace_id(value, ok):
    """is_trace_id accepts exactly 32 lowercase hex digits."""
    assert is_trace_id(value) is ok


def test_label_cache_counts_through_on_drop():
    """LabelCache reports sanitising and overflow by name; clean values map to themselves."""
    drops: list[str] = []
    cache = LabelCache("kind", 2, on_drop=drops.append)
    assert cache.resolve("http") == "http"
    assert cache.resolve("a\tb") == "a b"
    assert cache.resolve("third") == OTHER
    assert cache.clean == {"http": "http", "a b": "a b", "a\tb": "a b"}
    assert drops == ["label_sanitised_kind", "overflow_label_kind"]
