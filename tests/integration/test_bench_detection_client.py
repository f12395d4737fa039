"""The detection bench records each simulator fault as the real client does.

bench/detection_outcomes.py models what the client records for a fault instead of running
the client (the bench runs in virtual time); here the real client calls the simulator with
each modelled fault and its record must be the model's: the error code (None for a
success) and whether the outcome is unknown.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from bench.detection_outcomes import Outcome, OutcomeModel
from medical_insurance_sdk.client import MedicalInsuranceClient, Timeouts
from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.exceptions import MedicalInsuranceError
from medical_insurance_sdk.simulator import Fault, FaultConfig, SimulatorConfig
from medical_insurance_sdk.simulator.testing import (
    SAMPLE_CERTNO_BAD_CHECK,
    SAMPLE_ORG,
    RunningSimulator,
)
from medical_insurance_sdk.simulator.workload import Visit, new_visit

pytestmark = pytest.mark.integration

TIMEOUTS = Timeouts(connect=1.0, read=0.3, per_category={})
CASES: dict[str, tuple[Fault, dict[str, Any]]] = {
    "business": (Fault.BUSINESS_ERROR, {"business_error_rate": 1.0}),
    "http-503": (Fault.HTTP_5XX, {"http_5xx_rate": 1.0}),
    "html-502": (Fault.HTML_502, {"html_502_rate": 1.0}),
    "reset": (Fault.RESET, {"reset_rate": 1.0}),
    "hang-past-the-read-timeout": (Fault.HANG, {"hang_rate": 1.0, "hang_seconds": 1.0}),
    "hang-within-the-read-timeout": (Fault.HANG, {"hang_rate": 1.0, "hang_seconds": 0.05}),
}


def _client(sim: RunningSimulator, collector: MetricsCollector) -> MedicalInsuranceClient:
    return MedicalInsuranceClient.for_simulator(
        sim.base_url, SAMPLE_ORG, collector=collector, timeout=TIMEOUTS, cache=False
    )


def _recorded(collector: MetricsCollector, api_code: str) -> Outcome:
    """The collector's last call of ``api_code`` and its unknown-outcome count, as an Outcome."""
    call = [c for c in collector.get_recent_calls(10) if c.api_code == api_code][-1]
    unknown = 0.0
    for line in collector.get_prometheus_metrics().splitlines():
        if line.startswith("medical_insurance_api_outcome_unknown_total{") and (
            f'api_code="{api_code}"' in line
        ):
            unknown = float(line.rsplit(" ", 1)[1])
    return Outcome(0.0, call.error_code, unknown == 1.0)


def _visit(sim: RunningSimulator, collector: MetricsCollector) -> Visit:
    """A visit registered and charged, ready for 2207."""
    visit = new_visit(random.Random(5), 5)
    with _client(sim, collector) as client:
        visit.take_person(client.call("1101", visit.person_query()))
        visit.mdtrt_id = client.call("2201", visit.registration())["data"]["mdtrt_id"]
        client.call("2204", visit.fee_upload())
    return visit


@pytest.mark.parametrize("name", CASES)
def test_a_2207_fault_is_recorded_as_the_model_says(
    name: str, sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """Error code and unknown outcome of the real client's 2207 match the model's."""
    fault, faults = CASES[name]
    visit = _visit(sim, collector)
    sim.set_faults({"2207": faults})
    error: MedicalInsuranceError | None = None
    with _client(sim, collector) as client:
        try:
            client.call("2207", visit.settlement(), insuplc_admdvs=visit.insuplc_admdvs)
        except MedicalInsuranceError as exc:
            error = exc
    model = OutcomeModel(SimulatorConfig(seed=7), timeouts=TIMEOUTS)
    expected = model.outcome("2207", 0.0, fault, FaultConfig(**faults), visit.settlement())
    got = _recorded(collector, "2207")
    assert (got.error_code, got.unknown) == (expected.error_code, expected.unknown)
    assert (error is None) is expected.ok
    assert error is None or error.outcome_unknown is expected.unknown


def test_the_typo_is_recorded_as_the_model_says(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """A 1101 with a mistyped ID number: the platform's refusal, the same code."""
    query = new_visit(random.Random(6), 6).person_query()
    query["data"].update(certno=SAMPLE_CERTNO_BAD_CHECK, mdtrt_cert_no=SAMPLE_CERTNO_BAD_CHECK)
    with _client(sim, collector) as client, pytest.raises(MedicalInsuranceError):
        client.call("1101", query)
    expected = OutcomeModel(SimulatorConfig(seed=7)).refusal("1101", query, 0.0)
    got = _recorded(collector, "1101")
    assert got.error_code is not None
    assert (got.error_code, got.unknown) == (expected.error_code, expected.unknown)
