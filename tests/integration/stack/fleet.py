"""The fleet: the simulator and SDK processes, each its own scrape target.

:func:`simulator_process` runs ``misdk simulate`` in its own process (no GIL shared with
the load); :func:`fleet` starts SDK processes (``fleet_member.py``) against it, each
serving ``/metrics`` on its own loopback port, so a Prometheus scraping them attaches a
distinct ``instance`` label to each. Every member reports its own exact figures (JSON)
once its calls are made, and keeps serving until the fleet is stopped.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from local_net import free_port

__all__ = ["FleetMember", "fleet", "launch", "simulator_process"]

MEMBER_SCRIPT = Path(__file__).with_name("fleet_member.py")


@contextmanager
def simulator_process(
    config: Mapping[str, Any] | None = None, workdir: Path | None = None, seed: int = 5
) -> Iterator[tuple[str, str]]:
    """``misdk simulate`` in its own process; yields (base URL, admin URL).

    ``config`` (a simulator config mapping) is written as JSON in ``workdir``.
    """
    port, admin = free_port(), free_port()
    args = [
        sys.executable,
        "-m",
        "medical_insurance_sdk.cli",
        "simulate",
        "--port",
        str(port),
        "--admin-port",
        str(admin),
    ]
    if config is not None:
        if workdir is None:
            raise ValueError("simulator_process: a config needs a workdir to be written in")
        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / "simulator.json"
        path.write_text(json.dumps(dict(config)), encoding="utf-8")
        args += ["--config", str(path)]
    else:
        args += ["--seed", str(seed), "--latency-scale", "0"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    admin_url = f"http://127.0.0.1:{admin}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{admin_url}/admin/stats", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "simulator did not start"
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}", admin_url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


@dataclass
class FleetMember:
    """One SDK process: its scrape target and, once its calls are made, its figures."""

    member: int
    port: int
    proc: subprocess.Popen[str]

    @property
    def target(self) -> str:
        """``host:port`` of its /metrics (the ``instance`` label Prometheus attaches)."""
        return f"127.0.0.1:{self.port}"

    def figures(self) -> dict[str, Any]:
        """The JSON line the member writes when its calls are done (the test's timeout
        bounds the wait)."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until the member has made its calls
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise AssertionError(f"fleet member {self.member} exited: {err[-3000:]}")
        data: dict[str, Any] = json.loads(line)
        return data

    def stop(self) -> None:
        """Close its stdin (it exits), kill it if it does not."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def launch(base_url: str, member: int, port: int) -> FleetMember:
    """Start one SDK process (``fleet_member.py``) serving /metrics on ``port``."""
    proc = subprocess.Popen(
        [sys.executable, str(MEMBER_SCRIPT), base_url, str(member), str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return FleetMember(member, port, proc)


@contextmanager
def fleet(base_url: str, size: int = 3) -> Iterator[list[FleetMember]]:
    """``size`` SDK processes calling the simulator at ``base_url``; stopped on exit
    (members the test appends to the list too)."""
    members: list[FleetMember] = []
    try:
        for member in range(size):
            members.append(launch(base_url, member, free_port()))
        yield members
    finally:
        for m in members:
            m.stop()
