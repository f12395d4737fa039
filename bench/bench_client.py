"""End-to-end budget of the SDK client: monitoring on versus off, in the same run.

The simulator runs in its own process (``misdk simulate``), so this process's CPU time is
the client's alone. Two figures:

* client-side CPU overhead of monitoring: identical 1101 calls through one client,
  monitoring switched on and off in alternating blocks of calls; the ratio of the total
  process CPU time of each mode, untrimmed (the isolated cost of the monitoring path is
  reported beside it);
* RSS overhead with 50k stored calls: two fresh worker processes make the same 50 000
  calls, one with a collector storing every call, one without; the difference of their
  resident set sizes.

``python -m bench.bench_client`` prints the rows; ``MISDK_BENCH_CLIENT_CALLS`` changes the
50 000 (for a quick look).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["run"]

CALLS = int(os.environ.get("MISDK_BENCH_CLIENT_CALLS", "50000"))
SAMPLES = int(os.environ.get("MISDK_BENCH_CLIENT_SAMPLES", "40000"))  # calls per mode
BLOCK = 20  # calls per on/off block
CPU_BUDGET_PCT = 1.0
RSS_BUDGET_MB = 20.0
ORG = "H43010500001"
PERSON = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "440106199001011235"}}


@contextlib.contextmanager
def _simulator_process() -> Iterator[str]:
    """``misdk simulate`` on a free port, without latency; yields its base URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "medical_insurance_sdk.cli",
            "simulate",
            "--port",
            "0",
            "--seed",
            "1",
            "--latency-scale",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        match = re.search(r"(http://127\.0\.0\.1:\d+)/", process.stdout.readline())
        if match is None:
            raise RuntimeError("misdk simulate did not start")
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(10)


def _collector(capacity: int) -> Any:
    from medical_insurance_sdk.core import MetricConfig, MetricsCollector

    return MetricsCollector(
        MetricConfig(
            prometheus_port=0,
            background=False,
            system_metrics_enabled=False,
            max_memory_metrics=capacity,
        )
    )


def _client(base_url: str, collector: Any | None, **options: Any) -> Any:
    from medical_insurance_sdk.client import MedicalInsuranceClient

    if collector is None:
        return MedicalInsuranceClient.for_simulator(
            base_url, ORG, monitoring=False, cache=False, **options
        )
    return MedicalInsuranceClient.for_simulator(
        base_url, ORG, collector=collector, cache=False, **options
    )


