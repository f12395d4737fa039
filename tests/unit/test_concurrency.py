"""Thread and asyncio safety: N workers x M calls lose nothing anywhere."""

from __future__ import annotations

import asyncio
import threading

from prometheus_client.parser import text_string_to_metric_families

from medical_insurance_sdk.core import MetricConfig, MetricsCollector


def _exposed_total(c: MetricsCollector) -> float:
    families = text_string_to_metric_families(c.get_prometheus_metrics())
    calls = next(f for f in families if f.name == "medical_insurance_api_calls")
    return sum(s.value for s in calls.samples if s.name.endswith("_total"))


def test_threads_lose_no_call_in_statistics_or_prometheus():
    """8 threads x 5000 calls, with scrapes and snapshots running meanwhile, are exact."""
    c = MetricsCollector(
        MetricConfig(
            prometheus_port=0, background=False, max_memory_metrics=100_000, fold_batch_size=256
        )
    )
    threads_n, calls_n = 8, 5000
    stop = threading.Event()

    def worker(k: int) -> None:
        for i in range(calls_n):
            if i % 10 == 5:  # start, then a successful end by id
                c.record_api_call_end(
                    c.record_api_call_start(f"{1101 + k % 4}", f"H{k}"), "success"
                )
                continue
            with c.track(f"{1101 + k % 4}", f"H{k}") as call:
                if i % 10 == 0:
                    call.fail("E1")

    def reader() -> None:
        while not stop.is_set():
            c.get_prometheus_metrics()
            c.get_api_statistics()

    readers = [threading.Thread(target=reader) for _ in range(2)]
    workers = [threading.Thread(target=worker, args=(k,)) for k in range(threads_n)]
    for t in readers + workers:
        t.start()
    for t in workers:
        t.join(timeout=60)
    stop.set()
    for t in readers:
        t.join(timeout=60)
    stats = c.get_api_statistics()
    assert stats["total_calls"] == threads_n * calls_n
    assert stats["failed_calls"] == threads_n * calls_n // 10
    assert _exposed_total(c) == threads_n * calls_n
    assert c.pending_calls == 0
    assert c.health.errors() == {}
    c.shutdown()


def test_asyncio_tasks_lose_no_call():
    """500 concurrent asyncio tasks using track() are all recorded."""
    c = MetricsCollector(MetricConfig(prometheus_port=0, background=False))

    async def one(i: int) -> None:
        with c.track("2207", "H1"):
            await asyncio.sleep(0.001 * (i % 5))

    async def main() -> None:
        await asyncio.gather(*(one(i) for i in range(500)))

    asyncio.run(main())
    assert c.get_api_statistics()["total_calls"] == 500
    assert _exposed_total(c) == 500
    c.shutdown()
