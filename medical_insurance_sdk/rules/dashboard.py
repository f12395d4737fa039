"""The Grafana dashboard ``deploy/grafana/dashboards/medical-insurance-sdk.json``.

Generated like the rules, from the same metric and recording-rule names, so its PromQL is
tested against a real Prometheus. Template variables: ``datasource`` (type datasource),
``job``, ``api_code`` and ``org_code`` (``label_values``, *All* = ``.*``). Counters are
always inside ``rate()``/``increase()``; rates use ``$__rate_interval``.
"""

from __future__ import annotations

import json
from typing import Any

from medical_insurance_sdk.rules.grafana import (
    DATASOURCE,
    Panel,
    Row,
    Target,
    datasource_variable,
    layout,
    query_variable,
)
from medical_insurance_sdk.rules.options import RulesOptions, duration_seconds
from medical_insurance_sdk.rules.promql import (
    ACTIVE_CONNECTIONS,
    API_CALLS,
    API_CALLS_IN_FLIGHT,
    API_DURATION_BUCKET,
    API_ERRORS,
    CACHE_HIT_RATIO,
    MONITORING_DROPPED,
    MONITORING_ERRORS,
    SYSTEM_ERRORS_MATCHER,
    num,
    selector,
)
from medical_insurance_sdk.rules.recording import outcome_unknown_increase, sli_error_ratio

__all__ = ["DASHBOARD_UID", "build_dashboard", "dashboard_queries", "render_dashboard"]

DASHBOARD_UID = "medical-insurance-sdk"

_API = 'job=~"$job", api_code=~"$api_code", org_code=~"$org_code"'
_JOB = 'job=~"$job"'
_RI = "$__rate_interval"
_ALERTS = 'ALERTS{alertstate="firing", alertname=~"HighErrorRate|MedicalInsurance.*"}'


def _rate(metric: str, by: str = "", *extra: str) -> str:
    sel = selector(metric, _API, *extra)
    grouping = f" by ({by}) " if by else ""
    return f"sum{grouping}(rate({sel}[{_RI}]))"


def _ratio(by: str = "") -> str:
    return f"{_rate(API_ERRORS, by, SYSTEM_ERRORS_MATCHER)}\n/\n{_rate(API_CALLS, by)}"


def _quantile(q: float, by: str) -> str:
    grouping = f"le, {by}" if by else "le"
    return f"histogram_quantile({num(q)}, {_rate(API_DURATION_BUCKET, grouping)})"


def _gauge(metric: str, by: str = "instance") -> str:
    return f"sum by ({by}) ({selector(metric, _JOB)})"


def _overview(options: RulesOptions) -> Row:
    unknown = selector(
        outcome_unknown_increase(options.outcome_unknown_window),
        'api_code=~"$api_code"',
        'org_code=~"$org_code"',
    )
    return Row(
        "概览",
        (
            Panel(
                "请求速率",
                (Target(_rate(API_CALLS)),),
                "所选接口与机构每秒调用数",
                "stat",
                "reqps",
                4,
                4,
            ),
            Panel(
                "系统错误率",
                (Target(_ratio()),),
                "网络、超时、网关认证、报文解析、会话错误占调用的比例（不含业务拒绝与参数校验）",
                "stat",
                "percentunit",
                4,
                4,
                ((0.005, "orange"), (0.02, "red")),
            ),
            Panel(
                "P95 响应时间",
                (Target(_quantile(0.95, "")),),
                "",
                "stat",
                "s",
                4,
                4,
                ((3, "orange"), (5, "red")),
            ),
            Panel(
                f"结果未知的结算（最近 {options.outcome_unknown_window}）",
                (Target(f"sum({unknown}) or vector(0)"),),
                "已发出但未收到应答的涉及资金交易：切勿重发，需 2601 冲正或 3201/3202 对账",
                "stat",
                "short",
                4,
                4,
                ((1, "red"),),
            ),
            Panel(
                "进行中的调用",
                (Target(f"sum({selector(API_CALLS_IN_FLIGHT, _JOB)})"),),
                "",
                "stat",
                "short",
                4,
                4,
            ),
            Panel(
                "在线实例",
                (Target(f"sum(up{{{_JOB}}})"),),
                "Prometheus 能抓取到的 SDK 实例数",
                "stat",
                "short",
                4,
                4,
            ),
        ),
    )


def _red() -> Row:
    return Row(
        "RED：按接口",
        (
            Panel(
                "请求速率（按接口）",
                (Target(_rate(API_CALLS, "api_code"), "{{api_code}}"),),
                unit="reqps",
            ),
            Panel(
                "错误速率（按接口）",
                (
                    Target(_rate(API_ERRORS, "api_code"), "{{api_code}} 全部错误"),
                    Target(
                        _rate(API_ERRORS, "api_code", SYSTEM_ERRORS_MATCHER),
                        "{{api_code}} 系统错误",
                    ),
                ),
                "全部错误包含业务拒绝（BIZ_*、INFCODE_*）与参数校验失败",
                unit="reqps",
            ),
            Panel(
                "系统错误率（按接口）",
                (Target(_ratio("api_code"), "{{api_code}}"),),
                unit="percentunit",
            ),
            Panel(
                "响应时间 P50 / P95 / P99（按接口）",
                tuple(
                    Target(_quantile(q, "api_code"), f"{{{{api_code}}}} P{int(q * 100)}")
                    for q in (0.5, 0.95, 0.99)
                ),
                "由直方图计算；超过最大桶（60s）的分位数显示为 60s",
                unit="s",
            ),
        ),
    )


