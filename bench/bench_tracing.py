"""Client CPU with OpenTelemetry tracing on, against tracing off, in the same run.

The simulator (``misdk simulate``) and the OTLP receiver (oteltest's HTTP sink,
``python -m bench.otlp_sink``) run in their own processes, so this process's CPU time is
the client's: the calls, the spans and the exporter's worker thread. Four clients, one
connection each and monitoring on, make identical 1101 calls in blocks of ``BLOCK`` calls,
the modes in a rotating order each round so that slow drifts of the machine hit every mode
alike:

* ``off``: ``tracing=False`` (our own ``traceparent``): the baseline;
* ``spans``: an OpenTelemetry SDK ``TracerProvider`` with no exporter (the spans' cost);
* ``otlp``: :func:`configure_tracing` exporting to the sink (each block ends with a
  flush inside its timing, so every span of the block is encoded and sent in it);
* ``down``: :func:`configure_tracing` to a closed loopback port: the wall time per call
  beside ``off``'s, and the spans dropped and counted.

Then the client monitoring budget of ``bench_client`` (≤ 1 %) with OTLP tracing on: its
``_cpu_overhead`` (monitoring on and off in alternating blocks of 20 calls) on a client
exporting to the sink; both modes make the same spans, so the exporter's thread lands in
both alike.

``python -m bench.bench_tracing`` prints the rows; ``MISDK_BENCH_CLIENT_SAMPLES`` (the
calls per mode of the monitoring overhead, 40 000) scales the rounds too (one per 2 500:
16, ``BLOCK`` = 512 calls per mode and round).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

from bench.bench_client import (
    CPU_BUDGET_PCT,
    ORG,
    PERSON,
    SAMPLES,
    _collector,
    _cpu_overhead,
    _simulator_process,
)

__all__ = ["run"]

ROUNDS = max(2, SAMPLES // 2500)  # 16 with bench_client's 40 000 samples
BLOCK = 512  # calls per mode and round: one default OTLP batch
MODES = ("off", "spans", "otlp", "down")


def _closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _sink_process() -> Iterator[str]:
    """oteltest's OTLP/HTTP sink on loopback in its own process; yields its endpoint."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.otlp_sink"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        match = re.search(r"http://127\.0\.0\.1:\d+", process.stdout.readline())
        if match is None:
            raise RuntimeError("the OTLP sink did not start")
        yield match.group(0)
    finally:
        process.terminate()
        process.wait(10)


