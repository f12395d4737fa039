"""A local stand-in of the national medical insurance platform (``misdk simulate``).

It speaks the protocol of ``docs/protocol.md`` (envelope, ``_api_*`` gateway auth with the
protocol's 401 bodies, the common interfaces with plausible invented data), with a latency
model and fault injection per interface, deterministic with a seed. Needs the
``[simulator]`` extra (aiohttp).
"""

from medical_insurance_sdk.simulator.config import (
    AuthConfig,
    FaultConfig,
    LatencyModel,
    SimulatorConfig,
    load_config,
)
from medical_insurance_sdk.simulator.faults import Fault, FaultPlan
from medical_insurance_sdk.simulator.server import Simulator, SimulatorServer
from medical_insurance_sdk.simulator.testing import RunningSimulator, running_simulator

__all__ = [
    "AuthConfig",
    "Fault",
    "FaultConfig",
    "FaultPlan",
    "LatencyModel",
    "RunningSimulator",
    "Simulator",
    "SimulatorConfig",
    "SimulatorServer",
    "load_config",
    "running_simulator",
]
