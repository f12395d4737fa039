"""``misdk simulate`` end to end: starts, serves the client, stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from medical_insurance_sdk.client import MedicalInsuranceClient
from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.simulator.testing import SAMPLE_CERTNO, SAMPLE_ORG

pytestmark = pytest.mark.integration


@pytest.fixture
def simulate_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """Run ``python -m medical_insurance_sdk.cli simulate`` on free ports; yield URLs."""
    config = tmp_path / "sim.json"
    config.write_text('{"faults": {"2201": {"http_5xx_rate": 1.0}}}', encoding="utf-8")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "medical_insurance_sdk.cli",
            "simulate",
            "--port",
            "0",
            "--seed",
            "5",
            "--latency-scale",
            "0",
            "--config",
            str(config),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    service = process.stdout.readline()
    admin = process.stdout.readline()
    match_service = re.search(r"(http://127\.0\.0\.1:\d+)/fsi/", service)
    match_admin = re.search(r"(http://127\.0\.0\.1:\d+)/admin", admin)
    try:
        assert match_service is not None, service
        assert match_admin is not None, admin
        yield process, match_service.group(1), match_admin.group(1)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def test_simulate_serves_and_stops_cleanly(
    simulate_process: tuple[subprocess.Popen[str], str, str], collector: MetricsCollector
) -> None:
    """The default client credentials work; the config's faults apply; SIGINT exits 0."""
    process, base_url, admin_url = simulate_process
    with MedicalInsuranceClient(base_url, SAMPLE_ORG, collector=collector) as client:
        output = client.call(
            "1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": SAMPLE_CERTNO}}
        )
    assert output["baseinfo"]["certno"] == SAMPLE_CERTNO
    assert httpx.get(admin_url + "/admin/stats").json()["received"] == {"1101": 1}
    assert httpx.get(admin_url + "/admin/faults").json() == {"2201": {"http_5xx_rate": 1.0}}
    assert httpx.get(admin_url + "/admin/config").json()["seed"] == 5
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "模拟器已停止" in out


def test_bad_config_file_exits_2(tmp_path: Path) -> None:
    """An invalid config file is reported in Chinese with exit code 2."""
    bad = tmp_path / "bad.json"
    bad.write_text('{"faults": {"2207": {"business_error_rate": 3}}}', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "medical_insurance_sdk.cli", "simulate", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "配置文件无效" in result.stderr