def _cpu_overhead(base_url: str, **options: Any) -> dict[str, float]:
    """Overhead (%) of monitoring in client CPU, its standard error, and CPU µs per call.

    One client, one connection; only its monitor is switched on or off (``client.monitor``
    is None when the client is built with ``monitoring=False``), in blocks of ``BLOCK``
    calls in the order on, off, off, on, on, off, ... so that slow drifts of the machine
    hit both modes alike. The overhead compares the total process CPU time of all "on"
    blocks with all "off" blocks, untrimmed: the collector's periodic folds (one per 2048
    calls) land in "on" blocks and are paid in full. The standard error comes from the
    differences of adjacent on/off block pairs. ``options`` go to the client
    (``bench_tracing`` passes its ``tracer_provider``).
    """
    collector = _collector(2 * SAMPLES + 1000)
    client = _client(base_url, collector, **options)
    monitors = {"on": client.monitor, "off": None}
    blocks: dict[str, list[float]] = {"on": [], "off": []}
    clock = time.process_time
    try:
        for _ in range(300):  # warm the connection and code paths
            client.call("1101", PERSON)
        for i in range(2 * SAMPLES // BLOCK):
            mode = "on" if (i // 2) % 2 == i % 2 else "off"
            client.monitor = monitors[mode]
            start = clock()
            for _ in range(BLOCK):
                client.call("1101", PERSON)
            blocks[mode].append(clock() - start)
    finally:
        client.monitor = monitors["on"]
        client.close()
        collector.shutdown()
    on, off = sum(blocks["on"]), sum(blocks["off"])
    pairs = [a - b for a, b in zip(blocks["on"], blocks["off"], strict=False)]
    mean_off = off / len(blocks["off"])
    spread = statistics.stdev(pairs) / math.sqrt(len(pairs)) if len(pairs) > 1 else 0.0
    calls = len(blocks["on"]) * BLOCK
    return {
        "pct": (on / off - 1.0) * 100.0,
        "se_pct": spread / mean_off * 100.0,
        "off_us": off / calls * 1e6,
        "on_us": on / calls * 1e6,
    }


def _monitoring_cost_us() -> float:
    """CPU µs the monitoring adds to one call, measured alone (best of several rounds).

    The client's own start and end of a call (``_open_monitor`` and ``_succeed``, which
    also end the call's trace) on one prepared call, with monitoring on minus off: no
    HTTP exchange runs in between, so every cache stays warm.
    """
    collector = _collector(300_000)
    client = _client("http://127.0.0.1:9", collector)  # never connects
    state = client._begin(client.interface("1101"), PERSON, {})
    client._succeed(state)
    monitors = {"on": client.monitor, "off": None}
    best = dict.fromkeys(monitors, float("inf"))
    for _ in range(5):
        for mode, monitor in monitors.items():
            client.monitor = monitor
            start = time.process_time()
            for _ in range(20_000):
                state.ended, state.channel = False, None
                client._open_monitor(state)
                client._succeed(state)
            best[mode] = min(best[mode], (time.process_time() - start) / 20_000 * 1e6)
    client.monitor = monitors["on"]
    client.close()
    collector.shutdown()
    return best["on"] - best["off"]


def _rss_worker(base_url: str, mode: str, calls: int) -> dict[str, Any]:
    """Make ``calls`` calls in this (fresh) process; report RSS and what was stored."""
    import importlib

    import psutil

    # Both workers hold what `import medical_insurance_sdk` loaded before it became lazy
    # (numpy, the store, the analyzer; not prometheus_client), so the difference measures
    # the same as before: the collector, its exporter and its stored calls, not the
    # imports a client without monitoring no longer pays (bench_scrape times the import).
    for module in ("metrics_collector", "performance_analyzer"):
        importlib.import_module(f"medical_insurance_sdk.core.{module}")
    collector = _collector(calls + 1000) if mode == "on" else None
    client = _client(base_url, collector)
    for _ in range(200):
        client.call("1101", PERSON)
    before = psutil.Process().memory_info().rss
    for _ in range(calls):
        client.call("1101", PERSON)
    after = psutil.Process().memory_info().rss
    client.close()
    stored = collector.get_api_statistics(time_range_minutes=600)["total_calls"] if collector else 0
    return {"rss_before": before, "rss_after": after, "stored": stored}


def _rss_overhead(base_url: str, calls: int) -> tuple[float, int]:
    """(MB more resident memory with monitoring, calls stored by the monitored worker)."""
    results = {}
    for mode in ("off", "on"):
        output = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.bench_client",
                "--rss-worker",
                mode,
                "--url",
                base_url,
                "--calls",
                str(calls),
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=1800,
        ).stdout
        results[mode] = json.loads(output.strip().splitlines()[-1])
    overhead = (results["on"]["rss_after"] - results["off"]["rss_after"]) / 1024 / 1024
    return overhead, int(results["on"]["stored"])


def run() -> list[dict[str, Any]]:
    """Measure and return the table rows."""
    with _simulator_process() as base_url:
        cpu = _cpu_overhead(base_url)
        rss_mb, stored = _rss_overhead(base_url, CALLS)
    monitoring_us = _monitoring_cost_us()
    return [
        {
            "name": "client CPU per call, monitoring off",
            "value": cpu["off_us"],
            "unit": "µs",
            "budget": "",
            "ok": True,
        },
        {
            "name": "client CPU per call, monitoring on",
            "value": cpu["on_us"],
            "unit": "µs",
            "budget": "",
            "ok": True,
        },
        {
            "name": "monitoring CPU per call, measured alone",
            "value": monitoring_us,
            "unit": "µs",
            "budget": "",
            "ok": True,
        },
        {
            "name": "  = share of an unmonitored call",
            "value": monitoring_us / cpu["off_us"] * 100.0,
            "unit": "%",
            "budget": "",
            "ok": True,
        },
        {
            "name": "client CPU overhead of monitoring (end to end)",
            "value": cpu["pct"],
            "unit": "%",
            "budget": f"<= {CPU_BUDGET_PCT:g}",
            "ok": cpu["pct"] <= CPU_BUDGET_PCT,
        },
        {
            "name": "  standard error of that overhead",
            "value": cpu["se_pct"],
            "unit": "%",
            "budget": "",
            "ok": True,
        },
        {
            "name": f"RSS overhead, {stored} stored calls",
            "value": rss_mb,
            "unit": "MB",
            "budget": f"<= {RSS_BUDGET_MB:g}",
            "ok": rss_mb <= RSS_BUDGET_MB and stored >= CALLS,
        },
    ]


def _main() -> int:
    parser = argparse.ArgumentParser(description="client end-to-end benchmark")
    parser.add_argument("--rss-worker", choices=("on", "off"))
    parser.add_argument("--url")
    parser.add_argument("--calls", type=int, default=CALLS)
    args = parser.parse_args()
    if args.rss_worker:
        print(json.dumps(_rss_worker(args.url, args.rss_worker, args.calls)))
        return 0
    rows = run()
    for row in rows:
        value = f"{row['value']:.3f}" if isinstance(row["value"], float) else row["value"]
        print(f"{row['name']:<45}{value:>12} {row['unit']:<3} {row['budget']:>8}  {row['ok']}")
    return 0 if all(row["ok"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(_main())
