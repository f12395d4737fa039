"""Idle peers against /metrics in a process with 256 file descriptors.

The collector, its /metrics server and an SDK client run in a child process whose
``RLIMIT_NOFILE`` is 256; this test opens 500 idle TCP connections to /metrics from its
own process, then checks, in the child, that a scrape answers, a business call succeeds
and the accept loop does not burn CPU.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import httpx
import pytest
from local_net import free_port
from prometheus_client.parser import text_string_to_metric_families

from medical_insurance_sdk.simulator import SimulatorConfig
from medical_insurance_sdk.simulator.testing import (
    SAMPLE_CERTNO,
    SAMPLE_ORG,
    running_simulator,
)

IDLE_PEERS = 500
FD_LIMIT = 256

# The child: limit descriptors, start the collector (/metrics on argv[1]) and a client of
# the simulator (argv[2]), then answer one command per stdin line with one JSON line.
CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, hard))
    from medical_insurance_sdk.client import MedicalInsuranceClient
    from medical_insurance_sdk.core import MetricConfig, MetricsCollector

    port, base_url, org, certno = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    collector = MetricsCollector(MetricConfig(
        prometheus_port=int(port), prometheus_host="127.0.0.1", background=False,
        system_metrics_enabled=False,
    ))
    client = MedicalInsuranceClient(base_url, org, collector=collector, timeout=5.0)
    print(json.dumps({"port": collector.metrics_port}), flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "call":
            try:
                client.call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": certno}})
                answer = {"ok": True}
            except Exception as exc:
                answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        elif command == "cpu":
            before = time.process_time()
            time.sleep(float(args[0]))  # the measurement window
            answer = {"cpu": time.process_time() - before}
        elif command == "hog":  # the business takes every descriptor but args[0]
            hogged = []
            try:
                while True:
                    hogged.append(open("/dev/null", "rb"))
            except OSError:
                pass
            for _ in range(int(args[0])):
                hogged.pop().close()
            answer = {"hogged": len(hogged)}
        elif command == "unhog":
            for f in hogged:
                f.close()
            answer = {"hogged": 0}
        elif command == "dropped":
            answer = collector.monitoring_health()["dropped"]
        else:
            break
        print(json.dumps(answer), flush=True)
    client.close()
    collector.shutdown()
    """
).replace("FD_LIMIT", str(FD_LIMIT))


class _Child:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    def ask(self, command: str) -> dict[str, object]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"the child died: {self.process.stderr.read() if self.process.stderr else ''}"
        answer: dict[str, object] = json.loads(line)
        return answer


@pytest.fixture
def child() -> Iterator[_Child]:
    """The fd-limited child with its collector, /metrics and client."""
    with running_simulator(SimulatorConfig(seed=3, latency_scale=0)) as sim:
        command = [sys.executable, "-c", CHILD, str(free_port())]
        with subprocess.Popen(
            [*command, sim.base_url, SAMPLE_ORG, SAMPLE_CERTNO],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            try:
                yield _Child(process)
            finally:
                process.kill()
                process.wait(10)


def test_500_idle_peers_block_neither_scrapes_nor_business_calls(child):
    """500 idle connections to a 256-fd process: scrape < 2 s, client call ok, no spinning."""
    assert child.process.stdout is not None
    port = json.loads(child.process.stdout.readline())["port"]
    assert isinstance(port, int)
    assert child.ask("call") == {"ok": True}
    peers: list[socket.socket] = []
    deadline = time.monotonic() + 30
    try:
        while len(peers) < IDLE_PEERS:
            assert time.monotonic() < deadline, f"only {len(peers)} connections accepted"
            peers.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        started = time.monotonic()
        r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert time.monotonic() - started < 5
        assert r.status_code == 200
        names = {f.name for f in text_string_to_metric_families(r.text)}
        assert "medical_insurance_api_calls" in names
        assert child.ask("call") == {"ok": True}
        cpu = child.ask("cpu 3")["cpu"]
        assert isinstance(cpu, float)
        assert cpu < 0.3, f"the child used {cpu:.2f} s of CPU in 3 s with idle peers"
        dropped = child.ask("dropped")
        evicted = dropped.get("metrics_http_evicted", 0)
        assert isinstance(evicted, int)
        assert evicted >= IDLE_PEERS - 32  # at most the cap's worth are kept
    finally:
        for peer in peers:
            peer.close()


def test_no_descriptor_left_pauses_the_accept_loop_instead_of_spinning(child):
    """With every descriptor taken, pending peers cost no CPU; once freed, scrapes answer."""
    assert child.process.stdout is not None
    port = json.loads(child.process.stdout.readline())["port"]
    assert isinstance(port, int)
    hogged = child.ask("hog 0")["hogged"]
    assert isinstance(hogged, int)
    assert hogged > 100
    peers = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(20)]
    try:
        cpu = child.ask("cpu 2")["cpu"]
        assert isinstance(cpu, float)
        assert cpu < 0.3, f"the accept loop used {cpu:.2f} s of CPU in 2 s"
        assert child.ask("dropped").get("metrics_http_accept_failed", 0) > 0
        child.ask("unhog")
        started = time.monotonic()
        r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert r.status_code == 200
        assert time.monotonic() - started < 5
        assert child.ask("call") == {"ok": True}
    finally:
        for peer in peers:
            peer.close()
