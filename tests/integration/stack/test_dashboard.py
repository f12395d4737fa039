"""The Grafana dashboard and provisioning: in sync with ``misdk rules --dashboard``,
provisioning-ready, counters only inside rate()/increase(), and every query accepted (and
answered) by a real Prometheus."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers import free_port

from medical_insurance_sdk.cli import main
from medical_insurance_sdk.core import MetricConfig, MetricsCollector
from medical_insurance_sdk.rules import (
    DASHBOARD_UID,
    RulesOptions,
    dashboard_queries,
    render_dashboard,
)

ROOT = Path(__file__).resolve().parents[3]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "medical-insurance-sdk.json"
PROMETHEUS = ROOT / "deploy" / "prometheus"
ORG = "H43010500001"

#: Grafana's variables as a test substitutes them: "All" is the regex .*
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__range": "1h",
    "$__interval": "15s",
    "$job": ".*",
    "$api_code": ".*",
    "$org_code": ".*",
}
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def substitute(expr: str, values: dict[str, str] | None = None) -> str:
    """Replace Grafana variables, longest names first; no ``$`` may remain."""
    table = {**GRAFANA_VARIABLES, **(values or {})}
    for name in sorted(table, key=len, reverse=True):
        expr = expr.replace(name, table[name])
    assert "$" not in expr, expr
    return expr


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_shipped_dashboard_is_misdk_rules_output():
    """The shipped JSON equals `misdk rules --dashboard` output with the defaults."""
    assert DASHBOARD.read_text(encoding="utf-8") == render_dashboard(RulesOptions())
    assert main(["rules", "--check", "--out", str(PROMETHEUS), "--dashboard", str(DASHBOARD)]) == 0


def test_dashboard_is_provisioning_ready(dashboard):
    """Fixed uid, no numeric id, every datasource is the ${datasource} variable."""
    assert dashboard["uid"] == DASHBOARD_UID
    assert dashboard.get("id") is None
    refs = [node["datasource"] for node in _walk(dashboard) if "datasource" in node]
    assert len(refs) > 40
    assert all(ref == DATASOURCE for ref in refs), {json.dumps(r) for r in refs}
    datasources = yaml.safe_load((GRAFANA / "provisioning" / "datasources.yml").read_text("utf-8"))
    names = {ds["name"] for ds in datasources["datasources"]} | {
        ds["uid"] for ds in datasources["datasources"]
    }
    text = DASHBOARD.read_text(encoding="utf-8")
    for name in names:
        assert f'"{name}"' not in text, f"datasource {name!r} hard-coded"


def test_template_variables(dashboard):
    """datasource (type datasource) plus job, api_code, org_code from label_values, All=.*"""
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert list(variables) == ["datasource", "job", "api_code", "org_code"]
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("job", "api_code", "org_code"):
        var = variables[name]
        assert var["type"] == "query"
        assert re.fullmatch(rf"label_values\(.+, {name}\)", var["query"]), var["query"]
        assert var["allValue"] == ".*"
        assert var["multi"] is True


def test_panels_have_unique_ids_and_do_not_overlap(dashboard):
    """Grid positions fit 24 columns and no two panels share a cell."""
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0, panel["title"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, panel["title"]
                cells.add((x, y))


def test_required_panels_are_present(dashboard):
    """RED per API, per institution, top error codes, outcome unknown, cache, connections,
    process and system resources and SLO burn rate each have a panel."""
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    exprs = {p["title"]: " ".join(t["expr"] for t in p["targets"]) for p in panels}

    def has(title_part: str, expr_part: str) -> bool:
        return any(title_part in t and expr_part in e for t, e in exprs.items())

    assert has("请求速率（按接口）", "by (api_code)")
    assert has("错误速率（按接口）", "medical_insurance_api_errors_total")
    for q in ("0.5", "0.95", "0.99"):
        assert has("P50 / P95 / P99", f"histogram_quantile({q}, sum by (le, api_code)")
    assert has("按机构", "by (org_code)")
    assert has("错误码 Top", "topk(10")
    assert has("结果未知", "outcome_unknown")
    assert has("缓存命中率", "medical_insurance_cache_hit_ratio")
    assert has("活动连接数", "medical_insurance_active_connections")
    assert has("进程内存", "medical_insurance_process_resident_memory_bytes")
    assert has("系统 CPU", "medical_insurance_system_cpu_percent")
    assert has("错误预算消耗速率", "slo:sli_error:ratio_rate1h")


def _counter_samples() -> set[str]:
    c = MetricsCollector(MetricConfig(prometheus_port=0, background=False))
    names: set[str] = set()
    for family in c.prometheus.registry.collect():
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type in ("histogram", "summary"):
            names |= {f"{family.name}_{s}" for s in ("bucket", "count", "sum")}
    c.shutdown()
    return names


def test_counters_only_inside_rate_or_increase(dashboard):
    """Every counter (and histogram series) of the exposition appears only as the direct
    argument of rate() or increase(), over $__rate_interval or $__range."""
    counters = _counter_samples()
    assert "medical_insurance_api_calls_total" in counters
    used = 0
    for where, expr in dashboard_queries(dashboard):
        if expr.startswith("label_values("):
            continue
        for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
            if match.group() not in counters:
                continue
            used += 1
            before = expr[: match.start()]
            assert re.search(r"\b(rate|increase)\($", before), (where, expr)
            window = re.match(r"(\{[^}]*\})?\[([^\]]+)\]", expr[match.end() :])
            assert window is not None, (where, expr)
            assert window.group(2) in ("$__rate_interval", "$__range"), (where, expr)
    assert used > 15


def test_provisioning_files():
    """The dashboard provider reads files from a path; the datasource is Prometheus with a
    scrape-interval-sized timeInterval."""
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards.yml").read_text("utf-8"))
    assert providers["apiVersion"] == 1
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/")
    datasources = yaml.safe_load((GRAFANA / "provisioning" / "datasources.yml").read_text("utf-8"))
    (ds,) = datasources["datasources"]
    assert ds["type"] == "prometheus"
    prometheus = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    assert ds["jsonData"]["timeInterval"] == prometheus["global"]["scrape_interval"]


def _traffic(c: MetricsCollector) -> None:
    for i in range(20):
        failed = i % 4 == 0
        c.record_api_call(
            "2207",
            ORG,
            "error" if failed else "success",
            800.0,
            error_code="TIMEOUT_READ" if failed else None,
        )
        c.record_api_call("1101", "H43010500002", "success", 30.0)


@pytest.mark.integration
@pytest.mark.slow  # ~10 s: a real Prometheus evaluates every panel query
def test_every_query_is_accepted_and_answers_with_data(dashboard, start_prometheus):
    """Each panel, annotation and variable query runs on a real Prometheus (with the shipped
    recording rules) and the main panels return the recorded series."""
    c = MetricsCollector(
        MetricConfig(prometheus_port=free_port(), prometheus_host="127.0.0.1", background=False)
    )
    try:
        _traffic(c)
        c.record_cache_hit_ratio(0.75, "response")
        c.inc_active_connections("http", 3)
        prom = start_prometheus(
            {"medical-insurance-sdk": [f"127.0.0.1:{c.metrics_port}"]},
            rule_files=[PROMETHEUS / "alerts.yml", PROMETHEUS / "recording.yml"],
        )
        prom.wait_for("medical_insurance_api_calls_total", lambda r: len(r) == 3)
        _traffic(c)
        c.record_outcome_unknown("2207", ORG)
        prom.wait_for("slo:sli_error:ratio_rate1h > -1", lambda r: len(r) == 2)
        prom.wait_for("api_code_org_code:medical_insurance_api_outcome_unknown:increase1h", bool)
        answers: dict[str, list[dict[str, Any]]] = {}
        for where, expr in dashboard_queries(dashboard):
            if expr.startswith("label_values("):
                selector, label = re.fullmatch(r"label_values\((.+), (\w+)\)", expr).groups()
                values = prom.api(f"label/{label}/values", **{"match[]": substitute(selector)})
                answers[where] = [{"value": v} for v in values]
                continue
            status, body = prom.query_status(substitute(expr))
            assert status == 200, (where, body)
            assert body["status"] == "success", (where, body)
            answers[where] = body["data"]["result"]

        def labels(where_part: str, label: str) -> set[str]:
            (key,) = [k for k in answers if where_part in k]
            return {s["metric"][label] for s in answers[key]}

        assert labels("请求速率（按接口） A", "api_code") == {"2207", "1101"}
        assert labels("请求速率（按机构） A", "org_code") == {ORG, "H43010500002"}
        assert labels("P50 / P95 / P99（按接口） B", "api_code") == {"2207", "1101"}
        assert labels("错误码 Top 10", "error_code") == {"TIMEOUT_READ"}
        assert labels("待处理明细", "api_code") == {"2207"}
        assert labels("错误预算消耗速率（按接口） A", "api_code") == {"2207", "1101"}
        assert {a["value"] for a in answers["variable job"]} == {"medical-insurance-sdk"}
        assert {a["value"] for a in answers["variable api_code"]} == {"2207", "1101"}
        assert {a["value"] for a in answers["variable org_code"]} == {ORG, "H43010500002"}
        assert labels("进程内存 A", "instance") == {f"127.0.0.1:{c.metrics_port}"}
        assert labels("缓存命中率 A", "cache_type") == {"response"}
        assert labels("活动连接数 A", "connection_type") == {"http"}
    finally:
        c.shutdown()


@pytest.mark.integration
def test_a_broken_query_would_be_caught(start_prometheus):
    """The acceptance check is real: Prometheus rejects a malformed expression with 400."""
    prom = start_prometheus({})
    status, body = prom.query_status(substitute("sum by (api_code (rate(x[$__rate_interval]))"))
    assert status == 400
    assert body["status"] == "error"