def _institutions() -> Row:
    return Row(
        "按机构",
        (
            Panel(
                "请求速率（按机构）",
                (Target(_rate(API_CALLS, "org_code"), "{{org_code}}"),),
                unit="reqps",
            ),
            Panel(
                "系统错误率（按机构）",
                (Target(_ratio("org_code"), "{{org_code}}"),),
                unit="percentunit",
            ),
            Panel(
                "P95 响应时间（按机构）",
                (Target(_quantile(0.95, "org_code"), "{{org_code}}"),),
                "直方图去掉 org_code（histogram_by_org=False）时此面板为空",
                unit="s",
            ),
            Panel(
                "调用量：机构 × 接口（所选时段）",
                (
                    Target(
                        "sum by (org_code, api_code) "
                        f"(increase({selector(API_CALLS, _API)}[$__range]))",
                        instant=True,
                    ),
                ),
                type="table",
            ),
        ),
    )


def _errors() -> Row:
    return Row(
        "错误",
        (
            Panel(
                "错误码 Top 10（所选时段）",
                (
                    Target(
                        "topk(10, sum by (api_code, error_code) "
                        f"(increase({selector(API_ERRORS, _API)}[$__range])))",
                        instant=True,
                    ),
                ),
                "GATEWAY_AUTH_CLOCK_SKEW：校准 NTP；GATEWAY_AUTH_SIGNATURE：核对 AK/SK；"
                "TIMEOUT_*/NETWORK：检查网络与专线；SESSION：重新签到",
                type="table",
            ),
            Panel(
                "错误码趋势（Top 10）",
                (Target(f"topk(10, {_rate(API_ERRORS, 'error_code')})", "{{error_code}}"),),
                unit="reqps",
            ),
        ),
    )


def _outcome_unknown(options: RulesOptions) -> Row:
    series = selector(
        outcome_unknown_increase(options.outcome_unknown_window),
        'api_code=~"$api_code"',
        'org_code=~"$org_code"',
    )
    w = options.outcome_unknown_window
    return Row(
        "结算结果未知（需 2601 冲正或 3201/3202 对账）",
        (
            Panel(
                f"结果未知的结算（滚动 {w}）",
                (Target(f"sum by (api_code, org_code) ({series})", "{{api_code}} {{org_code}}"),),
                "涉及资金的交易（W$）读超时后平台侧结果未知。"
                "切勿重发；以原 msgid 发起 2601 冲正，或对账核实",
                unit="short",
                thresholds=((1, "red"),),
            ),
            Panel(
                f"待处理明细（最近 {w}）",
                (Target(f"sum by (api_code, org_code) ({series}) > 0", instant=True),),
                type="table",
            ),
        ),
    )


def _cache_and_connections() -> Row:
    return Row(
        "缓存与连接",
        (
            Panel(
                "缓存命中率",
                (
                    Target(
                        f"avg by (cache_type) ({selector(CACHE_HIT_RATIO, _JOB)})", "{{cache_type}}"
                    ),
                ),
                unit="percentunit",
                width=8,
            ),
            Panel(
                "活动连接数",
                (Target(_gauge(ACTIVE_CONNECTIONS, "connection_type"), "{{connection_type}}"),),
                width=8,
            ),
            Panel(
                "进行中的调用（按实例）",
                (Target(_gauge(API_CALLS_IN_FLIGHT), "{{instance}}"),),
                width=8,
            ),
        ),
    )


def _resources() -> Row:
    p = "medical_insurance_process_"
    s = "medical_insurance_system_"
    return Row(
        "进程与系统资源",
        (
            Panel(
                "进程内存",
                (
                    Target(_gauge(p + "resident_memory_bytes"), "{{instance}} RSS"),
                    Target(_gauge(p + "virtual_memory_bytes"), "{{instance}} VMS"),
                ),
                unit="bytes",
                width=8,
            ),
            Panel(
                "进程 CPU",
                (Target(_gauge(p + "cpu_percent"), "{{instance}}"),),
                unit="percent",
                width=8,
            ),
            Panel(
                "线程与文件描述符",
                (
                    Target(_gauge(p + "threads"), "{{instance}} 线程"),
                    Target(_gauge(p + "open_fds"), "{{instance}} 文件描述符"),
                ),
                width=8,
            ),
            Panel(
                "系统 CPU / 内存 / 磁盘",
                (
                    Target(_gauge(s + "cpu_percent"), "{{instance}} CPU"),
                    Target(_gauge(s + "memory_percent"), "{{instance}} 内存"),
                    Target(_gauge(s + "disk_percent"), "{{instance}} 磁盘"),
                ),
                unit="percent",
                thresholds=((80, "orange"), (90, "red")),
            ),
            Panel(
                "系统负载",
                (
                    Target(_gauge(s + "load1"), "{{instance}} 1m"),
                    Target(_gauge(s + "load5"), "{{instance}} 5m"),
                    Target(_gauge(s + "load15"), "{{instance}} 15m"),
                    Target(_gauge(s + "cpu_count"), "{{instance}} CPU 核数"),
                ),
            ),
        ),
    )


