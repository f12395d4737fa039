"""The HTML report: one self-contained file (inline CSS and SVG, nothing from the network).

Sections: summary, latency percentiles over time, calls and errors over time (charts
from :mod:`~medical_insurance_sdk.core.analysis.reports.charts` when matplotlib is installed, a
note otherwise), the per-API score table, recommendations, active alerts and the alert
history, the incidents of the window with start and end (the active alerts are the
incidents still open at its end when the incidents are given), and the capacity plan when
one is given (its sentences, then its table). Every value is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from medical_insurance_sdk.core.analysis.alerts import PerformanceAlert, iso
from medical_insurance_sdk.core.analysis.capacity_plan import CapacityPlan
from medical_insurance_sdk.core.analysis.incidents import Incident
from medical_insurance_sdk.core.analysis.overview import SystemOverview
from medical_insurance_sdk.core.analysis.reports.capacity_report import (
    CAPACITY_HEADERS,
    CAPACITY_TITLE,
    capacity_rows,
)
from medical_insurance_sdk.core.analysis.reports.charts import series_charts
from medical_insurance_sdk.core.analysis.reports.csv_report import (
    CSV_HEADERS,
    INCIDENT_HEADERS,
    csv_rows,
    incident_rows,
)
from medical_insurance_sdk.core.analysis.scoring import grade_of
from medical_insurance_sdk.core.analysis.texts import Lang
from medical_insurance_sdk.optional import is_available

__all__ = ["render_html"]

_T: dict[str, dict[Lang, str]] = {
    "title": {"zh": "医保接口性能报告", "en": "Medical insurance API performance report"},
    "summary": {"zh": "概览", "en": "Summary"},
    "window": {"zh": "统计窗口", "en": "Window"},
    "hours": {"zh": "小时", "en": "hours"},
    "generated": {"zh": "生成时间 (UTC)", "en": "Generated (UTC)"},
    "calls": {"zh": "调用次数", "en": "Calls"},
    "success": {"zh": "成功率", "en": "Success rate"},
    "score": {"zh": "综合评分（按调用量加权）", "en": "Overall score (call-weighted)"},
    "latency": {"zh": "响应时间分位数（随时间）", "en": "Latency percentiles over time"},
    "volume": {"zh": "调用量与错误数（随时间）", "en": "Calls and errors over time"},
    "apis": {"zh": "各接口评分", "en": "Score per API"},
    "recs": {"zh": "优化建议", "en": "Recommendations"},
    "none": {"zh": "无", "en": "None"},
    "active": {"zh": "活动告警", "en": "Active alerts"},
    "history": {"zh": "告警历史", "en": "Alert history"},
    "incidents": {"zh": "故障时间线", "en": "Incidents"},
    "no_charts": {
        "zh": "未安装 matplotlib，图表已省略（pip install 'medical-insurance-sdk[reports]'）。",
        "en": "matplotlib is not installed: charts are omitted "
        "(pip install 'medical-insurance-sdk[reports]').",
    },
    "alert_cols": {
        "zh": "告警编号|类型|接口|机构|级别|状态|阈值|实际值|时间|说明",
        "en": "id|type|api|org|severity|state|threshold|actual|time|message",
    },
}

_CSS = """
body{font-family:-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;
margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;
text-align:left}th{background:#f3f3f3}.critical{color:#b00020;font-weight:bold}
.warning{color:#b36b00}.grade-A,.grade-B{color:#1b7f3b}.grade-D,.grade-F{color:#b00020}
.chart svg{max-width:100%;height:auto}
"""


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], classes: Sequence[str] = ()
) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{escape(classes[i])}"' if i < len(classes) and classes[i] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _alert_rows(alerts: Sequence[PerformanceAlert]) -> list[list[str]]:
    return [
        [
            a.alert_id,
            a.alert_type,
            a.api_code,
            a.org_code,
            a.severity,
            a.state,
            f"{a.threshold_value:g}",
            f"{a.actual_value:.4g}",
            iso(a.updated_at),
            a.message,
        ]
        for a in alerts
    ]


def render_html(
    overview: SystemOverview,
    history: Sequence[PerformanceAlert],
    lang: Lang,
    incidents: Sequence[Incident] = (),
    capacity: CapacityPlan | None = None,
) -> str:
    """The HTML report text."""

    def t(key: str) -> str:
        return _T[key][lang]

    total = overview.total_calls
    rate = overview.successful_calls / total if total else 0.0
    score = overview.overall_score
    parts = [
        f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>',
        '<meta charset="utf-8">',
        f"<title>{escape(t('title'))}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(t('title'))}</h1>",
        f"<h2>{escape(t('summary'))}</h2>",
        _table(
            (t("window"), t("generated"), t("calls"), t("success"), t("score")),
            [
                (
                    f"{overview.time_range_minutes / 60:g} {t('hours')}",
                    iso(overview.timestamp),
                    str(total),
                    f"{rate * 100:.2f}%",
                    f"{score:.1f} ({grade_of(score) if total else 'F'})",
                )
            ],
        ),
    ]
    if overview.series is not None and is_available("matplotlib"):
        latency, volume = series_charts(overview.series)
        parts += [
            f'<h2>{escape(t("latency"))}</h2><div class="chart">{latency}</div>',
            f'<h2>{escape(t("volume"))}</h2><div class="chart">{volume}</div>',
        ]
    else:
        parts.append(f'<p class="note">{escape(t("no_charts"))}</p>')
    rows = csv_rows(overview)
    parts += [
        f"<h2>{escape(t('apis'))}</h2>",
        _table(CSV_HEADERS[lang], rows, [f"grade-{r[8]}" for r in rows]),
        f"<h2>{escape(t('recs'))}</h2>",
    ]
    recs = [r.message for a in overview.apis for r in a.recommendations]
    parts.append(
        "<ul>" + "".join(f"<li>{escape(m)}</li>" for m in recs) + "</ul>"
        if recs
        else f"<p>{escape(t('none'))}</p>"
    )
    parts.append(f"<h2>{escape(t('incidents'))}</h2>")
    parts.append(
        _table(INCIDENT_HEADERS[lang], incident_rows(incidents), [i.severity for i in incidents])
        if incidents
        else f"<p>{escape(t('none'))}</p>"
    )
    cols = t("alert_cols").split("|")
    for key, alerts in (("active", overview.active_alerts), ("history", list(history)[-200:])):
        parts.append(f"<h2>{escape(t(key))}</h2>")
        parts.append(
            _table(cols, _alert_rows(alerts), [a.severity for a in alerts])
            if alerts
            else f"<p>{escape(t('none'))}</p>"
        )
    if capacity is not None:
        parts.append(f"<h2>{escape(CAPACITY_TITLE[lang])}</h2>")
        if capacity.series:
            items = "".join(f"<li>{escape(m)}</li>" for m in capacity.messages())
            parts.append(f"<ul>{items}</ul>")
            parts.append(_table(CAPACITY_HEADERS[lang], capacity_rows(capacity)))
        else:
            parts.append(f"<p>{escape(t('none'))}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
