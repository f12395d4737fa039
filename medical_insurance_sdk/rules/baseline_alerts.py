"""Anomaly alerts against the baseline bands of :mod:`.baseline_recording`.

With ``X`` the current value over ``options.window``, ``L`` the band level, ``S`` its
spread, ``N`` how many offsets hold a value and ``n`` the calls in the window:

- ``MedicalInsuranceApiLatencyAboveBaseline``: ``X >= latency_factor * L`` and
  ``(X - L) / S >= z_limit``, with ``n >= min_calls`` (when the histogram has no
  ``org_code``, ``histogram_by_org: false``, its p95 is judged with the API's calls);
- ``MedicalInsuranceApiTrafficDrop``: ``X < L / drop_factor`` and ``(L - X) / S >= z_limit``
  where the band expects ``L * window >= min_calls`` calls (a vanished series counts as
  0); not evaluated while an SDK target of the scrape job is down;
- ``MedicalInsuranceApiRefusalSurge``: ``X > L + z_limit * sqrt(S^2 + (L + 1/n) / n)``, the
  band's spread plus the sampling noise of ``n`` calls, with at least ``min_refusals``
  refusals;

all only where ``N >= min_offsets``. The alerts are per (api_code, org_code) (label
``scope="org"``), or per api_code (``scope="api"``) when ``per_org`` is off: a hospital's
outage is its own, and a platform-wide incident gives one alert per institution, which
Alertmanager's ``group_by: [alertname, api_code]`` folds into one notification. (An
org's slowdown moves the API's aggregate p95 as soon as it carries 5 % of the calls, so
alerting on both scopes would misreport one hospital's problem as the platform's.)
"""

from __future__ import annotations

from medical_insurance_sdk.rules.baseline_options import BaselineOptions
from medical_insurance_sdk.rules.baseline_recording import (
    API,
    PAIR,
    BandSeries,
    Scope,
    band_series,
    scopes,
)
from medical_insurance_sdk.rules.baseline_texts import band_query, baseline_text
from medical_insurance_sdk.rules.model import AlertingRule, RuleGroup
from medical_insurance_sdk.rules.options import RulesOptions
from medical_insurance_sdk.rules.promql import duration_seconds, num

__all__ = ["BASELINE_ALERTS", "baseline_alert_group"]

#: Alert name, severity and ``for`` of each kind.
BASELINE_ALERTS: dict[str, tuple[str, str, str]] = {
    "latency": ("MedicalInsuranceApiLatencyAboveBaseline", "warning", "1m"),
    "drop": ("MedicalInsuranceApiTrafficDrop", "critical", "1m"),
    "refusals": ("MedicalInsuranceApiRefusalSurge", "warning", "2m"),
}


class _Exprs:
    """The conditions of one scope; ``ws`` is the window in seconds."""

    def __init__(self, scope: Scope, options: RulesOptions, baselines: BaselineOptions) -> None:
        self.scope, self.options, self.b = scope, options, baselines
        self.ws = num(duration_seconds(options.window))
        self.calls = band_series("calls", scope, options.window)

    def _band(self, metric: str) -> BandSeries:
        return band_series(metric, self.scope, self.options.window)

    def _ready(self, band: BandSeries) -> str:
        return f"and {band.offsets} >= {self.b.min_offsets}"

    def _latency(self, sel: str, calls: str) -> str:
        p95, b = self._band("latency"), self.b
        now, level, spread = (f"{n}{sel}" for n in (p95.current, p95.level, p95.spread))
        return (
            f"{now} >= {num(b.latency_factor)} * {level}\n"
            f"and ({now} - {level}) / {spread} >= {num(b.z_limit)}\n"
            f"and {calls} * {self.ws} >= {b.min_calls}\n"
            f"and {p95.offsets}{sel} >= {b.min_offsets}"
        )

    def latency(self) -> str:
        own = self._latency("", self.calls.current)
        if self.scope != PAIR:
            return own
        # with histogram_by_org: false the p95 has no org_code: judge it per API instead
        api_calls = band_series("calls", API, self.options.window).current
        per_api = self._latency('{org_code=""}', f"on (api_code) {api_calls}")
        return f"(\n{own}\n)\nor\n(\n{per_api}\n)"

    def drop(self) -> str:
        c, b = self.calls, self.b
        now = f"({c.current} or 0 * {c.level})"
        return (
            f"60 * {now} < {num(60 / b.drop_factor)} * {c.level}\n"
            f"and ({c.level} - {now}) / {c.spread} >= {num(b.z_limit)}\n"
            f"and {c.level} * {self.ws} >= {b.min_calls}\n"
            + self._ready(c)
            + f'\nunless on () (up{{job="{self.options.scrape_job}"}} == 0)'
        )

    def refusals(self) -> str:
        r, b = self._band("refusals"), self.b
        n = f"({self.calls.current} * {self.ws})"
        noise = f"sqrt({r.spread} ^ 2 + ({r.level} + 1 / {n}) / {n})"
        return (
            f"{r.current} > {r.level} + {num(b.z_limit)} * {noise}\n"
            f"and {r.current} * {n} >= {b.min_refusals}\n" + self._ready(r)
        )

    def condition(self, kind: str) -> str:
        """The condition of alert ``kind`` (a key of :data:`BASELINE_ALERTS`)."""
        return {"latency": self.latency, "drop": self.drop, "refusals": self.refusals}[kind]()


def _figures(kind: str, scope: Scope, options: RulesOptions, b: BaselineOptions) -> dict[str, str]:
    w = options.window
    calls, p95, ref = (band_series(m, scope, w) for m in ("calls", "latency", "refusals"))
    figures = {
        "window": w,
        "offsets": "/".join(b.offsets),
        "min_offsets": str(b.min_offsets),
        "z": num(b.z_limit),
        "min_calls": str(b.min_calls),
        "min_refusals": str(b.min_refusals),
    }
    if kind == "latency":
        figures["factor"] = num(b.latency_factor)
        figures["level"] = band_query(f"{p95.level}{{sel}}", scope, "humanizeDuration")
        figures["ratio"] = band_query(
            f"{p95.current}{{sel}} / {p95.level}{{sel}}", scope, 'printf "%.1f"'
        )
    elif kind == "drop":
        figures["factor"] = num(b.drop_factor)
        figures["level"] = band_query(f"60 * {calls.level}{{sel}}", scope, "humanize")
    else:
        ws = num(duration_seconds(w))
        figures["level"] = band_query(f"{ref.level}{{sel}}", scope, "humanizePercentage")
        figures["count"] = band_query(
            f"{ref.current}{{sel}} * {calls.current}{{sel}} * {ws}", scope, 'printf "%.0f"'
        )
    return figures


def _rule(kind: str, scope: Scope, options: RulesOptions, b: BaselineOptions) -> AlertingRule:
    name, severity, wait = BASELINE_ALERTS[kind]
    expr = _Exprs(scope, options, b).condition(kind)
    text = baseline_text(kind, scope, b.language, _figures(kind, scope, options, b))
    return AlertingRule(
        name,
        expr,
        severity,
        text.summary,
        text.description,
        options.alert_for(wait),
        labels={"scope": "org" if scope == PAIR else "api"},
    )


def baseline_alert_group(options: RulesOptions) -> RuleGroup | None:
    """Latency, traffic-drop and refusal alerts; ``None`` when baselines are off."""
    b = options.baselines
    if b is None:
        return None
    scope = scopes(b)[-1]  # the finest scope kept
    rules = [_rule(kind, scope, options, b) for kind in BASELINE_ALERTS]
    return RuleGroup("medical_insurance_sdk.baseline", tuple(rules))
