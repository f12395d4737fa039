"""User-facing text of alerts and recommendations: Simplified Chinese, or English.

Texts name APIs by code and catalog name, orgs by their institution code, and error
classes by the SDK's error codes: nothing from a request or a platform message, so no
personal data can reach an alert or a report through them.
"""

from __future__ import annotations

from typing import Literal

from medical_insurance_sdk.core.analysis.thresholds import api_name

__all__ = [
    "LANGS",
    "Lang",
    "alert_message",
    "api_label",
    "baseline_message",
    "check_lang",
    "pct",
    "resolved_message",
]

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")


def check_lang(lang: str) -> Lang:
    """Validate a language code (``zh`` or ``en``)."""
    if lang == "zh":
        return "zh"
    if lang == "en":
        return "en"
    raise ValueError(f"language must be 'zh' or 'en' (got {lang!r})")


def api_label(api_code: str, lang: Lang) -> str:
    """``接口 2207（门诊结算）`` / ``API 2207``: code with the catalog name when known."""
    name = api_name(api_code)
    if lang == "zh":
        return f"接口 {api_code}（{name}）" if name else f"接口 {api_code}"
    return f"API {api_code}"


def pct(value: float) -> str:
    """A fraction as a percentage with one decimal: ``0.1234`` -> ``12.3%``."""
    return f"{value * 100:.1f}%"


_ALERTS: dict[str, dict[Lang, str]] = {
    "response_time": {
        "zh": "{api} 机构 {org} 响应时间 P95 {value:.0f} ms 超过阈值 {limit:.0f} ms"
        "（{calls} 次调用）",
        "en": "{api} org {org}: p95 response time {value:.0f} ms exceeds {limit:.0f} ms "
        "({calls} calls)",
    },
    "error_rate": {
        "zh": "{api} 机构 {org} 系统错误率 {value_pct} 超过阈值 {limit_pct}"
        "（网络、超时、网关、协议类错误；{calls} 次调用）",
        "en": "{api} org {org}: system error rate {value_pct} exceeds {limit_pct} "
        "(network, timeout, gateway, protocol errors; {calls} calls)",
    },
    "success_rate": {
        "zh": "{api} 机构 {org} 成功率 {value_pct} 低于目标 {limit_pct}（{calls} 次调用）",
        "en": "{api} org {org}: success rate {value_pct} is below the target {limit_pct} "
        "({calls} calls)",
    },
    "concurrency": {
        "zh": "{api} 机构 {org} 最大并发 {value:.0f} 超过阈值 {limit:.0f}（{calls} 次调用）",
        "en": "{api} org {org}: {value:.0f} concurrent calls exceed {limit:.0f} ({calls} calls)",
    },
}


def alert_message(
    lang: Lang, kind: str, api_code: str, org: str, value: float, limit: float, calls: int
) -> str:
    """The message of an alert of type ``kind``."""
    return _ALERTS[kind][lang].format(
        api=api_label(api_code, lang),
        org=org,
        value=value,
        limit=limit,
        value_pct=pct(value),
        limit_pct=pct(limit),
        calls=calls,
    )


#: Alerts against a baseline: how far from usual (``ratio``: value / usual).
_BASELINE: dict[str, dict[Lang, str]] = {
    "latency_baseline": {
        "zh": "{api} P95 {value:.0f} ms，为本时段常态 {usual:.0f} ms 的 {ratio:.1f} 倍"
        "（机构 {org}，{calls} 次调用）",
        "en": "{api} p95 {value:.0f} ms is {ratio:.1f}x the usual {usual:.0f} ms for this "
        "hour (org {org}, {calls} calls)",
    },
    "refusal_rate": {
        "zh": "{api} 机构 {org} 业务拒绝率 {value_pct}，本时段常态 {usual_pct}"
        "（{calls} 次调用；平台拒绝请求，多为入参或业务规则问题）",
        "en": "{api} org {org}: business refusal rate {value_pct}, usually {usual_pct} for "
        "this hour ({calls} calls; the platform refuses the requests: input or rules)",
    },
    "traffic_drop": {
        "zh": "{api} 机构 {org} 调用量骤降：每分钟 {value:.1f} 次，本时段常态每分钟 "
        "{usual:.1f} 次（HIS 或网络可能中断）",
        "en": "{api} org {org}: traffic dropped to {value:.1f} calls/min, usually "
        "{usual:.1f} calls/min for this hour (HIS or network down?)",
    },
}


