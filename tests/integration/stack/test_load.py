"""Load: 16 threads and 200 asyncio tasks through both clients, with every reader running.

Meanwhile scrapes (HTTP /metrics), analyses, report exports, pushes to a real Pushgateway
and retention cleanups run in a loop. Afterwards the counts must be exact and equal in the
store's statistics, the Prometheus exposition and what the simulator received. Sizes are
multiplied by 10 under `make stress` (MISDK_STRESS=1).
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import httpx
import pytest
from fleet import simulator_process
from prometheus_client.parser import text_string_to_metric_families
from servers import free_port
from suite_constants import SCALE

from medical_insurance_sdk.client import AsyncMedicalInsuranceClient, MedicalInsuranceClient
from medical_insurance_sdk.core import MetricConfig, MetricsCollector, PerformanceAnalyzer
from medical_insurance_sdk.simulator.testing import SAMPLE_CERTNO, SAMPLE_ORG

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

THREADS, THREAD_CALLS = 16, 40 * SCALE
TASKS, TASK_CALLS = 200, 5 * SCALE
PERSON = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": SAMPLE_CERTNO}}
MIX = ("1101", "1201", "1901", "5201", "3201")


def _exposed_calls(text: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "medical_insurance_api_calls":
            for s in family.samples:
                if s.name.endswith("_total"):
                    code = s.labels["api_code"]
                    totals[code] = totals.get(code, 0.0) + s.value
    return totals


def test_threads_and_tasks_exact_everywhere(pushgateway, tmp_path: Path):
    """Store, exposition and simulator agree exactly after a concurrent load."""
    collector = MetricsCollector(
        MetricConfig(
            prometheus_port=free_port(),
            prometheus_host="127.0.0.1",
            collection_interval=0.2,
            retention_days=1,
            fold_batch_size=128,
            max_memory_metrics=200_000,
        )
    )
    analyzer = PerformanceAnalyzer(collector)
    stop = threading.Event()
    reader_runs: dict[str, int] = {}
    reader_errors: list[BaseException] = []

    def loop(name: str, action) -> None:  # type: ignore[no-untyped-def]
        while not stop.is_set():
            try:
                action()
            except BaseException as exc:  # collected and asserted below
                reader_errors.append(exc)
                return
            reader_runs[name] = reader_runs.get(name, 0) + 1
            stop.wait(0.05)  # a busy loop, not a spin: leave the GIL to the business calls

    port = collector.metrics_port
    readers = {
        "scrape": lambda: httpx.get(
            f"http://127.0.0.1:{port}/metrics", timeout=10
        ).raise_for_status(),
        "analyze": lambda: analyzer.analyze_api_performance("1101", 60),
        "overview": lambda: analyzer.get_system_performance_overview(60),
        "report": lambda: analyzer.write_report(tmp_path / "reports", formats=("json", "csv")),
        "push": lambda: collector.export_metrics_to_prometheus_gateway(pushgateway.url),
        "retention": collector.cleanup_old_metrics,
    }
    with simulator_process() as (base_url, admin_url):
        reader_threads = [
            threading.Thread(target=loop, args=(name, action), daemon=True)
            for name, action in readers.items()
        ]
        for t in reader_threads:
            t.start()

        def sync_worker(k: int) -> None:
            with MedicalInsuranceClient(
                base_url, SAMPLE_ORG, collector=collector, cache=False, retries=0
            ) as client:
                for i in range(THREAD_CALLS):
                    client.call(MIX[(k + i) % len(MIX)], PERSON)

        async def async_load() -> None:
            # 200 tasks share one pool: keep every connection alive instead of churning.
            limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
            async with AsyncMedicalInsuranceClient(
                base_url, SAMPLE_ORG, collector=collector, cache=False, retries=0, limits=limits
            ) as client:

                async def task(k: int) -> None:
                    for i in range(TASK_CALLS):
                        await client.call(MIX[(k * 3 + i) % len(MIX)], PERSON)

                await asyncio.gather(*(task(k) for k in range(TASKS)))

        workers = [threading.Thread(target=sync_worker, args=(k,)) for k in range(THREADS)]
        started = time.monotonic()
        for t in workers:
            t.start()
        asyncio.run(async_load())
        for t in workers:
            t.join(timeout=600)
        elapsed = time.monotonic() - started
        received = httpx.get(f"{admin_url}/admin/stats", timeout=10).json()["received"]
    stop.set()
    for t in reader_threads:
        t.join(timeout=60)
    assert reader_errors == []
    assert all(reader_runs.get(name, 0) >= 1 for name in readers), reader_runs
    expected = THREADS * THREAD_CALLS + TASKS * TASK_CALLS
    stats = collector.get_api_statistics(60)
    exposed = _exposed_calls(collector.get_prometheus_metrics())
    by_api = {code: row["count"] for code, row in stats["api_breakdown"].items()}
    assert stats["total_calls"] == stats["successful_calls"] == expected
    assert by_api == {code: int(n) for code, n in exposed.items()} == received
    assert collector.pending_calls == 0
    assert collector.health.errors() == {}
    rate = expected / elapsed
    print(f"\nload: {expected} calls, {elapsed:.1f}s ({rate:.0f}/s), readers {reader_runs}")
    collector.shutdown()