def _slo(options: RulesOptions) -> Row:
    windows = sorted(
        {c.long for a in options.burn_alerts for c in a.conditions}, key=duration_seconds
    )
    factors = sorted({c.factor for a in options.burn_alerts for c in a.conditions})
    colors = ("yellow", "orange", "red")
    return Row(
        f"SLO：错误预算消耗速率（{num(options.slo_percent)}%，{options.slo_period_days} 天）",
        (
            Panel(
                "错误预算消耗速率（按接口）",
                tuple(
                    Target(
                        f'{sli_error_ratio(w)}{{api_code=~"$api_code"}}'
                        " / on (slo) group_left () slo:error_budget:ratio",
                        f"{{{{api_code}}}} {w}",
                    )
                    for w in windows
                ),
                "1 表示按此速度恰好在 SLO 周期末耗尽预算；"
                + "；".join(
                    f"{num(c.factor)} 倍（{c.long}+{c.short}）触发 {a.severity}"
                    for a in options.burn_alerts
                    for c in a.conditions
                ),
                unit="none",
                width=16,
                thresholds=tuple(zip(factors, colors[-len(factors) :], strict=False)),
            ),
            Panel(
                "当前消耗速率（5m）",
                (Target('slo:current_burn_rate:ratio{api_code=~"$api_code"}', "{{api_code}}"),),
                type="bargauge",
                unit="none",
                width=8,
                thresholds=tuple(zip(factors, colors[-len(factors) :], strict=False)),
            ),
        ),
    )


def _monitoring() -> Row:
    return Row(
        "监控自身",
        (
            Panel(
                "监控内部错误与丢弃",
                (
                    Target(
                        f"sum by (stage) (rate({selector(MONITORING_ERRORS, _JOB)}[{_RI}]))",
                        "错误 {{stage}}",
                    ),
                    Target(
                        f"sum by (reason) (rate({selector(MONITORING_DROPPED, _JOB)}[{_RI}]))",
                        "丢弃 {{reason}}",
                    ),
                ),
                "overflow_*：标签超出上限被合并为 __other__；store_*：内存中的调用记录被淘汰",
            ),
            Panel(
                "内存中的调用记录",
                (Target(_gauge("medical_insurance_store_calls"), "{{instance}}"),),
            ),
        ),
    )


def build_dashboard(options: RulesOptions) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model (provisioning-ready)."""
    rows = [
        _overview(options),
        _red(),
        _institutions(),
        _errors(),
        _outcome_unknown(options),
        _cache_and_connections(),
        _resources(),
        _slo(options),
        _monitoring(),
    ]
    info = "medical_insurance_system_info"
    return {
        "uid": DASHBOARD_UID,
        "title": "医保 SDK 监控 (medical-insurance-sdk)",
        "description": (
            "由 misdk rules --dashboard 生成：接口 RED、机构、错误码、结果未知的结算、"
            "缓存与连接、资源、SLO"
        ),
        "tags": ["medical-insurance", "prometheus"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {
            "list": [
                {
                    "name": "告警",
                    "datasource": dict(DATASOURCE),
                    "enable": True,
                    "iconColor": "red",
                    "expr": _ALERTS,
                    "step": "60s",
                    "titleFormat": "{{alertname}}",
                    "textFormat": "{{api_code}} {{severity}}",
                    "useValueForTime": False,
                }
            ]
        },
        "templating": {
            "list": [
                datasource_variable(),
                query_variable("job", "Job", f"label_values({info}, job)"),
                query_variable(
                    "api_code", "接口", f'label_values({API_CALLS}{{job=~"$job"}}, api_code)'
                ),
                query_variable(
                    "org_code",
                    "机构",
                    f'label_values({API_CALLS}{{job=~"$job", api_code=~"$api_code"}}, org_code)',
                ),
            ]
        },
        "panels": layout(rows),
    }


def dashboard_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """Every ``(where, PromQL)`` of a dashboard: panel targets, annotations, variables."""
    out: list[tuple[str, str]] = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            out.append((f"panel {panel['id']} {panel['title']} {target['refId']}", target["expr"]))
    for ann in dashboard["annotations"]["list"]:
        out.append((f"annotation {ann['name']}", ann["expr"]))
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            out.append((f"variable {var['name']}", var["query"]))
    return out


def render_dashboard(options: RulesOptions) -> str:
    """The dashboard JSON text, as shipped (stable key order, 2-space indent)."""
    return json.dumps(build_dashboard(options), ensure_ascii=False, indent=2) + "\n"
