"""Summaries and descriptions of the baseline alerts, in Chinese or English.

The figures come from Prometheus templates: ``$value`` (the alert's value) and queries of
the recorded band (``{{ with printf "..." | query }}``), so the text says how far from
usual a value is (``P95 4.01s，为本时段常态 627ms 的 6.4 倍``). Only label values of
``api_code``/``org_code`` appear: no personal data can reach the text.
"""

from __future__ import annotations

from dataclasses import dataclass

from medical_insurance_sdk.core.analysis.texts import Lang
from medical_insurance_sdk.rules.baseline_recording import PAIR, Scope

__all__ = ["AlertText", "band_query", "baseline_text"]


def band_query(expr: str, scope: Scope, fmt: str) -> str:
    """A template printing ``expr`` (series names, no matchers) for the alert's labels.

    ``expr`` uses ``{sel}`` where each series needs the alert's ``api_code`` (and
    ``org_code``) matcher; ``fmt`` is the template function applied to the value.
    """
    matchers = ", ".join(f"{label}=%q" for label in scope.labels)
    args = " ".join(f"$labels.{label}" for label in scope.labels * expr.count("{sel}"))
    query = expr.replace("{sel}", "{" + matchers + "}")
    value = f"{{{{ . | first | value | {fmt} }}}}"
    return f'{{{{ with printf "{query}" {args} | query }}}}{value}{{{{ end }}}}'


@dataclass(frozen=True)
class AlertText:
    """``summary`` and ``description`` of one alert."""

    summary: str
    description: str


def _where(scope: Scope, lang: Lang) -> str:
    if lang == "zh":
        every = "（全部机构合计）"
        if scope == PAIR:  # no org_code when the histogram is kept per API only
            org = "{{ with $labels.org_code }}（机构 {{ . }}）{{ else }}" + every + "{{ end }}"
            return "接口 {{ $labels.api_code }}" + org
        return "接口 {{ $labels.api_code }}" + every
    if scope == PAIR:
        org = "{{ with $labels.org_code }} (org {{ . }}){{ else }} (all orgs){{ end }}"
        return "API {{ $labels.api_code }}" + org
    return "API {{ $labels.api_code }} (all orgs)"


_BAND = {
    "zh": "常态取前 {offsets} 同一时刻的中位数，波动取中位绝对偏差；"
    "至少 {min_offsets} 个时刻有数据",
    "en": "usual = median of the same time {offsets} ago, spread = median absolute deviation; "
    "at least {min_offsets} of them with data",
}

_TEXTS: dict[str, dict[Lang, tuple[str, str, str]]] = {
    "latency": {
        "zh": (
            "{where}P95 {{{{ $value | humanizeDuration }}}}，为本时段常态 {level} 的 {ratio} 倍",
            "{where}最近 {window} 的 P95 响应时间 {{{{ $value | humanizeDuration }}}}，"
            "为本时段常态 {level} 的 {ratio} 倍（判定：至少常态的 {factor} 倍、"
            "偏离 {z} 个波动以上，且至少 "
            "{min_calls} 次调用；{band}）。",
            "处置：在仪表盘按机构对比延迟——所有机构同时变慢多为医保平台或专线问题（联系平台、"
            "检查专线与前置机），单个机构变慢多为该机构网络或 HIS 前置问题；检查活动连接数与并发"
            "是否打满连接池；目录下载类接口（1301-1307、9102）请安排在业务低峰。",
        ),
        "en": (
            "{where} p95 {{{{ $value | humanizeDuration }}}}, {ratio} times its usual {level}",
            "{where}: p95 response time over the last {window} is "
            "{{{{ $value | humanizeDuration }}}}, {ratio} times the usual {level} at this time "
            "(rule: at least {factor} times usual, {z} spreads above it, with at least "
            "{min_calls} calls; {band}).",
            "What to do: compare latency per org on the dashboard. All orgs slower at once "
            "usually means the platform or the leased line; one org slower means its network "
            "or HIS front-end. Check active connections and concurrency against the pool; run "
            "catalogue downloads (1301-1307, 9102) off-peak.",
        ),
    },
    "drop": {
        "zh": (
            "{where}调用量骤降：每分钟 {{{{ $value | humanize }}}} 次，常态 {level} 次",
            "{where}最近 {window} 每分钟调用 {{{{ $value | humanize }}}} 次，"
            "本时段常态每分钟 {level} 次（判定：低于常态的 1/{factor}、偏离 {z} 个波动以上，"
            "且常态下本窗口至少 {min_calls} "
            "次调用；{band}）。",
            "处置：调用停止通常意味着 HIS 或网络中断，而非业务减少：确认该机构的 HIS 与前置机"
            "在运行、到 SDK 的网络与专线连通；查看 SDK 日志中该机构最近的请求与错误；"
            "节假日停诊可静默本告警。"
            "SDK 实例不可达时本告警不评估（见 MedicalInsuranceExporterDown）。",
        ),
        "en": (
            "{where} traffic dropped: {{{{ $value | humanize }}}} calls/min, usually {level}",
            "{where}: {{{{ $value | humanize }}}} calls per minute over the last {window}, "
            "usually {level} at this time (rule: below 1/{factor} of usual, {z} spreads below "
            "it, where the band expects at least {min_calls} calls in the window; {band}).",
            "What to do: calls stopping usually means a broken HIS or network, not fewer "
            "patients: check the org's HIS and front-end, the network to the SDK, and the SDK "
            "log for the org's last requests and errors; silence on a planned closure. Not "
            "evaluated while an SDK target is down (see MedicalInsuranceExporterDown).",
        ),
    },
    "refusals": {
        "zh": (
            "{where}业务拒绝率 {{{{ $value | humanizePercentage }}}}，常态 {level}",
            "{where}最近 {window} 的业务拒绝率（BIZ_/INFCODE_ 平台拒绝与参数校验失败）为 "
            "{{{{ $value | humanizePercentage }}}}，共 {count} 次，本时段常态 {level}"
            "（判定：超出常态 {z} 个标准差，含调用次数带来的抽样波动，"
            "且至少 {min_refusals} 次拒绝；{band}）。",
            "处置：在仪表盘「错误码 Top」查看 error_code 与平台返回的 err_msg 类别。集中于一个"
            "机构多为该机构的 HIS 升级、目录对照或参保信息录入问题；各机构同时上升多为平台规则"
            "或接口版本变更，请查看医保平台公告。",
        ),
        "en": (
            "{where} refusal ratio {{{{ $value | humanizePercentage }}}}, usually {level}",
            "{where}: business refusals (BIZ_/INFCODE_ platform refusals and validation "
            "failures) are {{{{ $value | humanizePercentage }}}} of calls over the last {window}, "
            "{count} refusals, usually {level} at this time (rule: {z} standard deviations "
            "above usual, counting the sampling noise of the call count, and at least "
            "{min_refusals} refusals; {band}).",
            "What to do: look at the top error codes on the dashboard. One org alone usually "
            "means its HIS release, catalogue mapping or enrolment data; all orgs at once "
            "usually means a platform rule or interface version change: check the platform's "
            "announcements.",
        ),
    },
}


def baseline_text(kind: str, scope: Scope, lang: Lang, figures: dict[str, str]) -> AlertText:
    """The text of alert ``kind`` (``latency``, ``drop``, ``refusals``) in ``lang``."""
    summary, description, runbook = _TEXTS[kind][lang]
    values = {**figures, "where": _where(scope, lang)}
    values["band"] = _BAND[lang].format(**values)
    return AlertText(summary.format(**values), description.format(**values) + runbook)
