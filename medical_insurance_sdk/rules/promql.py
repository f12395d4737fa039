"""PromQL building blocks shared by the rules and the dashboard.

Metric names come from :mod:`medical_insurance_sdk.core.export.prometheus_export`. The split
between *system* errors (an operator fixes them) and business rejections or validation
failures follows the analyzer's error classes
(:data:`medical_insurance_sdk.core.analysis.descriptive.SYSTEM_ERROR_CLASSES`), so the
Prometheus error ratio and the in-process analyzer count the same calls.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "ACTIVE_CONNECTIONS",
    "API_CALLS",
    "API_CALLS_IN_FLIGHT",
    "API_DURATION",
    "API_DURATION_BUCKET",
    "API_ERRORS",
    "CACHE_HIT_RATIO",
    "MONITORING_DROPPED",
    "MONITORING_ERRORS",
    "NON_SYSTEM_ERROR_PREFIXES",
    "OUTCOME_UNKNOWN",
    "REFUSALS_MATCHER",
    "SYSTEM_ERRORS_MATCHER",
    "code_matcher",
    "duration_seconds",
    "increase_or_new",
    "num",
    "selector",
]

API_CALLS = "medical_insurance_api_calls_total"
API_ERRORS = "medical_insurance_api_errors_total"
API_DURATION = "medical_insurance_api_duration_seconds"
API_DURATION_BUCKET = f"{API_DURATION}_bucket"
OUTCOME_UNKNOWN = "medical_insurance_api_outcome_unknown_total"
API_CALLS_IN_FLIGHT = "medical_insurance_api_calls_in_flight"
ACTIVE_CONNECTIONS = "medical_insurance_active_connections"
CACHE_HIT_RATIO = "medical_insurance_cache_hit_ratio"
MONITORING_ERRORS = "medical_insurance_monitoring_errors_total"
MONITORING_DROPPED = "medical_insurance_monitoring_dropped_total"

#: Error-code prefixes of failures that are *not* system errors: the platform rejected the
#: request on its merits (``BIZ_*``, ``INFCODE_*``) or the input was invalid (``VALIDATION``).
NON_SYSTEM_ERROR_PREFIXES: tuple[str, ...] = ("BIZ_", "INFCODE_", "BUSINESS", "VALIDATION")

#: Label matcher selecting system errors (case-insensitive, as the analyzer classifies).
SYSTEM_ERRORS_MATCHER = (
    f'error_code!~"(?i)({"|".join(re.escape(p) for p in NON_SYSTEM_ERROR_PREFIXES)}).*"'
)

#: Label matcher selecting the other failures (business refusals and invalid input): with
#: :data:`SYSTEM_ERRORS_MATCHER` it splits every error series in two.
REFUSALS_MATCHER = SYSTEM_ERRORS_MATCHER.replace("!~", "=~", 1)

_CODE_RE = re.compile(r"^[0-9A-Za-z_]+$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PART_RE = re.compile(r"([0-9]+)(ms|s|m|h|d|w|y)")


def duration_seconds(text: str) -> float:
    """``"1h30m"`` -> ``5400.0``; raises ``ValueError`` for anything else."""
    parts = _PART_RE.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a Prometheus duration")
    return float(sum(int(n) * _UNITS[u] for n, u in parts))


def num(value: float) -> str:
    """A float as PromQL and YAML show it: ``0.0144``, ``5``, ``0.001`` (no float noise)."""
    return format(value, ".10g")


def selector(metric: str, *matchers: str) -> str:
    """``metric{m1, m2}``, or the bare metric name without matchers."""
    present = [m for m in matchers if m]
    return f"{metric}{{{', '.join(present)}}}" if present else metric


def code_matcher(codes: Iterable[str], *, negate: bool = False) -> str:
    """``api_code=~"1101|2207"`` (or ``!~``) for interface codes; rejects odd characters."""
    items = sorted(set(codes))
    for code in items:
        if not _CODE_RE.match(code):
            raise ValueError(f"api_code {code!r} must be letters, digits or '_'")
    if not items:
        raise ValueError("code_matcher needs at least one api_code")
    return f'api_code{"!~" if negate else "=~"}"{"|".join(items)}"'


def increase_or_new(series: str, by: str, window: str) -> str:
    """Count per ``by`` group over ``window``, including series that appeared in it.

    A labelled counter is only exported after its first increment, so its first sample is
    already ``1`` and ``increase()`` misses that event. Series that existed ``window`` ago
    contribute their ``increase()``; newer series contribute their whole value. Append
    ``> 0`` to alert on any event.
    """
    return (
        f"sum by ({by}) (\n  (increase({series}[{window}]) and {series} offset {window})\n"
        f"  or\n  {series}\n)"
    )
