"""Grafana's datasource provisioning ``deploy/grafana/provisioning/datasources.yml``.

Generated (``misdk rules --datasources PATH``) so that the Prometheus datasource links the
duration histogram's exemplars to their traces: ``exemplarTraceIdDestinations`` names the
exemplar label the SDK writes (``trace_id``) and either a URL template (an APM's trace
page) or the uid of a Grafana tracing datasource (Tempo, Jaeger, ...). The shipped file is
the output with the defaults: a Jaeger UI on ``localhost:16686``, the all-in-one image that
also takes the OTLP export of ``localhost:4318``.

A trace URL template is ``https://apm.example/trace/{trace_id}`` (the placeholder of
``misdk explain --trace-url``) or Grafana's own ``${__value.raw}``; either is written as
Grafana's. :func:`check_trace_url` rejects anything else with a ``ValueError`` naming the
problem. Grafana expands environment variables (``$NAME``, ``${NAME}``) in provisioning
files and reads ``$$`` as a literal ``$``, so the file holds ``$${__value.raw}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import yaml

from medical_insurance_sdk.core.export.aggregates import EXEMPLAR_TRACE_LABEL

__all__ = [
    "DATASOURCE_UID",
    "DEFAULT_TRACE_URL",
    "SCRAPE_INTERVAL",
    "TRACE_ID_PLACEHOLDER",
    "DatasourceOptions",
    "build_datasources",
    "check_trace_url",
    "render_datasources",
]

#: The provisioned Prometheus datasource's uid.
DATASOURCE_UID = "medical-insurance-prometheus"
#: The placeholder of a trace URL template (as in ``misdk explain --trace-url``).
TRACE_ID_PLACEHOLDER = "{trace_id}"
#: Where exemplars link by default: the trace page of a local Jaeger UI.
DEFAULT_TRACE_URL = "http://localhost:16686/trace/{trace_id}"
#: Must equal ``scrape_interval`` in ``deploy/prometheus/prometheus.yml``.
SCRAPE_INTERVAL = "30s"
_GRAFANA_VALUE = "${__value.raw}"
_UID = re.compile(r"[A-Za-z0-9_-]{1,40}")
_HEADER = """\
# Grafana 数据源预配置：复制到 /etc/grafana/provisioning/datasources/。
# 由 `misdk rules --datasources` 生成，请勿手改；调用链链接用 --trace-url 或
# --trace-datasource-uid 指定。
# 仪表盘通过 ${datasource} 变量选择数据源，不依赖这里的名称；uid 固定便于告警与链接引用。
# timeInterval 与 prometheus.yml 的 scrape_interval 一致，$__rate_interval 才能取到至少 4 个样本；
# exemplarTraceIdDestinations 把耗时直方图 exemplar 的 trace_id 标签链接到调用链
# （APM 的页面或 Grafana 的调用链数据源）。
"""


def check_trace_url(template: str) -> str:
    """The template in Grafana's form (``${__value.raw}``); ``ValueError`` naming the problem.

    It must be an http(s) URL with a host and exactly one placeholder, ``{trace_id}`` or
    ``${__value.raw}``, and no other braces, ``$``, quotes, spaces or control characters.
    """
    if not isinstance(template, str) or not template:
        raise ValueError("trace URL template must be a non-empty string")
    count = template.count(TRACE_ID_PLACEHOLDER) + template.count(_GRAFANA_VALUE)
    if count != 1:
        raise ValueError(
            f"trace URL template must contain exactly one {TRACE_ID_PLACEHOLDER} (or "
            f"{_GRAFANA_VALUE}), found {count}: {template!r}"
        )
    grafana = template.replace(TRACE_ID_PLACEHOLDER, _GRAFANA_VALUE)
    rest = grafana.replace(_GRAFANA_VALUE, "")
    stray = sorted({c for c in rest if c in "{}$\"'<>\\`" or c.isspace() or not c.isprintable()})
    if stray:
        raise ValueError(
            f"trace URL template has characters a URL template may not hold "
            f"({''.join(stray)!r}; the only placeholder is {TRACE_ID_PLACEHOLDER}): {template!r}"
        )
    parts = urlsplit(grafana.replace(_GRAFANA_VALUE, "0" * 32))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"trace URL template must be an http(s) URL with a host: {template!r}")
    return grafana


@dataclass(frozen=True)
class DatasourceOptions:
    """Where the Prometheus datasource is and where its exemplars link to.

    ``trace_url`` (a template, see :func:`check_trace_url`) and ``trace_datasource_uid``
    (a Grafana tracing datasource) may both be given: Grafana shows both links; with
    neither, exemplars link nowhere.
    """

    prometheus_url: str = "http://prometheus:9090"
    trace_url: str | None = DEFAULT_TRACE_URL
    trace_datasource_uid: str | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.prometheus_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"prometheus_url must be an http(s) URL: {self.prometheus_url!r}")
        if self.trace_url is not None:
            check_trace_url(self.trace_url)
        uid = self.trace_datasource_uid
        if uid is not None and not _UID.fullmatch(uid):
            raise ValueError(
                f"trace_datasource_uid must be a Grafana uid (letters, digits, - and _, "
                f"at most 40): {uid!r}"
            )


def build_datasources(options: DatasourceOptions | None = None) -> dict[str, Any]:
    """The provisioning document (Grafana's ``apiVersion: 1`` datasources file)."""
    opts = options if options is not None else DatasourceOptions()
    destinations: list[dict[str, str]] = []
    if opts.trace_datasource_uid is not None:
        destinations.append(
            {"name": EXEMPLAR_TRACE_LABEL, "datasourceUid": opts.trace_datasource_uid}
        )
    if opts.trace_url is not None:
        destinations.append(
            {
                "name": EXEMPLAR_TRACE_LABEL,
                # $$: a literal $ for Grafana's environment-variable expansion
                "url": check_trace_url(opts.trace_url).replace("$", "$$"),
                "urlDisplayLabel": "查看调用链 View trace",
            }
        )
    json_data: dict[str, Any] = {"timeInterval": SCRAPE_INTERVAL, "httpMethod": "POST"}
    if destinations:
        json_data["exemplarTraceIdDestinations"] = destinations
    prometheus = {
        "name": "Prometheus",
        "uid": DATASOURCE_UID,
        "type": "prometheus",
        "access": "proxy",
        "url": opts.prometheus_url,
        "isDefault": True,
        "jsonData": json_data,
    }
    return {"apiVersion": 1, "datasources": [prometheus]}


def render_datasources(options: DatasourceOptions | None = None) -> str:
    """The provisioning file's text, as shipped (a comment header, then the YAML)."""
    body = yaml.safe_dump(
        build_datasources(options), allow_unicode=True, sort_keys=False, width=120
    )
    return _HEADER + body
