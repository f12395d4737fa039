"""Real Prometheus, Pushgateway and VictoriaMetrics servers on loopback free ports.

The binaries come from Debian's ``prometheus``, ``prometheus-pushgateway`` and
``victoria-metrics`` packages (``make test`` installs them when missing). Each server runs
in its own temporary directory and is stopped by the fixture that started it.

A :class:`Prometheus` with ``agent=True`` runs in agent mode (scrape and remote-write
only, no query API): ``--enable-feature=agent`` in Prometheus 2.x, ``--agent`` from 3.0.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from local_net import free_port

__all__ = [
    "PROMETHEUS",
    "PROMTOOL",
    "PUSHGATEWAY",
    "VICTORIA_METRICS",
    "Prometheus",
    "Pushgateway",
    "VictoriaMetrics",
    "agent_flag",
    "free_port",
]

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
PUSHGATEWAY = shutil.which("prometheus-pushgateway") or "/usr/bin/prometheus-pushgateway"
VICTORIA_METRICS = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"


@functools.cache
def agent_flag() -> str:
    """The flag that starts Prometheus in agent mode, for the installed version."""
    out = subprocess.run([PROMETHEUS, "--version"], capture_output=True, text=True, check=True)
    match = re.search(r"version (\d+)\.", out.stdout + out.stderr)
    if match is None:
        raise RuntimeError(f"cannot read the Prometheus version: {out.stdout!r}")
    return "--agent" if int(match.group(1)) >= 3 else "--enable-feature=agent"


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready in {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")


@dataclass
class Prometheus:
    """A Prometheus server scraping the given targets every ``interval``.

    With ``agent=True`` it runs in agent mode: it scrapes and sends every sample to the
    ``remote_write`` URLs, has no rules and no query API.
    """

    workdir: Path
    targets: Mapping[str, list[str]]
    rule_files: list[Path] = field(default_factory=list)
    interval: str = "1s"
    features: tuple[str, ...] = ("exemplar-storage",)
    extra_scrape: str = ""
    agent: bool = False
    remote_write: list[str] = field(default_factory=list)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config_text(self) -> str:
        rules = "".join(f"  - {p}\n" for p in self.rule_files) or "  []\n"
        jobs = "".join(
            f"  - job_name: {job!r}\n    static_configs:\n      - targets: {list(targets)!r}\n"
            for job, targets in self.targets.items()
        )
        writes = "".join(
            f"  - url: {url!r}\n    queue_config:\n      batch_send_deadline: 200ms\n"
            for url in self.remote_write
        )
        empty = "  []\n"
        if self.agent:  # agent mode refuses rules and evaluation settings
            return (
                f"global:\n  scrape_interval: {self.interval}\n"
                f"scrape_configs:\n{jobs}{self.extra_scrape}"
                f"remote_write:\n{writes or empty}"
            )
        return (
            f"global:\n  scrape_interval: {self.interval}\n  evaluation_interval: {self.interval}\n"
            f"rule_files:\n{rules}"
            f"scrape_configs:\n{jobs}{self.extra_scrape}"
            + (f"remote_write:\n{writes}" if writes else "")
        )

    def start(self) -> Prometheus:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(self.config_text(), encoding="utf-8")
        self.port = self.port or free_port()
        log = self.workdir / "prometheus.log"
        args = [
            PROMETHEUS,
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",
            "--log.level=warn",
        ]
        features = list(self.features)
        if self.agent:
            args.append(f"--storage.agent.path={self.workdir / 'data-agent'}")
            flag = agent_flag()
            if flag == "--agent":
                args.append(flag)
            else:
                features.append("agent")
            features = [f for f in features if f != "exemplar-storage"]
        else:
            args.append(f"--storage.tsdb.path={self.workdir / 'data'}")
        if features:
            args.append(f"--enable-feature={','.join(features)}")
        with log.open("wb") as out:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        _wait_ready(f"{self.url}/-/ready", self.proc, log)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    # -- HTTP API ------------------------------------------------------------------------
    def api(self, path: str, **params: Any) -> Any:
        r = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        body = r.json()
        if body.get("status") != "success":
            raise AssertionError(f"{path} {params}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; the result vector."""
        data = self.api("query", query=expr)
        result: list[dict[str, Any]] = data["result"]
        return result

    def query_status(self, expr: str) -> tuple[int, dict[str, Any]]:
        """Instant query returning (HTTP status, body) without raising: to check validity."""
        r = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        return r.status_code, r.json()

    def wait_for(self, expr: str, predicate: Any, timeout: float = 30) -> list[dict[str, Any]]:
        """Poll ``expr`` until ``predicate(result)`` holds; return the result."""
        deadline = time.monotonic() + timeout
        result: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            result = self.query(expr)
            if predicate(result):
                return result
            time.sleep(0.25)
        raise AssertionError(f"{expr}: condition not met in {timeout}s; last result {result}")

    def reload(self) -> None:
        httpx.post(f"{self.url}/-/reload", timeout=10).raise_for_status()


