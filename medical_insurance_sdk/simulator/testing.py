"""Run the simulator in a background thread, for tests and load tests.

    with running_simulator(SimulatorConfig(seed=1, latency_scale=0)) as sim:
        with MedicalInsuranceClient.for_simulator(sim.base_url) as client:
            client.call("1101", {...})
        assert sim.stats()["received"]["1101"] == 1

The simulator gets its own event loop in a daemon thread and listens on 127.0.0.1 with a
free port (and a free admin port). The handle's methods run on that loop, so they are safe
to call from any thread. Admin writes over HTTP need :attr:`RunningSimulator.admin_headers`
(the simulator's admin token); the handle's own methods change the simulator directly.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from medical_insurance_sdk.simulator.config import SimulatorConfig
from medical_insurance_sdk.simulator.server import Simulator, SimulatorServer

__all__ = [
    "SAMPLE_CERTNO",
    "SAMPLE_CERTNO_BAD_CHECK",
    "SAMPLE_CERTNO_SENIOR",
    "SAMPLE_CERTNO_UNINSURED",
    "SAMPLE_ORG",
    "RunningSimulator",
    "running_simulator",
]

T = TypeVar("T")
_TIMEOUT = 10.0

#: An institution code of the right shape (12 characters).
SAMPLE_ORG = "H43010500001"
#: Invented, checksum-valid ID numbers with known simulator behaviour.
SAMPLE_CERTNO = "440106199001011235"  # insured, born 1990
SAMPLE_CERTNO_SENIOR = "11010519491231002X"  # insured, born 1949: has one idetinfo entry
SAMPLE_CERTNO_UNINSURED = "430102200001010003"  # sequence 000: "not insured", echoed
SAMPLE_CERTNO_BAD_CHECK = "440106199001011236"  # wrong check digit: rejected, echoed


class RunningSimulator:
    """Handle on a simulator running in a background thread."""

    def __init__(self, server: SimulatorServer, loop: asyncio.AbstractEventLoop) -> None:
        self.server = server
        self.simulator: Simulator = server.simulator
        self._loop = loop

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: pass it to the client."""
        return self.server.base_url

    @property
    def admin_url(self) -> str:
        """``http://127.0.0.1:<admin port>``."""
        url = self.server.admin_url
        assert url is not None
        return url

    @property
    def admin_token(self) -> str:
        """The token admin writes need (``SimulatorConfig.admin_token`` or a random one)."""
        return self.server.admin_token

    @property
    def admin_headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}``: pass it to admin writes over HTTP."""
        return {"Authorization": f"Bearer {self.admin_token}"}

    def run(self, func: Callable[[], T]) -> T:
        """Run ``func`` on the simulator's loop and return its result."""

        async def call() -> T:
            return func()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(_TIMEOUT)

    def stats(self) -> dict[str, Any]:
        """What the simulator received (see :class:`~.recorder.Recorder`)."""
        return self.run(self.simulator.stats)

    def reset(self) -> None:
        """Clear the received counters and the faults."""

        def reset() -> None:
            self.simulator.recorder.reset()
            self.simulator.plan.replace({})

        self.run(reset)

    def set_faults(self, faults: Mapping[str, Mapping[str, Any]], *, merge: bool = False) -> None:
        """Replace (or merge into) the fault settings, e.g. ``{"2207": {"slowdown": 5}}``."""
        plan = self.simulator.plan
        self.run(lambda: plan.update(faults) if merge else plan.replace(faults))

    def set_latency_scale(self, scale: float) -> None:
        """Scale every latency model (0 disables simulated latency)."""

        def apply() -> None:
            self.simulator.plan.latency_scale = scale

        self.run(apply)


@contextmanager
def running_simulator(
    config: SimulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    admin_port: int | None = 0,
    tracer_provider: Any = None,
) -> Iterator[RunningSimulator]:
    """Start a simulator in a daemon thread; stop it when the block ends.

    ``tracer_provider`` (an OpenTelemetry ``TracerProvider``) gives the platform SERVER
    spans continuing each request's trace (:mod:`.tracecontext`)."""
    loop = asyncio.new_event_loop()
    simulator = Simulator(config, tracer_provider=tracer_provider)
    server = SimulatorServer(simulator, host=host, port=port, admin_port=admin_port)
    started = threading.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start())
        except BaseException as exc:  # reported to the starting thread below
            failure.append(exc)
            started.set()
            loop.close()
            return
        started.set()
        loop.run_forever()
        loop.run_until_complete(server.stop())
        loop.close()

    thread = threading.Thread(target=serve, name="misdk-simulator", daemon=True)
    thread.start()
    if not started.wait(_TIMEOUT):
        raise RuntimeError("the simulator did not start in time")
    if failure:
        raise failure[0]
    try:
        yield RunningSimulator(server, loop)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_TIMEOUT)
