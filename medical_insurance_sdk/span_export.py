"""Span export whose losses are counted: a bounded, counted door in front of the SDK's batch.

OpenTelemetry's ``BatchSpanProcessor`` does the batching, the background thread and the
fork handling; :class:`CountedBatchSpanProcessor` adds what an operator needs when the
collector is slow or down: a bound it counts against (the same ``max_queue_size``), and
:class:`SpanExportStats` telling how many spans were exported, dropped at the door (queue
full) or lost in a batch the endpoint did not take (refused, unreachable, timed out).
Nothing here runs on a business call but :meth:`CountedBatchSpanProcessor.on_end` (a lock
and a counter); exports run on the SDK's worker thread.

Imported only by :func:`medical_insurance_sdk.tracing_setup.configure_tracing`, and only
when ``opentelemetry-sdk`` is installed (the ``[otel]`` extra).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

__all__ = ["LOG_INTERVAL_S", "CountedBatchSpanProcessor", "CountingSpanExporter", "SpanExportStats"]

logger = logging.getLogger("medical_insurance_sdk.tracing")
#: Seconds between two warnings about lost spans (each says the totals so far).
LOG_INTERVAL_S = 60.0


@dataclass(frozen=True, slots=True)
class SpanExportStats:
    """Counts of the spans handed to export since the setup (sampled spans only)."""

    #: Spans that ended and were offered to the queue.
    ended: int = 0
    #: Spans the endpoint accepted.
    exported: int = 0
    #: Spans dropped at once: the queue was full (or export was shut down).
    queue_full: int = 0
    #: Spans of batches the endpoint did not take (unreachable, refused, timed out).
    failed: int = 0
    #: Spans waiting in the queue or being sent now.
    queued: int = 0

    @property
    def dropped(self) -> int:
        """Spans that never reached the endpoint: ``queue_full + failed``."""
        return self.queue_full + self.failed


class _Counters:
    """The shared counts; every method takes the lock once."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.closed = False
        self._lock = threading.Lock()
        self._ended = self._exported = self._queue_full = self._failed = self._queued = 0
        self._logged_at = -LOG_INTERVAL_S

    def admit(self) -> bool:
        with self._lock:
            self._ended += 1
            if self.closed or self._queued >= self.capacity:
                self._queue_full += 1
                warn = self._due()
            else:
                self._queued += 1
                return True
        if warn:
            self._warn("the span queue is full")
        return False

    def forked(self) -> None:
        """In a forked child: the SDK empties its queue there, so nothing waits."""
        self._lock = threading.Lock()
        self._queued = 0

    def taken(self, count: int) -> None:
        with self._lock:
            self._queued -= count

    def done(self, count: int, ok: bool) -> None:
        with self._lock:
            if ok:
                self._exported += count
                return
            self._failed += count
            warn = self._due()
        if warn:
            self._warn("the OTLP endpoint did not take a batch")

    def snapshot(self) -> SpanExportStats:
        with self._lock:
            return SpanExportStats(
                self._ended, self._exported, self._queue_full, self._failed, self._queued
            )

    def _due(self) -> bool:
        now = time.monotonic()
        if now - self._logged_at < LOG_INTERVAL_S:
            return False
        self._logged_at = now
        return True

    def _warn(self, reason: str) -> None:
        stats = self.snapshot()
        logger.warning(
            "spans dropped: %s (dropped so far %d: queue full %d, export failed %d; "
            "exported %d); business calls are not affected",
            reason,
            stats.dropped,
            stats.queue_full,
            stats.failed,
            stats.exported,
        )


class CountingSpanExporter(SpanExporter):
    """Wraps an exporter: counts the spans of each batch as exported or failed."""

    def __init__(self, exporter: SpanExporter, counters: _Counters) -> None:
        self._exporter = exporter
        self._counters = counters

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export one batch (on the SDK's worker thread); never raises."""
        count = len(spans)
        self._counters.taken(count)
        try:
            result = self._exporter.export(spans)
        except Exception:  # thread boundary: the batch is lost, counted, logged
            logger.exception("span export raised")
            result = SpanExportResult.FAILURE
        self._counters.done(count, result is SpanExportResult.SUCCESS)
        return result

    def shutdown(self) -> None:
        """Shut the wrapped exporter down."""
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the wrapped exporter."""
        return self._exporter.force_flush(timeout_millis)


class CountedBatchSpanProcessor(SpanProcessor):
    """``BatchSpanProcessor`` behind a counted bound of ``max_queue_size`` spans.

    A span that ends while ``max_queue_size`` spans wait is dropped and counted at once,
    so the business thread never waits for the exporter; :meth:`stats` reads the counts.
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        max_queue_size: int,
        schedule_delay_millis: float | None = None,
        max_export_batch_size: int | None = None,
    ) -> None:
        if max_queue_size < 1:
            raise ValueError("max_queue_size must be positive")
        self._counters = _Counters(max_queue_size)
        if hasattr(os, "register_at_fork"):  # weak: a processor shut down is not kept
            forked = weakref.WeakMethod(self._counters.forked)

            def after_in_child() -> None:
                method = forked()
                if method is not None:
                    method()

            os.register_at_fork(after_in_child=after_in_child)
        batch_size = max_export_batch_size
        if batch_size is not None or max_queue_size < 512:
            batch_size = min(batch_size or max_queue_size, max_queue_size)
        self._batch = BatchSpanProcessor(
            CountingSpanExporter(exporter, self._counters),
            max_queue_size=max_queue_size,
            schedule_delay_millis=schedule_delay_millis,
            max_export_batch_size=batch_size,
        )

    def on_end(self, span: ReadableSpan) -> None:
        """Queue a sampled span, or drop and count it when the queue is full."""
        if not (span.context and span.context.trace_flags.sampled):
            return
        if self._counters.admit():
            self._batch.on_end(span)

    def stats(self) -> SpanExportStats:
        """The counts so far."""
        return self._counters.snapshot()

    def shutdown(self) -> None:
        """Export what waits (bounded by the exporter's timeout), then stop."""
        self._counters.closed = True
        self._batch.shutdown()  # type: ignore[no-untyped-call]

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export what waits now."""
        return self._batch.force_flush(timeout_millis)
