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
def simulate_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, str, str]]:
    """Run ``python -m medical_insurance_sdk.cli simulate`` on free ports; yield URLs, token."""
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
    token_line = process.stdout.readline()
    match_service = re.search(r"(http://127\.0\.0\.1:\d+)/fsi/", service)
    match_admin = re.search(r"(http://127\.0\.0\.1:\d+)/admin", admin)
    match_token = re.search(r"管理令牌.*: (\S+)$", token_line)
    try:
        assert match_service is not None, service
        assert match_admin is not None, admin
        assert match_token is not None, token_line
        yield process, match_service.group(1), match_admin.group(1), match_token.group(1)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)  # waits and closes the pipes


def test_simulate_serves_and_stops_cleanly(
    simulate_process: tuple[subprocess.Popen[str], str, str, str], collector: MetricsCollector
) -> None:
    """The default client credentials work; the config's faults apply; SIGINT exits 0."""
    process, base_url, admin_url, _ = simulate_process
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


def test_simulate_prints_the_admin_token_that_admin_writes_need(
    simulate_process: tuple[subprocess.Popen[str], str, str, str],
) -> None:
    """The printed token is the one admin writes need; without it they are refused."""
    _, _, admin_url, token = simulate_process
    faults = {"2207": {"slowdown": 3}}
    assert httpx.put(admin_url + "/admin/faults", json=faults).status_code == 401
    accepted = httpx.put(
        admin_url + "/admin/faults", json=faults, headers={"Authorization": f"Bearer {token}"}
    )
    assert accepted.status_code == 200
    assert httpx.get(admin_url + "/admin/faults").json() == faults


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


BAD_CONFIGS = {
    "syntax": ("sim.yaml", 'seed: 4\nfaults:\n  "2207": {slowdown: 5\n', "YAML 语法错误"),
    "python-tag": (
        "sim.yaml",
        "!!python/object/apply:os.system ['echo pwned > {marker}']\n",
        "YAML 标签",
    ),
    "python-tag-nested": (
        "sim.yaml",
        "faults: !!python/object/new:dict {}\n",
        "YAML 标签",
    ),
    "wrong-type": ("sim.yaml", "latency_scale: fast\n", "latency_scale"),
    "wrong-nested-type": ("sim.yaml", "faults:\n  '2207': {slowdown: x}\n", "slowdown"),
    "faults-not-a-mapping": ("sim.yaml", "faults: [1, 2]\n", "faults"),
    "unknown-key": ("sim.yaml", "seed: 1\nbogus_setting: 2\n", "bogus_setting"),
    "unknown-auth-key": ("sim.yaml", "auth: {scheme: api, colour: red}\n", "auth.colour"),
    "not-a-mapping": ("sim.yaml", "- 1\n- 2\n", "映射"),
    "json-syntax": ("sim.json", '{"seed": 1,}', "JSON 语法错误"),
    "missing": ("absent.yaml", None, "文件不存在"),
}


@pytest.mark.parametrize(
    ("name", "text", "expected"), list(BAD_CONFIGS.values()), ids=list(BAD_CONFIGS)
)
def test_unusable_config_exits_2_with_one_line(
    tmp_path: Path, name: str, text: str | None, expected: str
) -> None:
    """A bad, unsafe or missing config: exit 2, one Chinese line naming file and problem."""
    path = tmp_path / name
    marker = tmp_path / "pwned"
    if text is not None:
        path.write_text(text.replace("{marker}", str(marker)), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "medical_insurance_sdk.cli", "simulate", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("配置文件无效")
    assert str(path) in lines[0]
    assert expected in lines[0]
    assert "Traceback" not in result.stderr
    assert not marker.exists()