def baseline_message(
    lang: Lang, kind: str, api_code: str, org: str, value: float, usual: float, calls: int
) -> str:
    """The message of an alert against a baseline: the value and how far from usual."""
    return _BASELINE[kind][lang].format(
        api=api_label(api_code, lang),
        org=org,
        value=value,
        usual=usual,
        ratio=value / usual if usual > 0 else float("inf"),
        value_pct=pct(value),
        usual_pct=pct(usual),
        calls=calls,
    )


#: A resolved alert: the value at resolve time against the threshold (or target).
_RESOLVED: dict[str, dict[Lang, str]] = {
    "response_time": {
        "zh": "已恢复：{api} 机构 {org} 响应时间 P95 {value:.0f} ms（阈值 {limit:.0f} ms）",
        "en": "Resolved: {api} org {org}: p95 response time {value:.0f} ms "
        "(threshold {limit:.0f} ms)",
    },
    "error_rate": {
        "zh": "已恢复：{api} 机构 {org} 系统错误率 {value_pct}（阈值 {limit_pct}）",
        "en": "Resolved: {api} org {org}: system error rate {value_pct} (threshold {limit_pct})",
    },
    "success_rate": {
        "zh": "已恢复：{api} 机构 {org} 成功率 {value_pct}（目标 {limit_pct}）",
        "en": "Resolved: {api} org {org}: success rate {value_pct} (target {limit_pct})",
    },
    "concurrency": {
        "zh": "已恢复：{api} 机构 {org} 最大并发 {value:.0f}（阈值 {limit:.0f}）",
        "en": "Resolved: {api} org {org}: {value:.0f} concurrent calls (threshold {limit:.0f})",
    },
    "latency_baseline": {
        "zh": "已恢复：{api} 机构 {org} 响应时间 P95 {value:.0f} ms（本时段常态 {limit:.0f} ms）",
        "en": "Resolved: {api} org {org}: p95 response time {value:.0f} ms "
        "(usually {limit:.0f} ms)",
    },
    "refusal_rate": {
        "zh": "已恢复：{api} 机构 {org} 业务拒绝率 {value_pct}（本时段常态 {limit_pct}）",
        "en": "Resolved: {api} org {org}: business refusal rate {value_pct} (usually {limit_pct})",
    },
    "traffic_drop": {
        "zh": "已恢复：{api} 机构 {org} 调用量每分钟 {value:.1f} 次（本时段常态 {limit:.1f} 次）",
        "en": "Resolved: {api} org {org}: {value:.1f} calls/min (usually {limit:.1f})",
    },
}
#: A resolved alert whose org made no call in the window: there is no current value.
_RESOLVED_IDLE: dict[Lang, str] = {
    "zh": "已恢复：{api} 机构 {org} 窗口内已无调用，{what}告警解除",
    "en": "Resolved: {api} org {org}: no calls in the window, the {what} alert ends",
}
_KIND_NAMES: dict[str, dict[Lang, str]] = {
    "response_time": {"zh": "响应时间", "en": "response time"},
    "error_rate": {"zh": "系统错误率", "en": "system error rate"},
    "success_rate": {"zh": "成功率", "en": "success rate"},
    "concurrency": {"zh": "并发", "en": "concurrency"},
    "latency_baseline": {"zh": "响应时间偏离常态", "en": "latency above usual"},
    "refusal_rate": {"zh": "业务拒绝率", "en": "business refusal rate"},
    "traffic_drop": {"zh": "调用量骤降", "en": "traffic drop"},
}


def resolved_message(
    lang: Lang, kind: str, api_code: str, org: str, value: float | None, limit: float
) -> str:
    """The message of a resolved alert: ``value`` now (None: no calls) against ``limit``."""
    api = api_label(api_code, lang)
    if value is None:
        return _RESOLVED_IDLE[lang].format(api=api, org=org, what=_KIND_NAMES[kind][lang])
    return _RESOLVED[kind][lang].format(
        api=api, org=org, value=value, limit=limit, value_pct=pct(value), limit_pct=pct(limit)
    )
