"""record_custom_metric, the original API's gauges, and system metrics."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families


def _families(collector):
    return {f.name: f for f in text_string_to_metric_families(collector.get_prometheus_metrics())}


@pytest.mark.parametrize("kind", ["counter", "gauge", "histogram", "summary"])
def test_custom_metric_types_are_stored_and_exported(collector, kind):
    """Each metric type is stored and exported through prometheus_client."""
    collector.record_custom_metric("his_queue_seconds", 2.5, kind, {"window": "A"}, {"note": "x"})
    collector.record_custom_metric("his_queue_seconds", 1.5, kind, {"window": "A"})
    (first, _) = collector.get_custom_metrics()
    assert (first.name, first.value, first.metric_type) == ("his_queue_seconds", 2.5, kind)
    assert first.additional_data == {"note": "x"}
    family = _families(collector)["his_queue_seconds"]
    samples = {s.name: s.value for s in family.samples if s.labels.get("window") == "A"}
    if kind == "counter":
        assert samples["his_queue_seconds_total"] == 4.0
    elif kind == "gauge":
        assert samples["his_queue_seconds"] == 1.5
    else:
        assert samples["his_queue_seconds_count"] == 2
        assert samples["his_queue_seconds_sum"] == 4.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bad name", 1.0), "invalid metric name"),
        (("ok_name", 1.0, "meter"), "metric_type must be one of"),
        (("ok_name", float("nan")), "value must be finite"),
        (("ok_name", "7"), "value must be a number"),
        (("ok_name", -1.0, "counter"), "counter increment must be >= 0"),
        (("ok_name", 1.0, "gauge", {"bad-label": "x"}), "invalid label name"),
    ],
    ids=["name", "type", "nan", "str", "negative-counter", "label"],
)
def test_custom_metric_rejects_bad_input(collector, args, message):
    """Invalid name, type, value or label raise ValueError naming the problem."""
    with pytest.raises(ValueError, match=message):
        collector.record_custom_metric(*args)


def test_custom_metric_label_set_must_stay_the_same(collector):
    """Changing a metric's type or labels after first use is a ValueError."""
    collector.record_custom_metric("q_depth", 1, "gauge", {"a": "1"})
    with pytest.raises(ValueError, match="was first recorded as gauge"):
        collector.record_custom_metric("q_depth", 1, "gauge", {"b": "1"})


def test_database_connections_and_cache_ratio_feed_seed_gauges(collector):
    """record_database_connections and record_cache_hit_ratio set the original API's gauges."""
    collector.record_database_connections(12, "mysql")
    collector.record_cache_hit_ratio(0.8, "response")
    fam = _families(collector)
    conn = {
        s.labels["connection_type"]: s.value
        for s in fam["medical_insurance_active_connections"].samples
    }
    ratio = {
        s.labels["cache_type"]: s.value for s in fam["medical_insurance_cache_hit_ratio"].samples
    }
    assert conn == {"mysql": 12.0}
    assert ratio == {"response": 0.8}
    with pytest.raises(ValueError, match=r"ratio must be in 0\.\.1"):
        collector.record_cache_hit_ratio(1.5, "response")
    with pytest.raises(ValueError, match="count must be an int >= 0"):
        collector.record_database_connections(-1, "mysql")


def test_system_metrics_from_psutil(collector):
    """Process and system figures come from psutil and are exported as gauges."""
    import os

    import psutil

    m = collector.get_system_metrics()
    assert m["available"] is True
    assert m["process"]["rss_bytes"] > 0
    assert m["process"]["threads"] >= 1
    assert m["system"]["cpu_count"] == psutil.cpu_count()
    assert m["system"]["load_1m"] == pytest.approx(os.getloadavg()[0], abs=5)
    fam = _families(collector)
    assert fam["medical_insurance_process_resident_memory_bytes"].samples[0].value > 0


def test_generate_performance_report_has_every_part(collector):
    """The report dict holds statistics, system metrics, gauges, custom metrics, health."""
    collector.record_api_call("1101", "H1", "success", 12.0)
    collector.record_custom_metric("x", 1)
    collector.record_outcome_unknown("2207", "H1")
    report = collector.generate_performance_report(24)
    assert report["api_statistics"]["total_calls"] == 1
    assert report["system_metrics"]["available"] is True
    assert report["outcome_unknown"] == [{"api_code": "2207", "org_code": "H1", "count": 1}]
    assert report["custom_metrics"][0]["name"] == "x"
    assert set(report["monitoring"]) >= {"errors", "dropped", "pending_calls", "stored_calls"}
