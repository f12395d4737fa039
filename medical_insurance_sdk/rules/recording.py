"""Recording rules: per-API rates, error ratios and p95, and the SLO's error ratios.

Names follow Prometheus's ``level:metric:operations`` convention; the SLO rules use the
``slo:sli_error:ratio_rate<window>`` names of sloth and pyrra, one series per ``api_code``
with the label ``slo``, plus the SLO's metadata (objective, error budget, period).
"""

from __future__ import annotations

from medical_insurance_sdk.rules.model import RecordingRule, RuleGroup
from medical_insurance_sdk.rules.options import RulesOptions, duration_seconds
from medical_insurance_sdk.rules.promql import (
    API_CALLS,
    API_DURATION_BUCKET,
    API_ERRORS,
    OUTCOME_UNKNOWN,
    SYSTEM_ERRORS_MATCHER,
    increase_or_new,
    num,
    selector,
)

__all__ = [
    "SLO_NAME",
    "api_recording_group",
    "burn_windows",
    "calls_increase",
    "error_ratio",
    "latency_p95",
    "outcome_unknown_increase",
    "recording_groups",
    "sli_error_ratio",
    "slo_recording_group",
]

#: Value of the ``slo`` label on every SLO series.
SLO_NAME = "api-availability"


def calls_rate(window: str) -> str:
    return f"api_code:medical_insurance_api_calls:rate{window}"


def calls_increase(window: str) -> str:
    """Name of the per-API call count over ``window`` (the analyzer's ``min_calls`` guard)."""
    return f"api_code:medical_insurance_api_calls:increase{window}"


def system_errors_rate(window: str) -> str:
    return f"api_code:medical_insurance_api_system_errors:rate{window}"


def error_ratio(window: str) -> str:
    """Name of the per-API system-error ratio over ``window``."""
    return f"api_code:medical_insurance_api_system_errors:ratio_rate{window}"


def bucket_rate(window: str) -> str:
    return f"api_code_le:medical_insurance_api_duration_seconds_bucket:rate{window}"


def latency_p95(window: str) -> str:
    """Name of the per-API p95 duration (seconds) over ``window``."""
    return f"api_code:medical_insurance_api_duration_seconds:p95_rate{window}"


def outcome_unknown_increase(window: str) -> str:
    """Name of the outcome-unknown count per (api_code, org_code) over ``window``."""
    return f"api_code_org_code:medical_insurance_api_outcome_unknown:increase{window}"


def sli_error_ratio(window: str) -> str:
    """sloth/pyrra name of the SLO's error ratio over ``window``."""
    return f"slo:sli_error:ratio_rate{window}"


def _ratio_expr(errors: str, calls: str) -> str:
    # an API with calls and no system error has no error series: count it as 0, not absent
    return f"(\n  {errors}\n  or\n  {calls} * 0\n)\n/\n{calls}"


def api_recording_group(options: RulesOptions) -> RuleGroup:
    """Rates, ratio and p95 per ``api_code`` over ``options.window``."""
    w = options.window
    errors = selector(API_ERRORS, SYSTEM_ERRORS_MATCHER)
    return RuleGroup(
        "medical_insurance_sdk.api.recording",
        (
            RecordingRule(calls_rate(w), f"sum by (api_code) (rate({API_CALLS}[{w}]))"),
            RecordingRule(calls_increase(w), f"sum by (api_code) (increase({API_CALLS}[{w}]))"),
            RecordingRule(system_errors_rate(w), f"sum by (api_code) (rate({errors}[{w}]))"),
            RecordingRule(error_ratio(w), _ratio_expr(system_errors_rate(w), calls_rate(w))),
            RecordingRule(
                bucket_rate(w), f"sum by (api_code, le) (rate({API_DURATION_BUCKET}[{w}]))"
            ),
            RecordingRule(latency_p95(w), f"histogram_quantile(0.95, {bucket_rate(w)})"),
            # counts the first event of a new series too (see increase_or_new)
            RecordingRule(
                outcome_unknown_increase(options.outcome_unknown_window),
                increase_or_new(
                    OUTCOME_UNKNOWN, "api_code, org_code", options.outcome_unknown_window
                ),
            ),
        ),
    )


def burn_windows(options: RulesOptions) -> list[str]:
    """Every window the burn-rate alerts use, shortest first."""
    windows = {w for a in options.burn_alerts for c in a.conditions for w in (c.long, c.short)}
    return sorted(windows, key=duration_seconds)


def slo_recording_group(options: RulesOptions) -> RuleGroup:
    """SLO metadata, the error ratio per burn window and the current burn rate."""
    slo = {"slo": SLO_NAME}
    errors = selector(API_ERRORS, SYSTEM_ERRORS_MATCHER)
    rules: list[RecordingRule] = [
        RecordingRule("slo:objective:ratio", f"vector({num(options.slo_percent / 100)})", slo),
        RecordingRule("slo:error_budget:ratio", f"vector({num(options.error_budget)})", slo),
        RecordingRule("slo:time_period:days", f"vector({options.slo_period_days})", slo),
    ]
    for w in burn_windows(options):
        err = f"sum by (api_code) (rate({errors}[{w}]))"
        calls = f"sum by (api_code) (rate({API_CALLS}[{w}]))"
        rules.append(RecordingRule(sli_error_ratio(w), _ratio_expr(err, calls), slo))
    shortest = burn_windows(options)[0]
    rules.append(
        RecordingRule(
            "slo:current_burn_rate:ratio",
            f"{sli_error_ratio(shortest)} / on (slo) group_left () slo:error_budget:ratio",
        )
    )
    return RuleGroup("medical_insurance_sdk.slo.recording", tuple(rules))


def recording_groups(options: RulesOptions) -> list[RuleGroup]:
    """The groups of ``recording.yml``."""
    return [api_recording_group(options), slo_recording_group(options)]