def _clients(base_url: str, sink_url: str, collector: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """One client per mode, and the tracing setups to flush and shut down."""
    from opentelemetry.sdk.trace import TracerProvider

    from medical_insurance_sdk import configure_tracing
    from medical_insurance_sdk.client import MedicalInsuranceClient

    otlp = configure_tracing("misdk-bench", endpoint=sink_url, set_global=False)
    down = configure_tracing(
        "misdk-bench", endpoint=f"http://127.0.0.1:{_closed_port()}", timeout=1, set_global=False
    )
    providers = {
        "off": None,
        "spans": TracerProvider(),
        "otlp": otlp.provider,
        "down": down.provider,
    }
    clients = {}
    for mode, provider in providers.items():
        options: dict[str, Any] = {"cache": False, "collector": collector}
        if provider is None:
            options["tracing"] = False
        else:
            options["tracer_provider"] = provider
        clients[mode] = MedicalInsuranceClient.for_simulator(base_url, ORG, **options)
    return clients, {"otlp": otlp, "down": down}


def _measure(base_url: str, sink_url: str) -> dict[str, Any]:
    # The exporter logs each failed batch of the "down" mode; the counts say it here.
    logging.getLogger("opentelemetry").setLevel(logging.CRITICAL)
    collector = _collector(len(MODES) * ROUNDS * BLOCK + 10_000)
    clients, setups = _clients(base_url, sink_url, collector)
    cpu: dict[str, list[float]] = {mode: [] for mode in MODES}
    wall: dict[str, list[float]] = {mode: [] for mode in MODES}
    try:
        for client in clients.values():
            for _ in range(300):  # warm the connection and code paths
                client.call("1101", PERSON)
        for mode in ("otlp", "down"):
            setups[mode].force_flush()
        before = {mode: setups[mode].stats() for mode in ("otlp", "down")}
        for round_ in range(ROUNDS):
            shift = round_ % len(MODES)
            for mode in MODES[shift:] + MODES[:shift]:
                client = clients[mode]
                start, start_wall = time.process_time(), time.perf_counter()
                for _ in range(BLOCK):
                    client.call("1101", PERSON)
                if mode == "otlp":
                    setups["otlp"].force_flush()
                cpu[mode].append(time.process_time() - start)
                wall[mode].append(time.perf_counter() - start_wall)
        setups["down"].force_flush()
        after = {mode: setups[mode].stats() for mode in ("otlp", "down")}
        for client in clients.values():
            client.close()
        monitoring = _cpu_overhead(base_url, tracer_provider=setups["otlp"].provider)
    finally:
        for client in clients.values():
            client.close()
        for setup in setups.values():
            setup.shutdown()
        collector.shutdown()
    calls = ROUNDS * BLOCK
    per_call = {mode: sum(cpu[mode]) / calls * 1e6 for mode in MODES}
    wall_call = {mode: sum(wall[mode]) / calls * 1e6 for mode in MODES}

    def overhead(mode: str, base: str, times: dict[str, list[float]] = cpu) -> tuple[float, float]:
        """(% more than ``base`` in total, standard error of the per-round ratios)."""
        pairs = [a / b - 1.0 for a, b in zip(times[mode], times[base], strict=True)]
        spread = statistics.stdev(pairs) / math.sqrt(len(pairs)) if len(pairs) > 1 else 0.0
        return (sum(times[mode]) / sum(times[base]) - 1.0) * 100.0, spread * 100.0

    return {
        "per_call": per_call,
        "wall_call": wall_call,
        "spans": overhead("spans", "off"),
        "otlp": overhead("otlp", "off"),
        "monitoring": (monitoring["pct"], monitoring["se_pct"]),
        "down_wall": overhead("down", "spans", wall),
        "exported": after["otlp"].exported - before["otlp"].exported,
        "exported_expected": calls,
        "dropped": after["down"].dropped - before["down"].dropped,
        "down_ended": after["down"].ended - before["down"].ended,
    }


def run() -> list[dict[str, Any]]:
    """Measure and return the table rows."""
    with _simulator_process() as base_url, _sink_process() as sink_url:
        m = _measure(base_url, sink_url)
    per_call, wall_call = m["per_call"], m["wall_call"]
    rows: list[dict[str, Any]] = [
        {"name": f"client CPU per call, tracing {mode}", "value": per_call[mode], "unit": "µs"}
        for mode in MODES
    ]
    rows += [
        {"name": "tracing CPU overhead, spans, no exporter", "value": m["spans"][0], "unit": "%"},
        {"name": "  standard error", "value": m["spans"][1], "unit": "%"},
        {"name": "tracing CPU overhead, OTLP export", "value": m["otlp"][0], "unit": "%"},
        {"name": "  standard error", "value": m["otlp"][1], "unit": "%"},
        {
            "name": "monitoring CPU overhead, OTLP tracing on",
            "value": m["monitoring"][0],
            "unit": "%",
            "budget": f"<= {CPU_BUDGET_PCT:g}",
            "ok": m["monitoring"][0] <= CPU_BUDGET_PCT,
        },
        {"name": "  standard error", "value": m["monitoring"][1], "unit": "%"},
        {
            "name": "spans exported to the sink (of calls made)",
            "value": m["exported"] / m["exported_expected"] * 100.0,
            "unit": "%",
            "budget": "= 100",
            "ok": m["exported"] == m["exported_expected"],
        },
        {"name": "wall time per call, tracing off", "value": wall_call["off"], "unit": "µs"},
        {
            "name": "wall time per call, spans, no exporter",
            "value": wall_call["spans"],
            "unit": "µs",
        },
        {
            "name": "wall time per call, OTLP endpoint down",
            "value": wall_call["down"],
            "unit": "µs",
        },
        {"name": "  endpoint down vs no exporter", "value": m["down_wall"][0], "unit": "%"},
        {"name": "  standard error", "value": m["down_wall"][1], "unit": "%"},
        {
            "name": "  spans dropped and counted (of calls made)",
            "value": m["dropped"] / max(m["down_ended"], 1) * 100.0,
            "unit": "%",
            "budget": "= 100",
            "ok": m["dropped"] == m["down_ended"] == ROUNDS * BLOCK,
        },
    ]
    for row in rows:
        row.setdefault("budget", "")
        row.setdefault("ok", True)
    return rows


def _main() -> int:
    rows = run()
    for row in rows:
        value, budget = f"{row['value']:.3f}", row["budget"]
        print(f"{row['name']:<48}{value:>12} {row['unit']:<3} {budget:>8}  {row['ok']}")
    return 0 if all(row["ok"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(_main())
