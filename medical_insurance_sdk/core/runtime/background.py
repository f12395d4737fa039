"""A periodic background worker in the style of OpenTelemetry's exporting reader.

A named daemon thread (it never keeps a program alive) loops on ``Event.wait(interval)``
and runs one function; an exception is handed to ``on_error`` at the thread boundary
and the loop goes on. ``stop()`` wakes it, optionally runs a final pass, and joins with
a deadline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["PeriodicWorker"]


class PeriodicWorker:
    """Runs ``task`` every ``interval`` seconds on a daemon thread."""

    def __init__(
        self,
        name: str,
        interval: float,
        task: Callable[[], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        self.name = name
        self.interval = interval
        self._task = task
        self._on_error = on_error
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (again, e.g. in a forked child)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.run_once()

    def run_once(self) -> None:
        """Run the task now, in the calling thread; errors go to ``on_error``."""
        try:
            self._task()
        except Exception as exc:  # thread boundary: count, log, keep going
            self._on_error(exc)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop and wait up to ``timeout`` seconds for the thread."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
