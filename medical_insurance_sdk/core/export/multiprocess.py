"""Multiprocess mode for worker pools (gunicorn, uwsgi, celery): prometheus_client's own.

With ``PROMETHEUS_MULTIPROC_DIR`` set before prometheus_client is first imported, its
metric values live in per-process mmap files that ``MultiProcessCollector`` merges at
scrape time. Our custom collector keeps its totals in process memory and cannot be merged,
so in this mode :class:`MultiprocessExporter` (a store listener) feeds real
prometheus_client metrics instead, from each folded batch, on a background thread that
folds the store every second. The hot path is unchanged.

What multiprocess mode gives up (prometheus_client's limits): exemplars, the Info metric,
the psutil gauges of each worker, and pushing (push from a batch job, not from a pool).
Call :func:`mark_process_dead` from the pool's child-exit hook so dead workers' gauge
files are removed; their counters are kept, as Prometheus counters must be.
"""

from __future__ import annotations

import os

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.multiprocess import mark_process_dead as _mark_process_dead

from medical_insurance_sdk.core.collection.labelled_numbers import LabelledNumbers
from medical_insurance_sdk.core.collection.labels import LabelTable
from medical_insurance_sdk.core.collection.store import CallBatch
from medical_insurance_sdk.core.runtime.config import MetricConfig

__all__ = [
    "MULTIPROC_ENV",
    "MultiprocessExporter",
    "mark_process_dead",
    "multiprocess_dir",
    "multiprocess_registry",
]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The multiprocess directory if multiprocess mode is on in this process."""
    return os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower())


def multiprocess_registry(path: str | None = None) -> CollectorRegistry:
    """A registry that merges every worker's files: serve this one."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    return registry


def mark_process_dead(pid: int, path: str | None = None) -> None:
    """Remove a dead worker's live-gauge files (call from gunicorn's ``child_exit``)."""
    _mark_process_dead(pid, path)  # type: ignore[no-untyped-call]


class MultiprocessExporter:
    """Feeds prometheus_client metrics (mmap-backed) from folded batches."""

    def __init__(self, config: MetricConfig, registry: CollectorRegistry) -> None:
        labels = ["api_code", "org_code"]
        self._by_org = config.histogram_by_org
        self.calls = Counter(
            "medical_insurance_api_calls", "医保接口调用总数 API calls",
            [*labels, "status"], registry=registry,
        )  # fmt: skip
        self.duration = Histogram(
            "medical_insurance_api_duration_seconds", "医保接口响应时间 API call duration",
            labels if self._by_org else ["api_code"], registry=registry,
            buckets=config.duration_buckets,
        )  # fmt: skip
        self.errors = Counter(
            "medical_insurance_api_errors", "医保接口错误数 API errors",
            [*labels, "error_code"], registry=registry,
        )  # fmt: skip
        self.outcome_unknown = Counter(
            "medical_insurance_api_outcome_unknown", "结果未知的交易 W$ outcome unknown",
            labels, registry=registry,
        )  # fmt: skip
        self.active_connections = Gauge(
            "medical_insurance_active_connections", "活跃连接数 Active connections",
            ["connection_type"], registry=registry, multiprocess_mode="livesum",
        )  # fmt: skip
        self.cache_hit_ratio = Gauge(
            "medical_insurance_cache_hit_ratio", "缓存命中率 Cache hit ratio",
            ["cache_type"], registry=registry, multiprocess_mode="livemax",
        )  # fmt: skip
        self._apis = LabelTable("api_code", config.max_api_codes)
        self._orgs = LabelTable("org_code", config.max_org_codes)
        self._errs = LabelTable("error_code", config.max_error_codes)
        self._outcome_seen: dict[tuple[str, ...], float] = {}

    def fold(self, batch: CallBatch) -> None:
        """Apply one batch: counters by unique series, histogram observations per call."""
        cols = batch.columns
        api_names = _capped(self._apis, batch.api_codes)
        org_names = _capped(self._orgs, batch.org_codes)
        err_names = _capped(self._errs, batch.error_codes)
        api, org, ok = cols["api"], cols["org"], cols["success"]
        key = (api.astype(np.int64) << 32) | (org.astype(np.int64) << 1) | ok.astype(np.int64)
        uniq, counts = np.unique(key, return_counts=True)
        for k, n in zip(uniq.tolist(), counts.tolist(), strict=True):
            a, o, good = k >> 32, (k >> 1) & 0x7FFFFFFF, k & 1
            status = "success" if good else "error"
            self.calls.labels(api_names[a], org_names[o], status).inc(n)
        failed = np.flatnonzero(~ok)
        for i in failed.tolist():
            e = int(cols["error"][i])
            code = err_names[e] if e >= 0 else "unknown"
            self.errors.labels(api_names[int(api[i])], org_names[int(org[i])], code).inc()
        observe_children: dict[tuple[int, int], Histogram] = {}
        for a, o, d in zip(api.tolist(), org.tolist(), cols["duration"].tolist(), strict=True):
            child = observe_children.get((a, o))
            if child is None:
                names = (api_names[a], org_names[o]) if self._by_org else (api_names[a],)
                child = observe_children[(a, o)] = self.duration.labels(*names)
            child.observe(d)

    def sync_gauges(
        self,
        active: dict[str, float],
        cache: LabelledNumbers,
        outcome_unknown: LabelledNumbers,
    ) -> None:
        """Copy the collector's gauges and outcome-unknown counts into the mmap metrics."""
        for conn, value in active.items():
            self.active_connections.labels(conn).set(value)
        for (cache_type,), value in cache.items():
            self.cache_hit_ratio.labels(cache_type).set(value)
        for labels, total in outcome_unknown.items():
            delta = total - self._outcome_seen.get(labels, 0.0)
            if delta > 0:
                self.outcome_unknown.labels(*labels).inc(delta)
                self._outcome_seen[labels] = total


def _capped(table: LabelTable, values: tuple[str, ...]) -> list[str]:
    """The exported label of each store value, after this table's cap."""
    indices = table.indices(values)
    names = table.values()
    return [names[i] for i in indices]
