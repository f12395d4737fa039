"""What ``misdk rules`` generates from: the SLO, per-API thresholds, job names, windows.

The per-API thresholds are the analyzer's (:func:`default_threshold` per interface class,
overridden per ``api_code``), so Prometheus and the in-process analyzer judge every API by
the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from medical_insurance_sdk.core.analysis.conditions import AlertPolicy
from medical_insurance_sdk.core.analysis.thresholds import PerformanceThreshold, default_threshold
from medical_insurance_sdk.core.runtime.config import DEFAULT_DURATION_BUCKETS, MetricConfig
from medical_insurance_sdk.protocol.catalog import iter_interfaces
from medical_insurance_sdk.rules.baseline_options import BaselineOptions
from medical_insurance_sdk.rules.promql import code_matcher, duration_seconds

__all__ = [
    "MULTIWINDOW_BURN_ALERTS",
    "OTHER_API_CODE",
    "BurnRateAlert",
    "BurnRateCondition",
    "CodeGroup",
    "RulesOptions",
    "duration_seconds",
    "partition_codes",
]

#: The label value the exporter uses when ``api_code`` overflows; like every code outside
#: the catalog it gets the transaction defaults, as in the analyzer.
OTHER_API_CODE = "__other__"


@dataclass(frozen=True)
class BurnRateCondition:
    """Burn rate ``factor`` over both a ``long`` and a ``short`` window."""

    factor: float
    long: str
    short: str


@dataclass(frozen=True)
class BurnRateAlert:
    """One multi-window burn-rate alert: any of its conditions fires it."""

    severity: str
    conditions: tuple[BurnRateCondition, ...]
    for_: str


#: The SRE workbook's multi-window multi-burn-rate alerts for a 30-day SLO.
MULTIWINDOW_BURN_ALERTS: tuple[BurnRateAlert, ...] = (
    BurnRateAlert(
        "page", (BurnRateCondition(14.4, "1h", "5m"), BurnRateCondition(6.0, "6h", "30m")), "2m"
    ),
    BurnRateAlert("ticket", (BurnRateCondition(1.0, "3d", "6h"),), "15m"),
)


@dataclass(frozen=True)
class RulesOptions:
    """Inputs of the generator; validated at construction.

    ``thresholds`` overrides the class defaults per ``api_code`` (the same mapping the
    analyzer takes through ``set_threshold``). ``for_override`` replaces every alert's
    ``for`` (short-interval test copies use ``"0s"``).
    """

    slo_percent: float = 99.9
    slo_period_days: int = 30
    thresholds: Mapping[str, PerformanceThreshold] = field(default_factory=dict)
    scrape_job: str = "medical-insurance-sdk"
    push_job: str = MetricConfig.push_job_name
    push_max_age_seconds: int = 600
    #: A nightly batch job alerts when its last success is older than this (26 h).
    batch_max_age_seconds: int = 26 * 3600
    min_calls: int = AlertPolicy.min_calls
    window: str = "5m"
    outcome_unknown_window: str = "1h"
    duration_buckets: tuple[float, ...] = DEFAULT_DURATION_BUCKETS
    burn_alerts: tuple[BurnRateAlert, ...] = MULTIWINDOW_BURN_ALERTS
    for_override: str | None = None
    #: The baseline bands and anomaly alerts of ``baselines.yml``; ``None`` writes an
    #: empty file (no groups), so a ``rule_files`` entry for it stays valid.
    baselines: BaselineOptions | None = field(default_factory=BaselineOptions)

    def __post_init__(self) -> None:
        slo = self.slo_percent
        if isinstance(slo, bool) or not isinstance(slo, (int, float)) or not 0 < slo < 100:
            raise ValueError(f"slo_percent must be strictly between 0 and 100 (got {slo!r})")
        if self.slo_period_days < 1:
            raise ValueError("slo_period_days must be >= 1")
        for code, t in self.thresholds.items():
            if not isinstance(t, PerformanceThreshold) or t.api_code != code:
                raise ValueError(f"thresholds[{code!r}] must be a PerformanceThreshold for it")
        if min(self.push_max_age_seconds, self.batch_max_age_seconds, self.min_calls) < 1:
            raise ValueError(
                "push_max_age_seconds, batch_max_age_seconds and min_calls must be >= 1"
            )
        for text in (self.window, self.outcome_unknown_window, self.for_override or "0s"):
            duration_seconds(text)
        if not self.duration_buckets or not all(math.isfinite(b) for b in self.duration_buckets):
            raise ValueError("duration_buckets must be finite upper bounds")
        if self.baselines is not None and not isinstance(self.baselines, BaselineOptions):
            raise ValueError(f"baselines must be BaselineOptions or None (got {self.baselines!r})")
        object.__setattr__(self, "thresholds", MappingProxyType(dict(self.thresholds)))

    @property
    def error_budget(self) -> float:
        """``1 - SLO``: 0.001 for 99.9 %."""
        return round(1.0 - self.slo_percent / 100.0, 12)

    @property
    def top_bucket(self) -> float:
        """The largest finite histogram bucket: the highest p95 Prometheus can report."""
        return max(self.duration_buckets)

    @staticmethod
    def fallback_threshold() -> PerformanceThreshold:
        """Thresholds of codes neither in the catalog nor overridden: the transaction class,
        as the analyzer's :func:`default_threshold` gives them."""
        return default_threshold(OTHER_API_CODE)

    def threshold_table(self) -> dict[str, PerformanceThreshold]:
        """Every catalog code and every overridden code with its effective threshold."""
        codes = {entry.code for entry in iter_interfaces()} | set(self.thresholds)
        return {c: self.thresholds.get(c) or default_threshold(c) for c in sorted(codes)}

    def alert_for(self, default: str) -> str:
        """The ``for`` of an alert: ``for_override`` when set."""
        return self.for_override if self.for_override is not None else default


@dataclass(frozen=True)
class CodeGroup:
    """API codes that share one limit.

    The ``catch_all`` group holds the fallback's limit: it selects every code *except*
    ``excluded`` (the other groups' codes), so codes outside the catalog are covered too.
    """

    limit: float
    codes: tuple[str, ...]
    catch_all: bool = False
    excluded: tuple[str, ...] = ()

    def matcher(self) -> str:
        """The ``api_code`` label matcher of this group (empty: every code)."""
        if self.catch_all:
            return code_matcher(self.excluded, negate=True) if self.excluded else ""
        return code_matcher(self.codes)


def partition_codes(
    options: RulesOptions, key: Callable[[PerformanceThreshold], float]
) -> list[CodeGroup]:
    """Group the threshold table by ``key``; the fallback's limit becomes the catch-all.

    With the defaults this gives one group per interface class, so an alert needs one rule
    per class instead of one per API, while each API is still judged by its own limit.
    """
    fallback = key(options.fallback_threshold())
    by_limit: dict[float, list[str]] = {}
    for code, threshold in options.threshold_table().items():
        by_limit.setdefault(key(threshold), []).append(code)
    groups = [
        CodeGroup(limit, tuple(codes)) for limit, codes in by_limit.items() if limit != fallback
    ]
    excluded = tuple(sorted(c for g in groups for c in g.codes))
    groups.append(
        CodeGroup(fallback, tuple(by_limit.get(fallback, ())), catch_all=True, excluded=excluded)
    )
    return sorted(groups, key=lambda g: g.limit)
