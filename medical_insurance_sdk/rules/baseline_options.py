"""Options of the baseline-band rules (``baselines.yml``): offsets, limits, evidence.

A band is learned from the values a series had at the same time on earlier days and
weeks (``offsets``); the alerts compare the current value with it. Every figure here is
validated at construction and a bad one raises ``ValueError`` naming it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from medical_insurance_sdk.core.analysis.texts import Lang, check_lang
from medical_insurance_sdk.rules.promql import duration_seconds

__all__ = ["DEFAULT_BASELINE_OFFSETS", "BaselineOptions"]

#: The same time 1, 2 and 3 days ago (daily shape, learned within days) and 1 and 2 weeks
#: ago (the weekday/weekend pattern); 2w fits Prometheus's default 15-day retention.
DEFAULT_BASELINE_OFFSETS: tuple[str, ...] = ("1d", "2d", "3d", "1w", "2w")


def _positive(name: str, value: object, *, integer: bool = False) -> None:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ValueError(f"{name} must be {'an int' if integer else 'a number'} (got {value!r})")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be finite and > 0 (got {value!r})")


@dataclass(frozen=True)
class BaselineOptions:
    """What ``baselines.yml`` learns and when its alerts fire.

    - ``offsets``: how far back the band looks (Prometheus durations, each at least a
      day so it lands on the same time of day, all distinct); ``min_offsets`` of them
      must hold a value before a band is trusted (the first alerts come after
      ``min_offsets`` days of history).
    - ``z_limit``: how many band spreads a value must be away from the band level.
    - ``latency_factor``: p95 at least this many times the band level.
    - ``drop_factor``: traffic below the band level divided by this.
    - ``min_calls``: calls per window needed (now for latency, expected by the band for a
      traffic drop), so quiet hours never alert.
    - ``min_refusals``: business refusals per window needed for a refusal surge.
    - ``spread_floor``: the band spread is at least this fraction of the level.
    - ``per_org``: bands per (api_code, org_code) as well as per api_code; switch off
      for gateways with hundreds of institutions (16 series per pair).
    - ``language``: ``zh`` or ``en`` for the alerts' summary and description.
    """

    offsets: tuple[str, ...] = DEFAULT_BASELINE_OFFSETS
    min_offsets: int = 3
    z_limit: float = 3.0
    latency_factor: float = 3.0
    drop_factor: float = 4.0
    min_calls: int = 10
    min_refusals: int = 3
    spread_floor: float = 0.1
    per_org: bool = True
    language: Lang = "zh"

    def __post_init__(self) -> None:
        raw: object = self.offsets
        if isinstance(raw, str) or not self.offsets:
            raise ValueError("baseline offsets must be a non-empty sequence of durations")
        seconds = [duration_seconds(o) for o in self.offsets]
        if min(seconds) < 86400:
            raise ValueError(f"baseline offsets must each be at least 1d (got {self.offsets})")
        if len(set(seconds)) != len(seconds):
            raise ValueError(f"baseline offsets must be distinct (got {self.offsets})")
        object.__setattr__(self, "offsets", tuple(self.offsets))
        for name in ("min_offsets", "min_calls", "min_refusals"):
            _positive(f"baseline {name}", getattr(self, name), integer=True)
        if self.min_offsets > len(self.offsets):
            raise ValueError(
                f"baseline min_offsets ({self.min_offsets}) exceeds the number of offsets "
                f"({len(self.offsets)})"
            )
        for name in ("z_limit", "latency_factor", "drop_factor", "spread_floor"):
            _positive(f"baseline {name}", getattr(self, name))
        if self.latency_factor <= 1 or self.drop_factor <= 1:
            raise ValueError("baseline latency_factor and drop_factor must be > 1")
        if not isinstance(self.per_org, bool):
            raise ValueError(f"baseline per_org must be a bool (got {self.per_org!r})")
        object.__setattr__(self, "language", check_lang(self.language))
