"""Fixtures: real Prometheus (server or agent), Pushgateway and VictoriaMetrics servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from servers import Prometheus, Pushgateway, VictoriaMetrics


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[Pushgateway]:
    """A running Pushgateway on a free loopback port."""
    gw = Pushgateway(tmp_path / "pushgateway").start()
    yield gw
    gw.stop()


@pytest.fixture
def victoria_metrics(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    """A running single-node VictoriaMetrics (no search latency offset, no cache)."""
    vm = VictoriaMetrics(tmp_path / "victoria-metrics").start()
    yield vm
    vm.stop()


@pytest.fixture
def start_prometheus(tmp_path: Path) -> Iterator[Callable[..., Prometheus]]:
    """Start Prometheus servers (``agent=True``: agent mode) with the given targets/rules;
    all are stopped afterwards."""
    started: list[Prometheus] = []

    def start(targets: dict[str, list[str]], **kwargs: object) -> Prometheus:
        server = Prometheus(tmp_path / f"prometheus{len(started)}", targets, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
