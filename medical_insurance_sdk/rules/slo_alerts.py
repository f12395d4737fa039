"""Multi-window multi-burn-rate alerts on the per-API availability SLO.

For a 99.9 % objective over 30 days (Google SRE workbook, "Alerting on SLOs"): page when
the error budget burns 14.4 times too fast over 1 h and 5 min, or 6 times over 6 h and
30 min; open a ticket at 1 times over 3 days and 6 h. The long window proves the burn is
significant, the short one that it is still going on.
"""

from __future__ import annotations

from medical_insurance_sdk.rules.api_alerts import SYSTEM_ERROR_RUNBOOK, pct
from medical_insurance_sdk.rules.model import AlertingRule, RuleGroup
from medical_insurance_sdk.rules.options import (
    BurnRateAlert,
    BurnRateCondition,
    RulesOptions,
    duration_seconds,
)
from medical_insurance_sdk.rules.promql import num
from medical_insurance_sdk.rules.recording import sli_error_ratio

__all__ = ["burn_rate_expr", "slo_group"]


def burn_rate_expr(alert: BurnRateAlert, budget: float) -> str:
    """``(long > f*budget and short > f*budget) or (...)`` over the SLO recording rules."""
    parts = []
    for c in alert.conditions:
        bound = f"({num(c.factor)} * {num(budget)})"
        parts.append(
            f"(\n  {sli_error_ratio(c.long)} > {bound}\n"
            f"  and\n  {sli_error_ratio(c.short)} > {bound}\n)"
        )
    return "\nor\n".join(parts)


def _explain(c: BurnRateCondition, options: RulesOptions) -> str:
    period = options.slo_period_days * 86400.0
    spent = c.factor * duration_seconds(c.long) / period
    days_left = options.slo_period_days / c.factor
    return (
        f"{num(c.factor)} 倍（{c.long} 与 {c.short} 窗口均超过；已耗尽 {pct(round(spent, 6))} "
        f"月度预算，照此约 {num(round(days_left, 1))} 天耗尽全部预算）"
    )


def slo_group(options: RulesOptions) -> RuleGroup:
    """One ``MedicalInsuranceApiErrorBudgetBurn`` rule per burn-rate alert (page, ticket)."""
    slo = f"SLO {num(options.slo_percent)}%（{options.slo_period_days} 天）"
    rules = []
    for alert in options.burn_alerts:
        speeds = "，或 ".join(_explain(c, options) for c in alert.conditions)
        action = "立即处理" if alert.severity == "page" else "请在工作时间内排查并安排修复"
        rules.append(
            AlertingRule(
                "MedicalInsuranceApiErrorBudgetBurn",
                burn_rate_expr(alert, options.error_budget),
                alert.severity,
                "接口 {{ $labels.api_code }} 错误预算消耗过快",
                f"接口 {{{{ $labels.api_code }}}} 的可用性 {slo}的错误预算"
                f"（{pct(options.error_budget)}）"
                f"正以超过 {speeds}的速度消耗；长窗口系统错误率为 "
                f"{{{{ $value | humanizePercentage }}}}。{action}。" + SYSTEM_ERROR_RUNBOOK,
                options.alert_for(alert.for_),
            )
        )
    return RuleGroup("medical_insurance_sdk.slo", tuple(rules))
