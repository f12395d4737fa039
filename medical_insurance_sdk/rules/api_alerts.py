"""Alerts about the platform calls: the original API's rule, per-API error ratio and p95 latency,
outcome-unknown settlements and gateway authentication failures.

The per-API limits come from the analyzer's thresholds; like the analyzer, an API must
have made ``min_calls`` calls in the window, ``warning`` fires above the limit and
``critical`` above twice the limit.
"""

from __future__ import annotations

from medical_insurance_sdk.rules.model import AlertingRule, RuleGroup
from medical_insurance_sdk.rules.options import CodeGroup, RulesOptions, partition_codes
from medical_insurance_sdk.rules.promql import (
    API_ERRORS,
    OUTCOME_UNKNOWN,
    increase_or_new,
    num,
    selector,
)
from medical_insurance_sdk.rules.recording import calls_increase, error_ratio, latency_p95

__all__ = ["SYSTEM_ERROR_RUNBOOK", "api_group", "high_error_rate_group", "pct"]

#: What to do about system errors, by error code (docs/protocol.md §6).
SYSTEM_ERROR_RUNBOOK = (
    "处置：在仪表盘「错误码 Top」查看 error_code。TIMEOUT_*/NETWORK：检查到医保平台的网络与专线；"
    "GATEWAY_AUTH_CLOCK_SKEW（签名时间戳超时）：校准 NTP 时钟；"
    "GATEWAY_AUTH_SIGNATURE/GATEWAY_AUTH_UNKNOWN_KEY：核对 AK/SK；"
    "SESSION：重新签到（9001）；PARSE：检查加密方式与接口版本；HTTP_STATUS：检查前置代理。"
)


def pct(ratio: float) -> str:
    """``0.005`` -> ``"0.5%"``."""
    return f"{num(ratio * 100)}%"


def high_error_rate_group(options: RulesOptions) -> RuleGroup:
    """The original API's ``HighErrorRate``, expression kept as written (errors per second)."""
    return RuleGroup(
        "medical_insurance_sdk",
        (
            AlertingRule(
                "HighErrorRate",
                "rate(medical_insurance_api_errors_total[5m]) > 0.05",
                "warning",
                "API错误率过高",
                "接口 {{ $labels.api_code }}（机构 {{ $labels.org_code }}，错误码 "
                '{{ $labels.error_code }}）每秒错误 {{ printf "%.2f" $value }} 次，超过 0.05 次/秒'
                "（约每 5 分钟 15 次）。注意：本规则沿用原部署建议，"
                "单位是每秒错误数而不是错误比例，"
                "调用量大的接口更易触发；按比例判断请看 MedicalInsuranceApiErrorRatioHigh。"
                + SYSTEM_ERROR_RUNBOOK,
                options.alert_for("2m"),
            ),
        ),
    )


def _guarded(expr: str, options: RulesOptions) -> str:
    guard = f"{calls_increase(options.window)} >= {options.min_calls}"
    return f"{expr}\nand on (api_code) {guard}"


def _error_ratio_rules(group: CodeGroup, options: RulesOptions) -> list[AlertingRule]:
    series = selector(error_ratio(options.window), group.matcher())
    rules = []
    for severity, factor, wait in (("warning", 1.0, "5m"), ("critical", 2.0, "2m")):
        limit = group.limit * factor
        bound = f" 阈值 {pct(group.limit)}" if factor == 1.0 else f" 2 倍阈值 {pct(limit)}"
        rules.append(
            AlertingRule(
                "MedicalInsuranceApiErrorRatioHigh",
                _guarded(f"{series} > {num(limit)}", options),
                severity,
                "接口 {{ $labels.api_code }} 系统错误率 {{ $value | humanizePercentage }}",
                f"接口 {{{{ $labels.api_code }}}} 最近 {options.window} 的系统错误率"
                "（网络、超时、网关认证、报文解析、会话；不含业务拒绝与参数校验）为 "
                f"{{{{ $value | humanizePercentage }}}}，超过{bound}"
                f"（至少 {options.min_calls} 次调用时判断，与 SDK 内置分析器一致）。"
                + SYSTEM_ERROR_RUNBOOK,
                options.alert_for(
                    wait
                ),  # one rule per limit: the label keeps promtool's duplicate check happy
                labels={"threshold": num(limit)},
            )
        )
    return rules


