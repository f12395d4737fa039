"""Fault budgets: the hot path while the Pushgateway is down or silent.

Three collectors push every 50 ms from their background thread: to no gateway (baseline),
to a refused port, and to a socket that accepts and never answers. The per-call cost of
a monitored call is measured on each, interleaved in the same run.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from bench.timing import compare
from medical_insurance_sdk.core import MetricConfig, MetricsCollector

__all__ = ["run"]


def _collector(gateway: str | None) -> MetricsCollector:
    return MetricsCollector(
        MetricConfig(
            prometheus_port=0,
            prometheus_gateway_url=gateway,
            collection_interval=0.05,
            push_timeout=2.0,
            system_metrics_enabled=False,
            max_memory_metrics=100_000,
        )
    )


def _call(c: MetricsCollector) -> Any:
    start, end = c.record_api_call_start, c.record_api_call_end

    def call() -> None:
        end(start("2207", "H43010500001"), "success")

    return call


def run() -> list[dict[str, Any]]:
    """Measure and return the table rows."""
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))
    dead_port = refused.getsockname()[1]
    refused.close()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept_forever() -> None:
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(silent.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept_forever, daemon=True).start()
    collectors = {
        "no gateway": _collector(None),
        "gateway down (refused)": _collector(f"http://127.0.0.1:{dead_port}"),
        "gateway silent (never answers)": _collector(f"http://127.0.0.1:{silent.getsockname()[1]}"),
    }
    times = compare({name: _call(c) for name, c in collectors.items()}, 50_000)
    stop.set()
    for c in collectors.values():
        c.shutdown(timeout=0.1)
    for conn in held:
        conn.close()
    silent.close()
    base = times["no gateway"]
    rows: list[dict[str, Any]] = [
        {
            "name": "monitored call, no gateway",
            "value": base,
            "unit": "µs",
            "budget": "",
            "ok": True,
        },
    ]
    for name in ("gateway down (refused)", "gateway silent (never answers)"):
        ratio = times[name] / base
        rows.append(
            {
                "name": f"monitored call, {name} / no gateway",
                "value": ratio,
                "unit": "×",
                "budget": "<= 1.5",
                "ok": ratio <= 1.5,
            }
        )
    return rows
