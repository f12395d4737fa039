"""The capacity plan's sentences: Simplified Chinese by default, or English.

They name APIs by code and catalog name and orgs by institution code (no personal data),
and give dates as ``YYYY-MM-DD`` in the plan's local time.
"""

from __future__ import annotations

from medical_insurance_sdk.core.analysis.texts import Lang, api_label

__all__ = ["LIMIT_NAMES", "limit_sentence", "series_note", "subject"]

#: kind -> (zh, en) name of the limit.
LIMIT_NAMES: dict[str, tuple[str, str]] = {
    "max_concurrent_calls": ("最大并发阈值", "the max_concurrent_calls threshold"),
    "connection_pool": ("连接池", "the connection pool"),
    "latency_knee": ("响应时间拐点负载", "the latency knee"),
    "rate_limit": ("平台限流", "the platform rate limit"),
}
#: kind -> (zh, en) name of the figure compared with the limit, and its unit.
_FIGURES: dict[str, tuple[str, str, str, str]] = {
    "max_concurrent_calls": ("高峰并发", "peak concurrency", "", ""),
    "connection_pool": ("高峰并发", "peak concurrency", "", ""),
    "latency_knee": ("高峰调用量", "peak load", " 次/分钟", " calls/min"),
    "rate_limit": ("高峰调用量", "peak load", " 次/分钟", " calls/min"),
}

_SENTENCES: dict[str, dict[Lang, str]] = {
    "exceeded": {
        "zh": "{who}{fig}已达 {current}，超过{name} {limit}",
        "en": "{who}: {fig} is already {current}, above {name} ({limit})",
    },
    "reached": {
        "zh": "按当前增长，{who}{fig}预计将在 {date} 前后超过{name} {limit}"
        "（当前 {current}；区间上限最早 {earliest}）",
        "en": "At the current growth, {who}: {fig} will exceed {name} ({limit}) around {date} "
        "(now {current}; earliest {earliest} at the interval's upper bound)",
    },
    "ok": {
        "zh": "按当前增长，{who}{fig} {days} 天内预计不超过{name} {limit}"
        "（{days} 天后高峰约 {peak}）",
        "en": "At the current growth, {who}: {fig} stays below {name} ({limit}) for {days} days "
        "(peak about {peak} then)",
    },
    "ok_upper": {
        "zh": "按当前增长，{who}{fig} {days} 天内预计不超过{name} {limit}"
        "（{days} 天后高峰约 {peak}；区间上限 {earliest} 超过）",
        "en": "At the current growth, {who}: {fig} stays below {name} ({limit}) for {days} days "
        "(peak about {peak} then; the interval's upper bound exceeds it on {earliest})",
    },
    "no_knee": {
        "zh": "{who}历史中未见响应时间拐点（最高负载 {current}）",
        "en": "{who}: no latency knee in the history (highest load {current})",
    },
    "unknown": {
        "zh": "{who}来源未记录并发数，无法与{name} {limit} 比较",
        "en": "{who}: the source records no concurrency; cannot compare with {name} ({limit})",
    },
}

_NOTES: dict[str, dict[Lang, str]] = {
    "insufficient_data": {
        "zh": "{who}历史仅 {days:.1f} 天（少于 2 天）：数据不足，无法预测",
        "en": "{who}: only {days:.1f} days of history (under 2): not enough data to forecast",
    },
    "short_history": {
        "zh": "{who}历史仅 {days:.1f} 天（不足 2 周）：仅按日周期预测，"
        "未计入周周期，预测区间已放宽",
        "en": "{who}: only {days:.1f} days of history (under 2 weeks): daily cycle only, the "
        "weekly cycle is not modelled and the intervals are widened",
    },
}


def subject(api_code: str | None, org_code: str | None, lang: Lang) -> str:
    """``接口 2207（门诊结算）`` / ``全部接口``, with ``机构 X 的`` when one org is planned."""
    if api_code is None:
        who = "全部接口" if lang == "zh" else "all APIs"
    else:
        who = api_label(api_code, lang)
    if org_code is None:
        return who
    return f"机构 {org_code} 的{who}" if lang == "zh" else f"{who} of org {org_code}"


def _value(kind: str, value: float | None, lang: Lang) -> str:
    if value is None:
        return "-"
    unit = _FIGURES[kind][2 if lang == "zh" else 3]
    if unit:
        return f"{value:.1f}{unit}"
    return f"{value:.0f}"


def limit_sentence(
    lang: Lang,
    case: str,
    kind: str,
    who: str,
    *,
    limit: float | None,
    current: float | None,
    peak: float | None = None,
    date: str | None = None,
    earliest: str | None = None,
    days: int = 0,
) -> str:
    """One limit's sentence (``case``: exceeded, reached, ok, ok_upper, no_knee, unknown)."""
    zh = lang == "zh"
    return _SENTENCES[case][lang].format(
        who=who,
        fig=_FIGURES[kind][0 if zh else 1],
        name=LIMIT_NAMES[kind][0 if zh else 1],
        limit=_value(kind, limit, lang),
        current=_value(kind, current, lang),
        peak=_value(kind, peak, lang),
        date=date or "-",
        earliest=earliest or "-",
        days=days,
    )


def series_note(lang: Lang, status: str, who: str, days: float) -> str:
    """The note on a series with too little history (``insufficient_data``, ``short_history``)."""
    return _NOTES[status][lang].format(who=who, days=days)