def _latency_rules(group: CodeGroup, options: RulesOptions) -> list[AlertingRule]:
    series = selector(latency_p95(options.window), group.matcher())
    top = options.top_bucket
    rules = []
    for severity, factor, wait in (("warning", 1.0, "5m"), ("critical", 2.0, "2m")):
        limit = group.limit * factor
        # histogram_quantile never reports more than the largest finite bucket
        cond = f"> {num(limit)}" if limit < top else f">= {num(top)}"
        shown = f"{num(limit)}s" if limit < top else f"{num(top)}s（直方图最大桶）"
        bound = f" 阈值 {shown}" if factor == 1.0 else f" 2 倍阈值 {shown}"
        rules.append(
            AlertingRule(
                "MedicalInsuranceApiLatencyHigh",
                _guarded(f"{series} {cond}", options),
                severity,
                "接口 {{ $labels.api_code }} P95 响应时间 {{ $value | humanizeDuration }}",
                f"接口 {{{{ $labels.api_code }}}} 最近 {options.window} 的 P95 响应时间为 "
                f"{{{{ $value | humanizeDuration }}}}，超过{bound}。处置：查看仪表盘按机构的延迟，"
                "区分平台整体变慢与个别机构网络问题；检查活动连接数与并发，目录下载类接口"
                "（1301-1307、9102）安排在业务低峰。",
                options.alert_for(wait),
                labels={"threshold": f"{num(min(limit, top))}s"},
            )
        )
    return rules


def _outcome_unknown_rule(options: RulesOptions) -> AlertingRule:
    w = options.outcome_unknown_window
    return AlertingRule(
        "MedicalInsuranceSettlementOutcomeUnknown",
        f"{increase_or_new(OUTCOME_UNKNOWN, 'api_code, org_code', w)} > 0",
        "critical",
        "结算结果未知：{{ $labels.api_code }}（机构 {{ $labels.org_code }}），请冲正或对账",
        f'最近 {w} 内约 {{{{ printf "%.0f" $value }}}} 笔涉及资金的交易'
        "（{{ $labels.api_code }}，"
        "机构 {{ $labels.org_code }}）已发出但未收到应答，平台侧是否成功未知。切勿重新发起结算"
        "（可能重复结算）；请以原 msgid 作为 omsgid、原交易编号作为 oinfno 发起 2601 冲正，"
        "或通过 3201/3202 对账核实后处理。",
        options.alert_for("0m"),
    )


def _gateway_rules(options: RulesOptions) -> list[AlertingRule]:
    w = options.window
    skew = selector(API_ERRORS, 'error_code="GATEWAY_AUTH_CLOCK_SKEW"')
    auth = selector(
        API_ERRORS, 'error_code=~"GATEWAY_AUTH.*"', 'error_code!="GATEWAY_AUTH_CLOCK_SKEW"'
    )
    return [
        AlertingRule(
            "MedicalInsuranceGatewayClockSkew",
            f"{increase_or_new(skew, 'job, instance, org_code', w)} > 0",
            "critical",
            "签名时间戳超时：{{ $labels.instance }} 的时钟与医保网关不一致",
            "网关返回「签名时间戳超时!」：本机时钟与网关相差超过允许窗口（通常 30 分钟），"
            "该实例的所有请求都会被拒绝，重试无效。处置：检查 NTP/chrony 时间同步"
            "（timedatectl、chronyc tracking），确认系统时间与时区正确。",
            options.alert_for("0m"),
        ),
        AlertingRule(
            "MedicalInsuranceGatewayAuthFailed",
            f"{increase_or_new(auth, 'job, instance, org_code, error_code', w)} > 0",
            "critical",
            "医保网关认证失败：{{ $labels.error_code }}（{{ $labels.instance }}）",
            "网关拒绝了请求（{{ $labels.error_code }}），重试无效。GATEWAY_AUTH_UNKNOWN_KEY"
            "（非法用户）：AK 无效或未开通；GATEWAY_AUTH_SIGNATURE（签名不一致）："
            "核对 SK 与签名方式；"
            "GATEWAY_AUTH_HEADERS（缺少服务网关的请求头）：检查前置代理是否丢弃了以下划线开头的"
            "请求头（nginx 需 underscores_in_headers on）。",
            options.alert_for("0m"),
        ),
    ]


def api_group(options: RulesOptions) -> RuleGroup:
    """Per-API alerts: error ratio, p95, outcome unknown, gateway authentication."""
    rules: list[AlertingRule] = []
    for group in partition_codes(options, lambda t: t.max_error_rate):
        rules += _error_ratio_rules(group, options)
    for group in partition_codes(options, lambda t: t.max_response_time_ms / 1000.0):
        rules += _latency_rules(group, options)
    rules.append(_outcome_unknown_rule(options))
    rules += _gateway_rules(options)
    return RuleGroup("medical_insurance_sdk.api", tuple(rules))
