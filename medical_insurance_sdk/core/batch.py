"""Pushing from batch jobs: the one place where push beats scrape.

Prometheus' advice: scrape long-running services (the default here: ``/metrics``), and
push only from jobs too short-lived to be scraped — a nightly 3201/3202 reconciliation,
a catalog download run, a CLI. :func:`batch_job` gives such a job a collector without an
HTTP server, and pushes once when the job ends, with
``medical_insurance_batch_last_success_timestamp_seconds`` set on success so an alert
can say "the nightly reconciliation has not succeeded for 26 hours". The group is kept on
the gateway (that is the point of pushing a batch result).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from medical_insurance_sdk.core.metrics_collector import MetricsCollector
from medical_insurance_sdk.core.runtime.config import MetricConfig

__all__ = ["batch_job"]

logger = logging.getLogger(__name__)


@contextmanager
def batch_job(
    job_name: str,
    gateway_url: str,
    *,
    grouping_key: Mapping[str, str] | None = None,
    config: MetricConfig | None = None,
) -> Iterator[MetricsCollector]:
    """Run a batch job with its own collector; push its metrics to ``gateway_url`` at the end.

    The grouping key is ``{"instance": "<host>"}`` plus ``grouping_key``: stable from one
    run to the next, so each run replaces the previous run's group instead of leaving one
    group per process on the gateway. A failed push is logged and counted; it never fails
    the job.
    """
    base = config if config is not None else MetricConfig()
    collector = MetricsCollector(
        base.replace(
            prometheus_port=0,
            prometheus_gateway_url=None,
            push_job_name=job_name,
            push_grouping_key={"instance": socket.gethostname(), **(grouping_key or {})},
            push_delete_on_shutdown=False,
            background=False,
        )
    )
    succeeded = False
    try:
        yield collector
        succeeded = True
    finally:
        finished = collector.now()
        if succeeded:
            collector.record_custom_metric(
                "medical_insurance_batch_last_success_timestamp_seconds", finished
            )
        collector.record_custom_metric(
            "medical_insurance_batch_last_run_timestamp_seconds", finished
        )
        if not collector.export_metrics_to_prometheus_gateway(gateway_url, job_name):
            logger.warning("batch job %s: metrics not pushed to %s", job_name, gateway_url)
        collector.shutdown()
