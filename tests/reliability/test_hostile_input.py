"""Hostile input: property-based tests over every public recording method."""

from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from suite_constants import STRESS

from medical_insurance_sdk.core import MetricConfig, MetricsCollector, monitor_api_call

LABEL_BREAKERS = ['"', "\\", "\n", "}{", '"}\n# EOF', "\x00", "\u202e", "a" * 5000, ""]
hashable = st.one_of(
    st.none(),
    st.text(),
    st.sampled_from(LABEL_BREAKERS),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(max_size=20),
)
anything = st.one_of(
    hashable,
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.none(), st.text(max_size=3)
)
SETTINGS = settings(
    max_examples=600 if STRESS else 60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _collector() -> MetricsCollector:
    return MetricsCollector(MetricConfig(prometheus_port=0, background=False, fold_batch_size=7))


def _parses(c: MetricsCollector) -> int:
    """Parse both exposition formats; return the recorded calls they show."""
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om

    list(parse_om(c.get_prometheus_metrics(openmetrics=True)))
    families = list(text_string_to_metric_families(c.get_prometheus_metrics()))
    calls = next(f for f in families if f.name == "medical_insurance_api_calls")
    return int(sum(s.value for s in calls.samples if s.name.endswith("_total")))


@SETTINGS
@given(st.lists(st.tuples(anything, anything, anything, anything, anything, anything), max_size=12))
def test_hot_path_never_raises_and_exposition_parses(calls):
    """start/end with arbitrary values never raise, and every call is counted once."""
    c = _collector()
    for api, org, status, code, message, size in calls:
        call_id = c.record_api_call_start(api, org, request_size=size)  # type: ignore[arg-type]
        c.record_api_call_end(call_id, status, code, message, size)  # type: ignore[arg-type]
    assert _parses(c) == len(calls) == c.get_api_statistics(60)["total_calls"]
    c.shutdown()


@SETTINGS
@given(st.lists(st.tuples(anything, anything), max_size=10))
def test_unknown_and_repeated_call_ids_never_raise(ids):
    """Ending ids that were never started (any type) is counted, never raised."""
    c = _collector()
    real = c.record_api_call_start("1101", "H1")
    for call_id, status in ids:
        c.record_api_call_end(call_id, status)  # type: ignore[arg-type]
    c.record_api_call_end(real, "success")
    c.record_api_call_end(real, "success")
    stats = c.get_api_statistics(60)
    assert stats["total_calls"] == 1 + sum(1 for i, _ in ids if i == real)
    assert c.health.errors() == {}
    c.shutdown()


@SETTINGS
@given(anything, anything, anything, numbers, anything, anything, numbers)
def test_record_api_call_raises_only_value_error(api, org, status, duration, code, msg, ts):
    """The explicit API either records the call or raises ValueError, nothing else."""
    c = _collector()
    try:
        c.record_api_call(
            api, org, status, duration, error_code=code, error_message=msg, timestamp=ts
        )  # type: ignore[arg-type]
    except ValueError:
        assert c.get_api_statistics(60)["total_calls"] == 0
    else:
        assert isinstance(duration, (int, float))
        assert math.isfinite(duration)
        assert duration >= 0
    _parses(c)
    c.shutdown()


@SETTINGS
@given(anything, numbers, anything, st.one_of(st.none(), st.dictionaries(hashable, anything)))
def test_record_custom_metric_raises_only_value_error(name, value, kind, labels):
    """record_custom_metric records or raises ValueError; the exposition still parses."""
    c = _collector()
    with contextlib.suppress(ValueError):
        c.record_custom_metric(name, value, kind, labels)  # type: ignore[arg-type]
    _parses(c)
    c.shutdown()


@SETTINGS
@given(anything, anything, st.sampled_from([ValueError, KeyError, RuntimeError, None]))
def test_track_and_decorator_with_arbitrary_codes(api, org, exc_type):
    """track() and the decorator record the call whatever the codes, and re-raise as is."""
    c = _collector()
    boom = exc_type("boom") if exc_type is not None else None

    @monitor_api_call(collector=c)
    def call(api_code: object, org_code: object) -> None:
        if boom is not None:
            raise boom

    def tracked() -> None:
        with c.track(api, org):  # type: ignore[arg-type]
            if boom is not None:
                raise boom

    for run in (lambda: call(api, org), tracked):
        if boom is None:
            run()
        else:
            with pytest.raises(exc_type) as raised:
                run()
            assert raised.value is boom
    assert _parses(c) == 2
    c.shutdown()


@SETTINGS
@given(numbers, anything)
def test_gauge_setters_raise_only_value_error(value, label):
    """The gauge setters validate: ValueError or recorded; the hot-path one never raises."""
    c = _collector()
    for setter in (c.record_cache_hit_ratio, c.record_database_connections):
        with contextlib.suppress(ValueError):
            setter(value, label)  # type: ignore[arg-type]
    c.inc_active_connections(label, value)  # type: ignore[arg-type]
    c.record_outcome_unknown(label, label)  # type: ignore[arg-type]
    _parses(c)
    c.shutdown()


@SETTINGS
@given(st.lists(st.tuples(anything, anything), max_size=12))
def test_arbitrary_connection_types_and_trace_ids_never_break_the_exposition(calls):
    """Any connection_type and trace_id: start/track never raise; both formats still parse."""
    c = _collector()
    for kind, trace in calls:
        call_id = c.record_api_call_start("1101", "H1", 0, trace, kind)  # type: ignore[arg-type]
        with c.track("2201", "H1", trace_id=trace, connection_type=kind):  # type: ignore[arg-type]
            c.inc_active_connections(kind)  # type: ignore[arg-type]
            _parses(c)
        c.record_api_call_end(call_id, "success")
    assert _parses(c) == 2 * len(calls)
    assert c.health.errors() == {}
    c.shutdown()
