"""``record_custom_metric``: user metrics, stored and exported.

Each call is validated (name, type, value, labels) and raises ``ValueError`` naming the
problem: this is an explicit API. Values are kept as :class:`PerformanceMetric` records
in a bounded deque and, when prometheus_client is available, exported through a real
prometheus_client metric of the requested type created on first use of the name.
"""

from __future__ import annotations

import math
import re
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from medical_insurance_sdk.core.collection.labels import OTHER, sanitize_label

__all__ = ["METRIC_TYPES", "CustomMetrics", "PerformanceMetric", "validate_metric_name"]

METRIC_TYPES = ("counter", "gauge", "histogram", "summary")
_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


@dataclass(frozen=True)
class PerformanceMetric:
    """One recorded custom metric value (the original API's ``PerformanceMetric``)."""

    name: str
    value: float
    metric_type: str = "gauge"
    labels: dict[str, str] = field(default_factory=dict)
    timestamp: float = 0.0
    additional_data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "metric_type": self.metric_type,
            "labels": dict(self.labels),
            "timestamp": self.timestamp,
            "additional_data": dict(self.additional_data),
        }


def validate_metric_name(name: object) -> str:
    """Return ``name`` if it is a valid Prometheus metric name, else raise ``ValueError``."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            f"record_custom_metric: invalid metric name {name!r} "
            "(must match [a-zA-Z_:][a-zA-Z0-9_:]*)"
        )
    return name


class CustomMetrics:
    """Stores custom metric values and feeds matching prometheus_client metrics."""

    def __init__(
        self,
        maxlen: int,
        clock: Callable[[], float],
        registry: Any | None = None,
        max_series: int = 2000,
    ) -> None:
        self._records: deque[PerformanceMetric] = deque(maxlen=maxlen)
        self._clock = clock
        self._registry = registry
        self._max_series = max_series
        self._lock = threading.Lock()
        self._metrics: dict[str, tuple[str, tuple[str, ...], Any]] = {}
        self._series: dict[str, set[tuple[str, ...]]] = {}
        self.overflow = 0

    def record(
        self,
        name: object,
        value: object,
        metric_type: object = "gauge",
        labels: Mapping[str, object] | None = None,
        additional_data: Mapping[str, Any] | None = None,
        *,
        keep: bool = True,
    ) -> PerformanceMetric | None:
        """Validate and record one value; raise ``ValueError`` naming what is wrong.

        With ``keep=False`` (monitoring disabled) the value is validated, not recorded.
        """
        metric_name = validate_metric_name(name)
        if metric_type not in METRIC_TYPES:
            raise ValueError(
                f"record_custom_metric: metric_type must be one of "
                f"{', '.join(METRIC_TYPES)} (got {metric_type!r})"
            )
        kind = str(metric_type)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"record_custom_metric: value must be a number (got {value!r})")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"record_custom_metric: value must be finite (got {value!r})")
        if kind == "counter" and number < 0:
            raise ValueError(
                f"record_custom_metric: a counter increment must be >= 0 (got {value!r})"
            )
        clean_labels: dict[str, str] = {}
        for key, val in (labels or {}).items():
            if not isinstance(key, str) or not _LABEL_RE.match(key) or key.startswith("__"):
                raise ValueError(f"record_custom_metric: invalid label name {key!r}")
            clean_labels[key] = sanitize_label(val, 64)
        if additional_data is not None and not isinstance(additional_data, Mapping):
            raise ValueError("record_custom_metric: additional_data must be a mapping or None")
        record = PerformanceMetric(
            metric_name, number, kind, clean_labels, self._clock(), dict(additional_data or {})
        )
        if not keep:
            return None
        with self._lock:
            self._export(record)
            self._records.append(record)
        return record

    def _export(self, record: PerformanceMetric) -> None:
        if self._registry is None:
            return
        labelnames = tuple(sorted(record.labels))
        known = self._metrics.get(record.name)
        if known is None:
            known = (record.metric_type, labelnames, self._create(record, labelnames))
            self._metrics[record.name] = known
            self._series[record.name] = set()
        kind, names, metric = known
        if kind != record.metric_type or names != labelnames:
            raise ValueError(
                f"record_custom_metric: {record.name!r} was first recorded as "
                f"{kind} with labels {list(names)}; got {record.metric_type} "
                f"with labels {list(labelnames)}"
            )
        values = tuple(record.labels[n] for n in names)
        series = self._series[record.name]
        if values not in series:
            if len(series) >= self._max_series:
                self.overflow += 1
                values = tuple(OTHER for _ in names)
            series.add(values)
        child = metric.labels(*values) if names else metric
        if kind == "counter":
            child.inc(record.value)
        elif kind == "gauge":
            child.set(record.value)
        else:
            child.observe(record.value)

    def _create(self, record: PerformanceMetric, labelnames: tuple[str, ...]) -> Any:
        from prometheus_client import Counter, Gauge, Histogram, Summary

        cls = {"counter": Counter, "gauge": Gauge, "histogram": Histogram, "summary": Summary}[
            record.metric_type
        ]
        name = record.name
        if record.metric_type == "counter" and name.endswith("_total"):
            name = name[: -len("_total")]
        try:
            return cls(
                name, f"custom metric {record.name}", labelnames=labelnames, registry=self._registry
            )
        except ValueError as exc:  # duplicated timeseries, reserved names
            raise ValueError(f"record_custom_metric: cannot export {record.name!r}: {exc}") from exc

    def records(self) -> list[PerformanceMetric]:
        """Stored values, oldest first."""
        with self._lock:
            return list(self._records)

    def remove_older_than(self, cutoff: float) -> int:
        """Drop stored values older than ``cutoff``; return how many."""
        with self._lock:
            removed = 0
            while self._records and self._records[0].timestamp < cutoff:
                self._records.popleft()
                removed += 1
            return removed
