"""Recording rules of the baseline bands: what a series usually is at this time of day.

For each series ``X`` (calls per second, p95 seconds, system-error ratio, business-refusal
ratio over ``options.window``), per (api_code, org_code) and per api_code, the values at
the same time on earlier days and weeks (``X offset 1d``, ``... 2d``, ``... 1w``) are
gathered into one vector by giving each an ``offset`` label; then

- ``X_baseline_level``   = ``quantile(0.5, ...)``: their median (robust to one bad day);
- ``X_baseline_offsets`` = how many offsets had a value (how many days the band rests on);
- ``X_baseline_spread``  = ``1.4826 * median(|value - level|)`` (the MAD, scaled to a
  standard deviation for normal data), at least ``spread_floor * level`` and an absolute
  floor, so a flat series does not give a zero-width band.

NaN values (a ratio or p95 with no calls) are dropped with ``>= 0`` before the median.
Names follow ``level:metric:operations``; the per-API current series are those of
``recording.yml`` (:mod:`.recording`), the per-pair ones are recorded here.
"""

from __future__ import annotations

from dataclasses import dataclass

from medical_insurance_sdk.rules.baseline_options import BaselineOptions
from medical_insurance_sdk.rules.model import RecordingRule, RuleGroup
from medical_insurance_sdk.rules.options import RulesOptions
from medical_insurance_sdk.rules.promql import (
    API_CALLS,
    API_DURATION_BUCKET,
    API_ERRORS,
    REFUSALS_MATCHER,
    SYSTEM_ERRORS_MATCHER,
    duration_seconds,
    num,
    selector,
)

__all__ = [
    "API",
    "BASELINE_METRICS",
    "MAD_TO_SIGMA",
    "PAIR",
    "BandSeries",
    "Scope",
    "band_series",
    "baseline_recording_group",
    "scopes",
]

#: The series a band is learned for: calls/s, p95 (s), system-error and refusal ratios.
BASELINE_METRICS = ("calls", "latency", "system_errors", "refusals")

#: Median absolute deviation -> standard deviation of a normal distribution.
MAD_TO_SIGMA = 1.4826

_NAMES = {
    "calls": ("medical_insurance_api_calls", "rate"),
    "latency": ("medical_insurance_api_duration_seconds", "p95_rate"),
    "system_errors": ("medical_insurance_api_system_errors", "ratio_rate"),
    "refusals": ("medical_insurance_api_refusals", "ratio_rate"),
}


@dataclass(frozen=True)
class Scope:
    """Which labels a band is kept by: ``("api_code", "org_code")`` or ``("api_code",)``."""

    labels: tuple[str, ...]

    @property
    def by(self) -> str:
        """``api_code, org_code``: the ``by``/``on`` clause."""
        return ", ".join(self.labels)

    @property
    def prefix(self) -> str:
        """``api_code_org_code``: the level part of a recorded name."""
        return "_".join(self.labels)


PAIR = Scope(("api_code", "org_code"))
API = Scope(("api_code",))


def scopes(baselines: BaselineOptions) -> list[Scope]:
    """Per-API bands always; per (api_code, org_code) ones unless ``per_org`` is off."""
    return [API, PAIR] if baselines.per_org else [API]


@dataclass(frozen=True)
class BandSeries:
    """The recorded names of one metric's current value and band in one scope."""

    current: str

    @property
    def level(self) -> str:
        return f"{self.current}_baseline_level"

    @property
    def spread(self) -> str:
        return f"{self.current}_baseline_spread"

    @property
    def offsets(self) -> str:
        return f"{self.current}_baseline_offsets"


def band_series(metric: str, scope: Scope, window: str) -> BandSeries:
    """Names for ``metric`` (one of :data:`BASELINE_METRICS`) kept by ``scope``."""
    if metric not in _NAMES:
        raise ValueError(f"baseline metric must be one of {BASELINE_METRICS} (got {metric!r})")
    name, op = _NAMES[metric]
    return BandSeries(f"{scope.prefix}:{name}:{op}{window}")


def _abs_floor(metric: str, options: RulesOptions) -> float:
    """The smallest band spread: one call per window, 10 ms, half a percentage point."""
    if metric == "calls":
        return 1.0 / duration_seconds(options.window)
    return 0.01 if metric == "latency" else 0.005


def _ratio(errors_matcher: str, scope: Scope, calls: str, w: str) -> str:
    errors = f"sum by ({scope.by}) (rate({selector(API_ERRORS, errors_matcher)}[{w}]))"
    # calls without errors of this kind have no error series: 0, not absent
    return f"(\n  {errors}\n  or\n  {calls} * 0\n)\n/\n{calls}"


def _current_rules(scope: Scope, options: RulesOptions) -> list[RecordingRule]:
    """The per-scope current series ``recording.yml`` lacks."""
    w = options.window
    calls = band_series("calls", scope, w).current
    refusals = RecordingRule(
        band_series("refusals", scope, w).current, _ratio(REFUSALS_MATCHER, scope, calls, w)
    )
    if scope == API:
        return [refusals]
    return [
        RecordingRule(calls, f"sum by ({scope.by}) (rate({API_CALLS}[{w}]))"),
        RecordingRule(
            band_series("system_errors", scope, w).current,
            _ratio(SYSTEM_ERRORS_MATCHER, scope, calls, w),
        ),
        refusals,
        RecordingRule(
            band_series("latency", scope, w).current,
            "histogram_quantile(\n  0.95,\n"
            f"  sum by ({scope.by}, le) (rate({API_DURATION_BUCKET}[{w}]))\n)",
        ),
    ]


def _history(series: str, offsets: tuple[str, ...]) -> str:
    """The values at each offset, labelled ``offset="1d"``...; NaN dropped."""
    parts = [f'label_replace({series} offset {o} >= 0, "offset", "{o}", "", "")' for o in offsets]
    return "(\n  " + "\n  or\n  ".join(parts) + "\n)"


def _band_rules(
    metric: str, scope: Scope, options: RulesOptions, baselines: BaselineOptions
) -> list[RecordingRule]:
    band = band_series(metric, scope, options.window)
    history = _history(band.current, baselines.offsets)
    rel = num(baselines.spread_floor)
    deviations = f"abs({history} - on ({scope.by}) group_left () {band.level})"
    mad = f"quantile by ({scope.by}) (\n  0.5,\n  {deviations}\n)"
    spread = (
        f"clamp_min(\n  (\n{MAD_TO_SIGMA} * {mad}\n  >= {rel} * {band.level}\n  )\n"
        f"  or\n  {rel} * {band.level},\n  {num(_abs_floor(metric, options))}\n)"
    )
    return [
        RecordingRule(band.level, f"quantile by ({scope.by}) (0.5, {history})"),
        RecordingRule(band.offsets, f"count by ({scope.by}) ({history})"),
        RecordingRule(band.spread, spread),
    ]


def baseline_recording_group(options: RulesOptions) -> RuleGroup | None:
    """Current per-pair series and every band; ``None`` when baselines are off."""
    baselines = options.baselines
    if baselines is None:
        return None
    rules: list[RecordingRule] = []
    for scope in scopes(baselines):
        rules += _current_rules(scope, options)
    for scope in scopes(baselines):
        for metric in BASELINE_METRICS:
            rules += _band_rules(metric, scope, options, baselines)
    return RuleGroup("medical_insurance_sdk.baseline.recording", tuple(rules))