@dataclass
class Pushgateway:
    """A Pushgateway on a free loopback port."""

    workdir: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Pushgateway:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        log = self.workdir / "pushgateway.log"
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    PUSHGATEWAY,
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    # Debian's build persists to /var/lib by default: isolate each server.
                    f"--persistence.file={self.workdir / 'pushgateway.data'}",
                    "--log.level=warn",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _wait_ready(f"{self.url}/-/ready", self.proc, log)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def groups(self) -> list[dict[str, Any]]:
        """The pushed groups, as the gateway's API reports them."""
        r = httpx.get(f"{self.url}/api/v1/metrics", timeout=10)
        r.raise_for_status()
        data: list[dict[str, Any]] = r.json()["data"]
        return data

    def metrics_text(self) -> str:
        return httpx.get(f"{self.url}/metrics", timeout=10).text


@dataclass
class VictoriaMetrics:
    """A single-node VictoriaMetrics on a free loopback port, with its own storage.

    ``-search.latencyOffset`` is 0 here (default 30 s: the newest half minute of samples
    is hidden from queries), and the response cache is off, so a test sees what was
    written as soon as it is flushed.
    """

    workdir: Path
    retention: str = "2y"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def write_url(self) -> str:
        """The Prometheus remote-write endpoint."""
        return f"{self.url}/api/v1/write"

    def start(self) -> VictoriaMetrics:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        log = self.workdir / "victoria-metrics.log"
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    VICTORIA_METRICS,
                    f"-storageDataPath={self.workdir / 'data'}",
                    f"-httpListenAddr=127.0.0.1:{self.port}",
                    f"-retentionPeriod={self.retention}",
                    "-search.latencyOffset=0s",
                    "-search.disableCache",
                    "-loggerLevel=WARN",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _wait_ready(f"{self.url}/health", self.proc, log)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def flush(self) -> None:
        """Make every sample received so far searchable (``/internal/force_flush``)."""
        httpx.get(f"{self.url}/internal/force_flush", timeout=30).raise_for_status()

    def import_prometheus(self, text: str) -> None:
        """Import exposition-format lines (with millisecond timestamps), then flush."""
        r = httpx.post(f"{self.url}/api/v1/import/prometheus", content=text, timeout=300)
        r.raise_for_status()
        self.flush()

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; the result vector."""
        r = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = r.json()
        if body.get("status") != "success":
            raise AssertionError(f"{expr}: {body}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_for(self, expr: str, predicate: Any, timeout: float = 30) -> list[dict[str, Any]]:
        """Poll ``expr`` until ``predicate(result)`` holds; return the result."""
        deadline = time.monotonic() + timeout
        result: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            result = self.query(expr)
            if predicate(result):
                return result
            time.sleep(0.25)
        raise AssertionError(f"{expr}: condition not met in {timeout}s; last result {result}")
