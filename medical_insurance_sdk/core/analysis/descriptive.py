"""Descriptive statistics of one API's calls: counts, rates, latency, errors, concurrency.

Everything is computed with numpy over the columns of a
:class:`~medical_insurance_sdk.core.collection.store.CallSnapshot` already cut to one API and one
window. Percentiles use numpy's default linear interpolation; the standard deviation is
the sample one (``ddof=1``, ``0.0`` for a single call). Rates are fractions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.collection.concurrency import group_slices, grouped_max_concurrency
from medical_insurance_sdk.core.collection.rollups import error_class
from medical_insurance_sdk.core.collection.store import CallSnapshot
from medical_insurance_sdk.redaction import mask_text

__all__ = [
    "PERCENTILES",
    "SYSTEM_ERROR_CLASSES",
    "BasicStats",
    "ErrorAnalysis",
    "ResponseTimeStats",
    "basic_stats",
    "error_analysis",
    "error_class",
    "group_slices",
    "grouped_max_concurrency",
    "latency_order",
    "max_concurrency",
    "response_time_stats",
    "sorted_percentiles",
]

#: Percentiles reported for response times.
PERCENTILES = (50.0, 90.0, 95.0, 99.0)

#: Classes an operator fixes (network, gateway, protocol, session), as opposed to the
#: platform rejecting a request on its merits (business) or bad input (validation).
SYSTEM_ERROR_CLASSES = frozenset(
    {
        "read_timeout",
        "connect_timeout",
        "timeout",
        "network",
        "http_status",
        "gateway_auth",
        "protocol",
        "session",
        "unknown",
        "other",
    }
)


@dataclass(frozen=True)
class BasicStats:
    """Call counts and rates (fractions) of one API in the window."""

    total_calls: int
    successful_calls: int
    failed_calls: int
    success_rate: float
    error_rate: float
    max_concurrent_calls: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "total_calls": self.total_calls,
            "successful_calls": self.successful_calls,
            "failed_calls": self.failed_calls,
            "success_rate": self.success_rate,
            "error_rate": self.error_rate,
            "max_concurrent_calls": self.max_concurrent_calls,
        }


@dataclass(frozen=True)
class ResponseTimeStats:
    """Latency in milliseconds (linear-interpolated percentiles, sample std)."""

    count: int
    mean: float
    median: float
    min: float
    max: float
    std_dev: float
    p90: float
    p95: float
    p99: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "mean": self.mean,
            "median": self.median,
            "min": self.min,
            "max": self.max,
            "std_dev": self.std_dev,
            "p90": self.p90,
            "p95": self.p95,
            "p99": self.p99,
        }


@dataclass(frozen=True)
class ErrorAnalysis:
    """Failed calls by error code, by org and by class (docs/protocol.md §6)."""

    total_errors: int
    error_types: dict[str, int] = field(default_factory=dict)
    error_rate_by_org: dict[str, float] = field(default_factory=dict)
    errors_by_org: dict[str, int] = field(default_factory=dict)
    errors_by_class: dict[str, int] = field(default_factory=dict)
    system_errors: int = 0

    @property
    def most_common_errors(self) -> list[tuple[str, int]]:
        """Up to five ``(error_code, count)`` pairs, most frequent first."""
        return list(self.error_types.items())[:5]

    def to_dict(self) -> dict[str, Any]:
        return {
            "total_errors": self.total_errors,
            "error_types": dict(self.error_types),
            "error_rate_by_org": dict(self.error_rate_by_org),
            "errors_by_org": dict(self.errors_by_org),
            "most_common_errors": [
                {"error_code": code, "count": n} for code, n in self.most_common_errors
            ],
            "errors_by_class": dict(self.errors_by_class),
            "system_errors": self.system_errors,
        }


def latency_order(values: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
    """A stable ``argsort`` of ``values`` (durations), about twice as fast as numpy's.

    Non-negative IEEE-754 doubles order like their bit patterns read as unsigned
    integers, so four stable 16-bit passes (numpy radix-sorts 16-bit keys in linear
    time), least significant first, sort them exactly. Inputs with a negative or NaN
    value fall back to ``np.argsort(kind="stable")``.
    """
    if values.size == 0 or not float(values.min()) >= 0.0:
        return np.argsort(values, kind="stable")
    bits = (values + 0.0).view(np.uint64)  # + 0.0 turns -0.0 into +0.0
    order = np.argsort(bits.astype(np.uint16), kind="stable")
    for shift in (np.uint64(16), np.uint64(32), np.uint64(48)):
        digit = (bits[order] >> shift).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
    return order


def sorted_percentiles(
    values: npt.NDArray[np.float64],
    starts: npt.NDArray[np.intp],
    counts: npt.NDArray[np.intp],
    qs: tuple[float, ...],
) -> npt.NDArray[np.float64]:
    """Percentiles ``qs`` of groups ``values[start:start+count]`` that are each sorted.

    numpy's default (linear) method: the value at virtual index ``(count - 1)·q/100``,
    interpolated between its neighbours. Returns shape ``(len(qs), groups)``; empty
    groups give NaN.
    """
    out = np.full((len(qs), starts.size), np.nan)
    has = counts > 0
    if not has.any():
        return out
    first = starts[has]
    last = first + counts[has] - 1
    for row, q in enumerate(qs):
        pos = first + (counts[has] - 1) * (q / 100.0)
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, last)
        frac = pos - lo
        below, above = values[lo], values[hi]
        out[row, has] = below + (above - below) * frac
    return out


def max_concurrency(timestamp: npt.NDArray[np.float64], duration: npt.NDArray[np.float64]) -> int:
    """Most calls in flight at once, from intervals ``[end - duration, end)``.

    A call ending exactly when another starts does not overlap it.
    """
    n = timestamp.size
    if n == 0:
        return 0
    return int(grouped_max_concurrency(timestamp, duration, np.zeros(n, np.int32), 1)[0])


def basic_stats(snap: CallSnapshot, max_concurrent: int | None = None) -> BasicStats:
    """Counts and rates of the calls in ``snap``.

    ``max_concurrent`` is the most calls one org had in flight at once (the concurrency
    alerts' measure, see :func:`grouped_max_concurrency`); computed here when not given.
    """
    total = len(snap)
    ok = int(np.count_nonzero(snap.success))
    rate = ok / total if total else 0.0
    return BasicStats(
        total_calls=total,
        successful_calls=ok,
        failed_calls=total - ok,
        success_rate=rate,
        error_rate=(total - ok) / total if total else 0.0,
        max_concurrent_calls=(
            int(
                grouped_max_concurrency(
                    snap.timestamp, snap.duration, snap.org, len(snap.org_codes)
                ).max(initial=0)
            )
            if max_concurrent is None
            else max_concurrent
        ),
    )


def response_time_stats(
    ms: npt.NDArray[np.float64], by_latency: npt.NDArray[np.intp] | None = None
) -> ResponseTimeStats:
    """Latency figures of ``ms`` (milliseconds; ``by_latency`` its argsort); zero when empty."""
    n = int(ms.size)
    if n == 0:
        return ResponseTimeStats(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    if by_latency is not None:
        one = np.array([0], dtype=np.intp)
        found = sorted_percentiles(ms[by_latency], one, np.array([n], np.intp), PERCENTILES)[:, 0]
    else:
        found = np.percentile(ms, PERCENTILES)
    p50, p90, p95, p99 = (float(v) for v in found)
    return ResponseTimeStats(
        count=n,
        mean=float(ms.mean()),
        median=p50,
        min=float(ms.min()),
        max=float(ms.max()),
        std_dev=float(ms.std(ddof=1)) if n > 1 else 0.0,
        p90=p90,
        p95=p95,
        p99=p99,
    )


def _named_counts(index: npt.NDArray[np.int32], names: tuple[str, ...]) -> dict[str, int]:
    """``{name: count}`` of a non-negative index column, most frequent first, then by name."""
    if index.size == 0:
        return {}
    counts = np.bincount(index, minlength=len(names))
    pairs = [(names[i], int(counts[i])) for i in np.flatnonzero(counts)]
    return dict(sorted(pairs, key=lambda kv: (-kv[1], kv[0])))


def error_analysis(snap: CallSnapshot) -> ErrorAnalysis:
    """Failed calls of ``snap`` by code, org and class; ``"unknown"`` for calls without a code."""
    failed = ~snap.success
    total_errors = int(np.count_nonzero(failed))
    if total_errors == 0:
        return ErrorAnalysis(0)
    codes = snap.error[failed]
    types: dict[str, int] = {}
    for code, n in _named_counts(codes[codes >= 0], snap.error_codes).items():
        # error codes are bounded SDK tokens; masking guards against a caller's free text
        safe = mask_text(code)
        types[safe] = types.get(safe, 0) + n
    unknown = int(np.count_nonzero(codes < 0))
    if unknown:
        types["unknown"] = types.get("unknown", 0) + unknown
        types = dict(sorted(types.items(), key=lambda kv: (-kv[1], kv[0])))
    classes: dict[str, int] = {}
    for code, n in types.items():
        name = error_class(None if code == "unknown" else code)
        classes[name] = classes.get(name, 0) + n
    n_org = len(snap.org_codes)
    calls_by_org = np.bincount(snap.org, minlength=n_org)
    errors_by_org = np.bincount(snap.org[failed], minlength=n_org)
    by_org = {
        snap.org_codes[i]: float(errors_by_org[i] / calls_by_org[i])
        for i in np.flatnonzero(calls_by_org)
    }
    return ErrorAnalysis(
        total_errors=total_errors,
        error_types=types,
        error_rate_by_org=dict(sorted(by_org.items())),
        errors_by_org=_named_counts(snap.org[failed], snap.org_codes),
        errors_by_class=dict(sorted(classes.items(), key=lambda kv: (-kv[1], kv[0]))),
        system_errors=sum(n for c, n in classes.items() if c in SYSTEM_ERROR_CLASSES),
    )
