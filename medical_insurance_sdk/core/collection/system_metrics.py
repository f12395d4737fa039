"""Process and system figures from psutil, sampled in the background.

Sampling happens every ``collection_interval`` on the collector's housekeeping thread (and
once at start), never on a business call. :meth:`SystemSampler.latest` returns the last
sample. Without psutil the sampler reports itself unavailable; the collector logs one
warning when it is asked for system metrics and psutil is missing.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["ProcessFigures", "SystemFigures", "SystemSample", "SystemSampler"]


@dataclass(frozen=True)
class ProcessFigures:
    """This process: memory in bytes, CPU in percent of one core."""

    rss_bytes: int
    vms_bytes: int
    cpu_percent: float
    threads: int
    open_fds: int


@dataclass(frozen=True)
class SystemFigures:
    """The machine: memory in bytes, load averages, disk usage of ``disk_path``."""

    memory_total_bytes: int
    memory_available_bytes: int
    memory_percent: float
    cpu_count: int
    cpu_percent: float
    load_1m: float
    load_5m: float
    load_15m: float
    disk_path: str
    disk_total_bytes: int
    disk_used_bytes: int
    disk_percent: float


@dataclass(frozen=True)
class SystemSample:
    """One sample of both, with its wall-clock time."""

    timestamp: float
    process: ProcessFigures
    system: SystemFigures

    def to_dict(self) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp,
            "process": asdict(self.process),
            "system": asdict(self.system),
        }


class SystemSampler:
    """Samples psutil figures; ``sample()`` is called from the background thread."""

    def __init__(self, disk_path: str | None = None) -> None:
        import psutil

        self._psutil = psutil
        self._process = psutil.Process(os.getpid())
        self._process.cpu_percent(None)  # prime: the first reading is always 0
        psutil.cpu_percent(None)
        self._disk_path = disk_path or os.path.abspath(os.sep)
        self._latest: SystemSample | None = None

    def sample(self) -> SystemSample:
        """Take a sample now and keep it as the latest."""
        ps = self._psutil
        proc = self._process
        if proc.pid != os.getpid():  # after fork: measure the child, not the parent
            proc = self._process = ps.Process(os.getpid())
        with proc.oneshot():
            mem = proc.memory_info()
            try:
                fds = proc.num_fds()
            except (AttributeError, ps.Error):  # not on Windows
                fds = 0
            process = ProcessFigures(
                rss_bytes=int(mem.rss),
                vms_bytes=int(mem.vms),
                cpu_percent=float(proc.cpu_percent(None)),
                threads=int(proc.num_threads()),
                open_fds=int(fds),
            )
        vm = ps.virtual_memory()
        try:
            load = os.getloadavg()
        except OSError:  # not available on this platform
            load = (0.0, 0.0, 0.0)
        disk = ps.disk_usage(self._disk_path)
        system = SystemFigures(
            memory_total_bytes=int(vm.total),
            memory_available_bytes=int(vm.available),
            memory_percent=float(vm.percent),
            cpu_count=int(ps.cpu_count() or 1),
            cpu_percent=float(ps.cpu_percent(None)),
            load_1m=float(load[0]),
            load_5m=float(load[1]),
            load_15m=float(load[2]),
            disk_path=self._disk_path,
            disk_total_bytes=int(disk.total),
            disk_used_bytes=int(disk.used),
            disk_percent=float(disk.percent),
        )
        self._latest = SystemSample(time.time(), process, system)
        return self._latest

    def latest(self) -> SystemSample | None:
        """The last sample, or ``None`` before the first."""
        return self._latest
