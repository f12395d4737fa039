"""PII sweep: personal data fed to every interface never reaches any export path.

Every interface of the catalog is called with ID numbers (18 digits, 18 with an X check
digit, 15 digits), a name, a phone number and an address, against a simulator that
rejects a share of the calls with err_msg echoing the person. Then every place the SDK
writes to is searched: metric labels and both exposition formats, stored error messages,
log records at INFO and above, JSON/CSV/HTML reports, response-cache keys, exceptions'
``str()`` and ``repr()``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from medical_insurance_sdk.client import MedicalInsuranceClient, iter_interfaces
from medical_insurance_sdk.core import MetricConfig, MetricsCollector, PerformanceAnalyzer
from medical_insurance_sdk.exceptions import MedicalInsuranceError
from medical_insurance_sdk.simulator import SimulatorConfig
from medical_insurance_sdk.simulator.testing import SAMPLE_ORG, running_simulator

pytestmark = pytest.mark.integration

CERT18 = "440106199001011235"
CERT18X = "11010519491231002X"
CERT15 = "440106900101123"
NAME = "欧阳娜娜"
PHONE = "13912345678"
ADDRESS = "长沙市岳麓区麓山南路932号"
SECRETS = {
    "certno": (CERT18, CERT18X, CERT15),
    "name": (NAME,),
    "phone": (PHONE,),
    "address": (ADDRESS,),
}


def _person(certno: str) -> dict[str, dict[str, str]]:
    return {
        "data": {
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": certno,
            "certno": certno,
            "psn_cert_type": "01",
            "psn_name": NAME,
            "tel": PHONE,
            "addr": ADDRESS,
            "psn_no": "43000011111111",
            "begntime": "2026-11-28 08:00:00",
        }
    }


def _leaks(text: str) -> list[str]:
    found = []
    for kind, values in SECRETS.items():
        for value in values:
            if value in text:
                found.append(f"{kind}={value}")
    # Also anything shaped like an unmasked 18-digit ID number (region, birth date, check).
    found += re.findall(
        r"(?<![\d.])[1-8]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?!\d)",
        text,
    )
    return found


def test_no_personal_data_on_any_export_path(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    """Labels, exposition, stored messages, INFO+ logs, reports, cache keys, exceptions."""
    collector = MetricsCollector(MetricConfig(prometheus_port=0, background=False))
    config = SimulatorConfig(seed=11, latency_scale=0.0, faults={"*": {"business_error_rate": 0.4}})
    texts: list[str] = []
    caplog.set_level(logging.INFO)
    with (
        running_simulator(config) as sim,
        MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, collector=collector, retries=0) as client,
    ):
        for interface in iter_interfaces():
            for certno in (CERT18, CERT18X, CERT15):
                try:
                    client.call(interface.code, _person(certno))
                except MedicalInsuranceError as exc:
                    texts += [str(exc), repr(exc), str(getattr(exc, "err_msg", ""))]
        cache_keys = client.cache.keys() if client.cache is not None else []
        texts.append(repr(client))
    calls = collector.get_recent_calls(10_000)
    assert len(calls) >= 3 * len(list(iter_interfaces()))
    assert any(c.error_message for c in calls), "the simulator should have echoed errors"
    analyzer = PerformanceAnalyzer(collector)
    paths = analyzer.write_report(tmp_path / "reports", formats=("json", "csv", "html"))
    exports = {
        "exposition": collector.get_prometheus_metrics(),
        "openmetrics": collector.get_prometheus_metrics(openmetrics=True),
        "stored messages": "\n".join(f"{c.error_code} {c.error_message}" for c in calls),
        "labels": "\n".join(f"{c.api_code} {c.org_code}" for c in calls),
        "logs INFO+": "\n".join(
            r.getMessage() for r in caplog.records if r.levelno >= logging.INFO
        ),
        "cache keys": "\n".join(cache_keys),
        "exceptions": "\n".join(texts),
        "performance report dict": str(collector.generate_performance_report(1)),
        **{f"report {p.suffix}": p.read_text(encoding="utf-8-sig") for p in paths},
    }
    leaks = {where: _leaks(text) for where, text in exports.items() if _leaks(text)}
    assert leaks == {}
    # The sweep was not vacuous: echoes reached the SDK and were masked.
    assert "440106********1235" in exports["stored messages"] + exports["exceptions"]
    collector.shutdown()


def test_secrets_never_in_logs_or_reprs(caplog: pytest.LogCaptureFixture):
    """The secret key, sign_no and signatures appear in no log line (any level) or repr."""
    from medical_insurance_sdk.simulator.config import AuthConfig

    secret = "SK-do-not-leak-7f3a9c"
    config = SimulatorConfig(
        seed=3,
        latency_scale=0.0,
        auth=AuthConfig(keys={"AK-test": secret}),
        faults={"2207": {"business_error_rate": 1.0}},
    )
    collector = MetricsCollector(MetricConfig(prometheus_port=0, background=False))
    caplog.set_level(logging.DEBUG)
    reprs = []
    with running_simulator(config) as sim:
        with MedicalInsuranceClient(
            sim.base_url,
            SAMPLE_ORG,
            access_key="AK-test",
            secret_key=secret,
            collector=collector,
            retries=0,
        ) as client:
            sign_no = client.sign_in()
            client.call("1101", _person(CERT18))
            try:
                client.call("2207", _person(CERT18))
            except MedicalInsuranceError as exc:
                reprs += [repr(exc), str(exc)]
            reprs += [repr(client), repr(client.auth) if hasattr(client, "auth") else ""]
        headers = sim.stats().get("last_headers", {})
    logs = "\n".join(r.getMessage() for r in caplog.records)
    signatures = [v for k, v in _flatten(headers) if "signature" in k.lower()]
    haystack = logs + "\n".join(reprs) + repr(collector) + collector.get_prometheus_metrics()
    assert sign_no
    assert sign_no not in haystack
    assert secret not in haystack
    for signature in signatures:
        assert signature not in haystack
    collector.shutdown()


def _flatten(value: object, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [kv for k, v in value.items() for kv in _flatten(v, f"{prefix}{k}.")]
    return [(prefix, str(value))]
