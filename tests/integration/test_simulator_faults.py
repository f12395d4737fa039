"""Fault injection and latency: wire behaviour, determinism with a seed, config files."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from medical_insurance_sdk.client import DEFAULT_PATH
from medical_insurance_sdk.protocol.auth import ApiSignatureAuth
from medical_insurance_sdk.protocol.envelope import (
    EnvelopeDefaults,
    build_envelope,
    encode_envelope,
    next_msgid,
)
from medical_insurance_sdk.simulator import (
    Fault,
    FaultConfig,
    FaultPlan,
    LatencyModel,
    SimulatorConfig,
    load_config,
)
from medical_insurance_sdk.simulator.testing import (
    SAMPLE_CERTNO,
    SAMPLE_ORG,
    RunningSimulator,
    running_simulator,
)

pytestmark = pytest.mark.integration

PERSON = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": SAMPLE_CERTNO}}


def send(sim: RunningSimulator, api_code: str = "1101", timeout: float = 5.0) -> httpx.Response:
    """One signed raw request (no client logic in between)."""
    body = encode_envelope(
        build_envelope(EnvelopeDefaults(SAMPLE_ORG), api_code, next_msgid(SAMPLE_ORG), PERSON)
    )
    return httpx.post(
        sim.base_url + DEFAULT_PATH,
        content=body,
        headers=ApiSignatureAuth.for_simulator().headers(api_code),
        timeout=timeout,
    )


def test_html_502(sim: RunningSimulator) -> None:
    """html_502 answers like a proxy: 502 with an HTML page."""
    sim.set_faults({"1101": {"html_502_rate": 1.0}})
    response = send(sim)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "502 Bad Gateway" in response.text


def test_http_5xx_status_is_configurable(sim: RunningSimulator) -> None:
    """http_5xx uses the configured status."""
    sim.set_faults({"1101": {"http_5xx_rate": 1.0, "http_status": 500}})
    assert send(sim).status_code == 500


def test_truncated_json(sim: RunningSimulator) -> None:
    """truncated sends half a JSON document with a correct Content-Length."""
    sim.set_faults({"1101": {"truncated_rate": 1.0}})
    response = send(sim)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_huge_body(sim: RunningSimulator) -> None:
    """huge_body sends a valid envelope of at least 10 MB."""
    sim.set_faults({"1301": {"huge_body_rate": 1.0}})
    response = send(sim, "1301")
    assert len(response.content) >= 10 * 1024 * 1024
    assert response.json()["infcode"] == 0


def test_wrong_content_type(sim: RunningSimulator) -> None:
    """wrong_content_type labels a valid envelope as text/html."""
    sim.set_faults({"1101": {"wrong_content_type_rate": 1.0}})
    response = send(sim)
    assert response.headers["content-type"].startswith("text/html")
    assert response.json()["infcode"] == 0


def test_reset_mid_response(sim: RunningSimulator) -> None:
    """reset sends headers and part of the body, then resets the connection."""
    sim.set_faults({"1101": {"reset_rate": 1.0}})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        send(sim)
    sim.set_faults({})
    assert send(sim).json()["infcode"] == 0


def test_hang(sim: RunningSimulator) -> None:
    """hang holds the answer for hang_seconds (the client times out first)."""
    sim.set_faults({"1101": {"hang_rate": 1.0, "hang_seconds": 5.0}})
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        send(sim, timeout=0.2)
    assert time.monotonic() - started < 4  # the held answer would take 5 s


def test_business_error_rate(sim: RunningSimulator) -> None:
    """business_error answers -1 with a HygeiaException err_msg echoing the certificate."""
    sim.set_faults({"*": {"business_error_rate": 1.0}})
    data = send(sim).json()
    assert data["infcode"] == -1
    assert data["err_msg"].startswith("MBS-cn.hsa.ais.common.exception.HygeiaException: ")
    assert SAMPLE_CERTNO in data["err_msg"]
    assert sim.stats()["faults"] == {"1101:business_error": 1}


def test_slowdown_multiplies_latency() -> None:
    """A fixed 20 ms latency becomes 100 ms with slowdown 5."""
    config = SimulatorConfig(seed=1, latency={"*": LatencyModel(20, 20)})
    body = encode_envelope(
        build_envelope(EnvelopeDefaults(SAMPLE_ORG), "1101", next_msgid(SAMPLE_ORG), PERSON)
    )

    def timed(http: httpx.Client, url: str) -> float:
        started = time.perf_counter()
        http.post(url, content=body, headers=ApiSignatureAuth.for_simulator().headers("1101"))
        return time.perf_counter() - started

    with running_simulator(config) as slow, httpx.Client(timeout=5) as http:
        url = slow.base_url + DEFAULT_PATH
        timed(http, url)  # warm the connection
        normal = min(timed(http, url) for _ in range(3))
        slow.set_faults({"1101": {"slowdown": 5}})
        slowed = min(timed(http, url) for _ in range(3))
    assert normal >= 0.02
    assert slowed >= 0.1
    assert slowed - normal >= 0.06


def test_faults_are_deterministic_with_a_seed() -> None:
    """Two plans with the same seed draw the same latencies and faults per interface."""
    faults = {"*": {"business_error_rate": 0.3, "http_5xx_rate": 0.2, "reset_rate": 0.1}}
    latency = {"*": LatencyModel(50, 400)}

    def run(seed: int, order: list[str]) -> dict[str, list[tuple[float, Fault | None]]]:
        plan = FaultPlan(seed, latency, faults)
        drawn: dict[str, list[tuple[float, Fault | None]]] = {}
        for code in order:
            delay, fault, _ = plan.draw(code)
            drawn.setdefault(code, []).append((delay, fault))
        return drawn

    order = ["1101", "2207"] * 50
    interleaved = ["1101"] * 50 + ["2207"] * 50
    first = run(42, order)
    assert first == run(42, order)
    assert first == run(42, interleaved)
    assert first != run(43, order)
    fired = [fault for _, fault in first["1101"] if fault is not None]
    assert 0 < len(fired) < 50


def test_latency_model_percentiles() -> None:
    """Sampled latencies have about the configured median and p99."""
    plan = FaultPlan(5, {"*": LatencyModel(100, 800)}, {})
    samples = sorted(plan.draw("1101")[0] * 1000 for _ in range(4000))
    assert samples[2000] == pytest.approx(100, rel=0.1)
    assert samples[3960] == pytest.approx(800, rel=0.25)


def test_fault_merging() -> None:
    """Per-interface settings override '*' field by field."""
    plan = FaultPlan(1, {"*": LatencyModel(1, 1)}, {"*": {"business_error_rate": 0.1}})
    plan.update({"2207": {"slowdown": 5}})
    assert plan.for_interface("2207") == FaultConfig(business_error_rate=0.1, slowdown=5)
    assert plan.for_interface("1101") == FaultConfig(business_error_rate=0.1)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"business_error_rate": 1.5}, "within 0..1"),
        ({"slowdown": 0}, "slowdown"),
        ({"http_status": 404}, "5xx"),
        ({"unknown_fault": 1}, "unknown fault"),
    ],
    ids=["rate>1", "slowdown0", "status", "unknown"],
)
def test_invalid_fault_settings_fail_loudly(spec: dict[str, float], message: str) -> None:
    """Bad settings raise ValueError at construction."""
    with pytest.raises(ValueError, match=message):
        SimulatorConfig(faults={"2207": spec})


def test_config_file(tmp_path: Path) -> None:
    """A YAML config sets seed, auth keys, latency and faults."""
    path = tmp_path / "sim.yaml"
    path.write_text(
        "seed: 9\n"
        "latency_scale: 0\n"
        "auth:\n  scheme: api\n  keys: {ak2: sk2}\n"
        "latency:\n  '2207': {median_ms: 300, p99_ms: 3000}\n"
        "faults:\n  '1101': {http_5xx_rate: 1.0}\n",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.seed == 9
    assert config.latency["2207"] == LatencyModel(300, 3000)
    with running_simulator(config) as sim:
        body = encode_envelope(
            build_envelope(EnvelopeDefaults(SAMPLE_ORG), "1101", next_msgid(SAMPLE_ORG), PERSON)
        )
        response = httpx.post(
            sim.base_url + DEFAULT_PATH,
            content=body,
            headers=ApiSignatureAuth("ak2", "sk2").headers("1101"),
        )
        assert response.status_code == 503
    json_path = tmp_path / "sim.json"
    json_path.write_text(json.dumps({"seed": 1, "bogus": True}), encoding="utf-8")
    with pytest.raises(ValueError, match="bogus"):
        load_config(json_path)
