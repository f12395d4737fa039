"""Per-API performance thresholds, with defaults per interface class.

Every API is put in one class from its kind and category in the interface catalog
(:mod:`medical_insurance_sdk.protocol.catalog`, docs/protocol.md §4):

========== ================================== ======== ======== ======== ==========
class      which interfaces                   max p95  max sys. min      max
                                              (ms)     errors   success  concurrent
========== ================================== ======== ======== ======== ==========
query      R (read-only) queries              2000     2 %      98 %     100
transfer   catalog downloads, file transfer   30000    5 %      95 %     10
transaction W: changes state                  3000     1 %      99 %     50
settlement W$: moves money or reverses it     5000     0.5 %    99.5 %   20
========== ================================== ======== ======== ======== ==========

Unknown codes are treated as transactions. :meth:`PerformanceAnalyzer.set_threshold`
overrides the defaults per API.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

from medical_insurance_sdk.protocol.catalog import Category, Kind, find_interface

__all__ = [
    "DEFAULT_THRESHOLDS",
    "PerformanceThreshold",
    "api_class",
    "api_name",
    "default_threshold",
]


@dataclass(frozen=True)
class PerformanceThreshold:
    """Targets of one API (the original API's fields); validated at construction.

    ``max_response_time_ms`` bounds the p95 and is the Apdex ``T`` of the score;
    ``max_error_rate`` bounds the rate of system errors (network, timeouts, gateway,
    protocol, session; not business rejections); ``min_success_rate`` is the success
    target (its complement is the error budget); ``max_concurrent_calls`` bounds the
    calls in flight at once.
    """

    api_code: str
    max_response_time_ms: float
    max_error_rate: float
    min_success_rate: float
    max_concurrent_calls: int = 50

    def __post_init__(self) -> None:
        if not isinstance(self.api_code, str) or not self.api_code:
            raise ValueError("PerformanceThreshold.api_code must be a non-empty str")
        t = self.max_response_time_ms
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0:
            raise ValueError(f"PerformanceThreshold.max_response_time_ms must be > 0 (got {t!r})")
        for name in ("max_error_rate", "min_success_rate"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                raise ValueError(f"PerformanceThreshold.{name} must be in 0..1 (got {v!r})")
        c = self.max_concurrent_calls
        if isinstance(c, bool) or not isinstance(c, int) or c < 1:
            raise ValueError(f"PerformanceThreshold.max_concurrent_calls must be >= 1 (got {c!r})")

    def to_dict(self) -> dict[str, Any]:
        return {
            "api_code": self.api_code,
            "max_response_time_ms": self.max_response_time_ms,
            "max_error_rate": self.max_error_rate,
            "min_success_rate": self.min_success_rate,
            "max_concurrent_calls": self.max_concurrent_calls,
        }


#: class -> (max_response_time_ms, max_error_rate, min_success_rate, max_concurrent_calls)
DEFAULT_THRESHOLDS: dict[str, tuple[float, float, float, int]] = {
    "query": (2000.0, 0.02, 0.98, 100),
    "transfer": (30000.0, 0.05, 0.95, 10),
    "transaction": (3000.0, 0.01, 0.99, 50),
    "settlement": (5000.0, 0.005, 0.995, 20),
}


@functools.lru_cache(maxsize=4096)
def api_class(api_code: str) -> str:
    """``query``, ``transfer``, ``transaction`` or ``settlement`` (unknown: transaction)."""
    entry = find_interface(api_code)
    if entry is None:
        return "transaction"
    if entry.kind is Kind.WRITE_MONEY:
        return "settlement"
    if entry.category is Category.FILE or (
        entry.category is Category.CATALOG and entry.name.endswith("下载")
    ):
        return "transfer"
    return "query" if entry.kind is Kind.READ else "transaction"


@functools.lru_cache(maxsize=4096)
def api_name(api_code: str) -> str:
    """The Chinese name of ``api_code`` when the catalog knows it, else ``""``."""
    entry = find_interface(api_code)
    return entry.name if entry is not None else ""


def default_threshold(api_code: str) -> PerformanceThreshold:
    """The class default for ``api_code``."""
    rt, err, ok, conc = DEFAULT_THRESHOLDS[api_class(api_code)]
    return PerformanceThreshold(api_code, rt, err, ok, conc)
