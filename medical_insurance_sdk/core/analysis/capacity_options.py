"""What a capacity plan covers (:class:`CapacityOptions`), validated at construction."""

from __future__ import annotations

from dataclasses import dataclass

from medical_insurance_sdk.core.runtime.validation import check_finite, check_positive

__all__ = ["DEFAULT_POOL_SIZE", "CapacityOptions"]

#: The clients' connection pool (``httpx.Limits(max_connections=100)``): the analyzer
#: cannot see a client, so a different pool is passed as ``pool_size``.
DEFAULT_POOL_SIZE = 100


def _int_in(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an int in [{low}, {high}] (got {value!r})")
    return value


@dataclass(frozen=True)
class CapacityOptions:
    """What a plan covers; validated at construction (``ValueError`` naming the field)."""

    horizon_days: int = 90
    history_days: float = 56.0
    pool_size: int = DEFAULT_POOL_SIZE
    rate_limit_per_minute: float | None = None
    level: float = 0.9
    utc_offset_hours: float = 8.0
    api_code: str | None = None
    org_code: str | None = None

    def __post_init__(self) -> None:
        _int_in("horizon_days", self.horizon_days, 1, 730)
        days = check_positive("history_days", self.history_days)
        if days > 400:
            raise ValueError(f"history_days must be <= 400 (got {self.history_days!r})")
        _int_in("pool_size", self.pool_size, 1, 1_000_000)
        if self.rate_limit_per_minute is not None:
            check_positive("rate_limit_per_minute", self.rate_limit_per_minute)
        level = check_finite("level", self.level)
        if not 0.5 <= level <= 0.99:
            raise ValueError(f"level must be in [0.5, 0.99] (got {self.level!r})")
        if abs(check_finite("utc_offset_hours", self.utc_offset_hours)) > 14:
            raise ValueError(
                f"utc_offset_hours must be in [-14, 14] (got {self.utc_offset_hours!r})"
            )
        for name in ("api_code", "org_code"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"{name} must be None or a non-empty str (got {value!r})")
