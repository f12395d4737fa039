"""Integration fixtures: the platform simulator on loopback and clients pointed at it."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator

import pytest

from medical_insurance_sdk.client import (
    AsyncMedicalInsuranceClient,
    MedicalInsuranceClient,
    RetryPolicy,
)
from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.simulator import SimulatorConfig
from medical_insurance_sdk.simulator.testing import SAMPLE_ORG as ORG
from medical_insurance_sdk.simulator.testing import RunningSimulator, running_simulator


@pytest.fixture(scope="session")
def _shared_simulator() -> Iterator[RunningSimulator]:
    with running_simulator(SimulatorConfig(seed=7, latency_scale=0)) as sim:
        yield sim


@pytest.fixture
def sim(_shared_simulator: RunningSimulator) -> RunningSimulator:
    """The shared simulator (no latency, seed 7), with counters and faults reset."""
    _shared_simulator.reset()
    return _shared_simulator


def fast_retries() -> RetryPolicy:
    return RetryPolicy(max_attempts=3, backoff_base=0.001, backoff_max=0.005, rng=random.Random(0))


@pytest.fixture
def client(sim: RunningSimulator, collector: MetricsCollector) -> Iterator[MedicalInsuranceClient]:
    """A sync client with default credentials, an isolated collector and fast retries."""
    with MedicalInsuranceClient(
        sim.base_url, ORG, collector=collector, retries=fast_retries(), timeout=5.0
    ) as c:
        yield c


@pytest.fixture
async def aclient(
    sim: RunningSimulator, collector: MetricsCollector
) -> AsyncIterator[AsyncMedicalInsuranceClient]:
    """An async client configured like ``client``."""
    async with AsyncMedicalInsuranceClient(
        sim.base_url, ORG, collector=collector, retries=fast_retries(), timeout=5.0
    ) as c:
        yield c
