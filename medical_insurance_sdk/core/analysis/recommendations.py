"""Recommendations derived from one API's figures: concrete, or none at all.

Each rule speaks only when the data says something, names the API (and the org when the
errors concentrate in one), quotes the figures and says what to do:

* **errors** (success below target or system errors above their limit, at least 3
  failed calls): the dominant error code and its share, the org most affected, and the
  action for that code's class, e.g. gateway clock skew -> synchronise with NTP; a read
  timeout on a settlement -> never resend, 2601 冲正 / 3201-3202 reconciliation;
* **latency** (p95 above the threshold): whether the median is slow too (everything is
  slow: capacity, network) or only the tail (a few slow requests: payloads, retries,
  pool waits);
* **trend**: a rising latency trend (Mann-Kendall significant) with its slope and forecast;
* **concurrency** above its limit;
* **baseline** (:func:`baseline_advice`): a p95 at least twice what is usual for the API
  at this hour, with how far from usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from medical_insurance_sdk.core.analysis.descriptive import (
    BasicStats,
    ErrorAnalysis,
    ResponseTimeStats,
    error_class,
)
from medical_insurance_sdk.core.analysis.texts import Lang, api_label, pct
from medical_insurance_sdk.core.analysis.thresholds import PerformanceThreshold, api_class
from medical_insurance_sdk.core.analysis.trend import Trend

__all__ = ["BASELINE_FACTOR", "Recommendation", "baseline_advice", "recommend"]

MIN_FAILED = 3
#: A p95 this many times the usual one gets a recommendation saying so.
BASELINE_FACTOR = 2.0


@dataclass(frozen=True)
class Recommendation:
    """One recommendation: what it is about and the text."""

    kind: str  # 'errors' | 'latency' | 'trend' | 'concurrency' | 'baseline'
    api_code: str
    org_code: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "api_code": self.api_code,
            "org_code": self.org_code,
            "message": self.message,
        }


_ACTIONS: dict[str, dict[Lang, str]] = {
    "GATEWAY_AUTH_CLOCK_SKEW": {
        "zh": "网关判定签名时间戳超时（时钟偏差）：请校准本机时钟并启用 NTP 时间同步",
        "en": "the gateway rejects the signature timestamp (clock skew): "
        "synchronise the host clock with NTP",
    },
    "GATEWAY_AUTH_SIGNATURE": {
        "zh": "网关签名不一致：核对 AK/SK 配置与签名算法",
        "en": "the gateway signature does not match: check the AK/SK and the signing scheme",
    },
    "GATEWAY_AUTH_UNKNOWN_KEY": {
        "zh": "网关不认识该 AK（非法用户）：核对 AK 配置",
        "en": "the gateway does not know the access key: check the AK",
    },
    "GATEWAY_AUTH_HEADERS": {
        "zh": "缺少网关请求头：检查代理是否剥离了 _api_* 请求头",
        "en": "gateway headers are missing: check that no proxy strips the _api_* headers",
    },
    "read_timeout_settlement": {
        "zh": "读超时后结算结果未知：切勿重发，使用 2601 冲正或 3201/3202 对账核实，并排查平台响应",
        "en": "read timeouts leave settlements in an unknown state: never resend; "
        "use 2601 reversal or 3201/3202 reconciliation, and check the platform's latency",
    },
    "read_timeout": {
        "zh": "读超时：检查平台与前置机的响应时间，必要时适当增大读超时",
        "en": "read timeouts: check the platform's and the front-end processor's latency; "
        "raise the read timeout if needed",
    },
    "connect_timeout": {
        "zh": "连接超时：检查到医保前置机/专线的网络连通性、DNS 与防火墙",
        "en": "connect timeouts: check the route to the front-end processor, DNS and firewall",
    },
    "timeout": {
        "zh": "请求超时：检查网络与平台响应时间",
        "en": "timeouts: check the network and the platform's latency",
    },
    "network": {
        "zh": "网络错误：检查到医保前置机/专线的网络连通性、DNS、TLS 与防火墙",
        "en": "network errors: check the route to the front-end processor, DNS, TLS and firewall",
    },
    "http_status": {
        "zh": "HTTP 状态异常：检查代理或前置机的可用性（如 502 网关错误）",
        "en": "HTTP errors: check the proxy or front-end processor (e.g. 502 Bad Gateway)",
    },
    "gateway_auth": {
        "zh": "网关认证失败：核对网关认证配置",
        "en": "gateway authentication fails: check the gateway credentials",
    },
    "protocol": {
        "zh": "报文无法解析：核对加密（SM4）配置与接口版本 infver 是否与省平台一致",
        "en": "unparseable responses: check the SM4 encryption settings and infver",
    },
    "session": {
        "zh": "签到失效：重新调用 9001 签到，并在会话过期前自动续签",
        "en": "not signed in: sign in again with 9001 and renew the session before it expires",
    },
    "validation": {
        "zh": "入参校验失败：修正 HIS 侧数据的必填项、长度与代码值",
        "en": "input validation fails: fix required fields, lengths and code values in the HIS",
    },
    "business": {
        "zh": "平台业务拒绝：按日志中（已脱敏）的 err_msg 与平台核对业务规则",
        "en": "the platform rejects the requests: review the (masked) err_msg in the logs "
        "against the platform's business rules",
    },
    "unknown": {
        "zh": "失败调用未带错误码：检查调用方是否记录了错误码",
        "en": "failed calls carry no error code: make the caller record one",
    },
    "other": {
        "zh": "检查该错误码对应的日志",
        "en": "check the logs for this error code",
    },
}


def _action(code: str, api_code: str, lang: Lang) -> str:
    if code in _ACTIONS:
        return _ACTIONS[code][lang]
    cls = error_class(None if code == "unknown" else code)
    if cls == "read_timeout" and api_class(api_code) == "settlement":
        return _ACTIONS["read_timeout_settlement"][lang]
    return _ACTIONS.get(cls, _ACTIONS["other"])[lang]


def _errors(
    api_code: str,
    basic: BasicStats,
    errors: ErrorAnalysis,
    threshold: PerformanceThreshold,
    lang: Lang,
) -> Recommendation | None:
    failing = basic.success_rate < threshold.min_success_rate or (
        basic.total_calls and errors.system_errors / basic.total_calls > threshold.max_error_rate
    )
    if not failing or errors.total_errors < MIN_FAILED:
        return None
    code, count = next(iter(errors.error_types.items()))
    share = count / errors.total_errors
    org, org_errors = next(iter(errors.errors_by_org.items()))
    org_share = org_errors / errors.total_errors
    n_orgs = len(errors.error_rate_by_org)
    # an org "concentrates" the errors when it has most of them at a clearly higher rate
    concentrated = (
        n_orgs > 1 and org_share >= 0.5 and errors.error_rate_by_org[org] >= 1.5 * basic.error_rate
    )
    api = api_label(api_code, lang)
    org_rate = pct(errors.error_rate_by_org[org])
    if lang == "zh":
        if concentrated:
            where = f"，集中在机构 {org}（占 {pct(org_share)}，该机构错误率 {org_rate}）"
        elif n_orgs == 1:
            where = f"，全部来自机构 {org}"
        else:
            where = f"，分布在 {len(errors.errors_by_org)} 个机构"
        text = (
            f"{api} 成功率 {pct(basic.success_rate)}（目标 {pct(threshold.min_success_rate)}），"
            f"失败 {errors.total_errors} 次，主要错误 {code} 占 {pct(share)}{where}。"
            f"建议：{_action(code, api_code, lang)}。"
        )
    else:
        if concentrated:
            where = f"; concentrated in org {org} ({pct(org_share)}, its error rate {org_rate})"
        elif n_orgs == 1:
            where = f"; all from org {org}"
        else:
            where = f"; spread over {len(errors.errors_by_org)} orgs"
        text = (
            f"{api}: success rate {pct(basic.success_rate)} "
            f"(target {pct(threshold.min_success_rate)}), {errors.total_errors} failed calls, "
            f"dominated by {code} ({pct(share)}){where}. "
            f"Action: {_action(code, api_code, lang)}."
        )
    focus = org if (concentrated or n_orgs == 1) else None
    return Recommendation("errors", api_code, focus, text)


def _latency(
    api_code: str, rt: ResponseTimeStats, threshold: PerformanceThreshold, lang: Lang
) -> Recommendation | None:
    t = threshold.max_response_time_ms
    if rt.count == 0 or rt.p95 <= t:
        return None
    api = api_label(api_code, lang)
    if rt.median > t:
        text = (
            f"{api} 中位响应时间 {rt.median:.0f} ms 已超过阈值 {t:.0f} ms（P95 {rt.p95:.0f} ms）："
            "整体偏慢，排查平台/网络容量与本地资源，必要时降低并发。"
            if lang == "zh"
            else f"{api}: the median response time {rt.median:.0f} ms already exceeds "
            f"{t:.0f} ms (p95 {rt.p95:.0f} ms): everything is slow; check the platform's "
            "and the network's capacity and local resources, or lower the concurrency."
        )
    else:
        ratio = rt.p95 / rt.median if rt.median > 0 else float("inf")
        text = (
            f"{api} 长尾延迟：P95 {rt.p95:.0f} ms 超过阈值 {t:.0f} ms，是中位数 "
            f"{rt.median:.0f} ms 的 {ratio:.1f} 倍；中位数正常，排查个别慢请求"
            "（大报文、重试、连接池等待）。"
            if lang == "zh"
            else f"{api}: tail latency: p95 {rt.p95:.0f} ms exceeds {t:.0f} ms and is "
            f"{ratio:.1f}x the median {rt.median:.0f} ms; the median is fine, so look at the "
            "few slow requests (large payloads, retries, connection-pool waits)."
        )
    return Recommendation("latency", api_code, None, text)


def _trend(api_code: str, trend: Trend, lang: Lang) -> Recommendation | None:
    if trend.direction != "increasing" or not trend.forecast:
        return None
    nxt = trend.forecast[0]
    api = api_label(api_code, lang)
    text = (
        f"{api} 响应时间呈上升趋势：中位数每小时增加 {trend.slope_per_hour:.0f} ms"
        f"（Mann-Kendall p={trend.significance:.3g}），预计下一时段约 {nxt.value:.0f} ms"
        f"（95% 区间 {nxt.lower:.0f}–{nxt.upper:.0f} ms）；请在超过阈值前排查。"
        if lang == "zh"
        else f"{api}: response times are rising by {trend.slope_per_hour:.0f} ms per hour "
        f"(Mann-Kendall p={trend.significance:.3g}); the next bucket is forecast at "
        f"{nxt.value:.0f} ms (95% interval {nxt.lower:.0f}-{nxt.upper:.0f} ms): "
        "investigate before it crosses the threshold."
    )
    return Recommendation("trend", api_code, None, text)


def _concurrency(
    api_code: str, basic: BasicStats, threshold: PerformanceThreshold, lang: Lang
) -> Recommendation | None:
    limit = threshold.max_concurrent_calls
    if basic.max_concurrent_calls <= limit:
        return None
    api = api_label(api_code, lang)
    text = (
        f"{api} 最大并发 {basic.max_concurrent_calls} 超过上限 {limit}：限制客户端并发或排队发送。"
        if lang == "zh"
        else f"{api}: {basic.max_concurrent_calls} calls in flight exceed the limit {limit}: "
        "cap the client's concurrency or queue the requests."
    )
    return Recommendation("concurrency", api_code, None, text)


def recommend(
    api_code: str,
    basic: BasicStats,
    rt: ResponseTimeStats,
    errors: ErrorAnalysis,
    latency_trend: Trend,
    threshold: PerformanceThreshold,
    lang: Lang = "zh",
) -> list[Recommendation]:
    """Every rule that has something to say, most urgent first (may be empty)."""
    found = (
        _errors(api_code, basic, errors, threshold, lang),
        _latency(api_code, rt, threshold, lang),
        _trend(api_code, latency_trend, lang),
        _concurrency(api_code, basic, threshold, lang),
    )
    return [r for r in found if r is not None]


_BASELINE: dict[Lang, str] = {
    "zh": "{api} P95 {value:.0f} ms，为本时段常态 {usual:.0f} ms 的 {ratio:.1f} 倍："
    "明显慢于平时，请检查近期变更、平台响应与网络状况",
    "en": "{api} p95 {value:.0f} ms is {ratio:.1f}x the usual {usual:.0f} ms for this hour: "
    "much slower than usual; check recent changes, the platform and the network",
}


def baseline_advice(
    api_code: str, rt: ResponseTimeStats, usual_p95_ms: float | None, lang: Lang = "zh"
) -> Recommendation | None:
    """A recommendation when the p95 is :data:`BASELINE_FACTOR` times its usual or more."""
    if usual_p95_ms is None or not usual_p95_ms > 0 or not rt.count:
        return None
    ratio = rt.p95 / usual_p95_ms
    if not ratio >= BASELINE_FACTOR:
        return None
    text = _BASELINE[lang].format(
        api=api_label(api_code, lang), value=rt.p95, usual=usual_p95_ms, ratio=ratio
    )
    return Recommendation("baseline", api_code, None, text)
