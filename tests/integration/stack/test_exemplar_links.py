"""From a latency spike to its traces: the exemplars a real Prometheus stores from /metrics
carry exactly the label the provisioned Grafana datasource links, and the link it builds
from each is the trace's page."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from servers import free_port

from medical_insurance_sdk.core import MetricConfig, MetricsCollector
from medical_insurance_sdk.rules.grafana_datasources import DatasourceOptions, render_datasources

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
DATASOURCES = ROOT / "deploy" / "grafana" / "provisioning" / "datasources.yml"


def grafana_link(provisioned_url: str, value: str) -> str:
    """The link Grafana opens: ``$$`` read as ``$``, then ``${__value.raw}`` replaced."""
    return provisioned_url.replace("$$", "$").replace("${__value.raw}", value)


@pytest.mark.parametrize(
    "datasources",
    [
        DATASOURCES.read_text(encoding="utf-8"),
        render_datasources(DatasourceOptions(trace_url="https://apm.example/trace/{trace_id}")),
    ],
    ids=["shipped", "apm-template"],
)
def test_stored_exemplars_carry_the_linked_label(start_prometheus, datasources: str):
    """query_exemplars returns trace_id labels only, the destination's name; each link is
    the template with the trace id in place of the placeholder."""
    c = MetricsCollector(
        MetricConfig(prometheus_port=free_port(), prometheus_host="127.0.0.1", background=False)
    )
    traces = [f"{i:032x}" for i in range(1, 11)]
    for trace in traces:
        with c.track("2207", "H43010500001", trace_id=trace):
            pass
    prom = start_prometheus({"medical-insurance-sdk": [f"127.0.0.1:{c.metrics_port}"]})
    prom.wait_for("medical_insurance_api_duration_seconds_count", lambda r: len(r) == 1)
    data = prom.api(
        "query_exemplars",
        query='medical_insurance_api_duration_seconds_bucket{api_code="2207"}',
        start="0",
        end="9999999999",
    )
    c.shutdown()
    exemplars = [e for series in data for e in series["exemplars"]]
    assert exemplars
    (ds,) = yaml.safe_load(datasources)["datasources"]
    (link,) = [d for d in ds["jsonData"]["exemplarTraceIdDestinations"] if "url" in d]
    for exemplar in exemplars:
        assert set(exemplar["labels"]) == {link["name"]}
        trace = exemplar["labels"][link["name"]]
        assert trace in traces
        opened = grafana_link(link["url"], trace)
        assert opened.endswith("/trace/" + trace)
        assert "$" not in opened
        assert "{" not in opened
