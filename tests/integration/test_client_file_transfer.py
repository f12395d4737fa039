"""upload_file / download_file (9101 / 9102) against the simulator, sync and async."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest
from recording_paths import PATHS, recorder

from medical_insurance_sdk.client import (
    AsyncMedicalInsuranceClient,
    MedicalInsuranceClient,
    RetryPolicy,
)
from medical_insurance_sdk.core import MetricConfig, MetricsCollector
from medical_insurance_sdk.exceptions import (
    BusinessError,
    GatewaySignatureError,
    HTTPStatusError,
    NetworkError,
    ResponseTooLargeError,
    ValidationError,
)
from medical_insurance_sdk.simulator import SimulatorConfig
from medical_insurance_sdk.simulator.testing import (
    SAMPLE_CERTNO,
    SAMPLE_ORG,
    RunningSimulator,
    running_simulator,
)

pytestmark = pytest.mark.integration

CONTENT = "门诊费用明细,金额\n".encode() * 500
NAME = "费用明细 2024.csv"
TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$")


def files_in(folder: Path) -> list[str]:
    """Names in a folder (partial downloads would show up here)."""
    return sorted(path.name for path in folder.iterdir())


def test_round_trip_with_bytes(client: MedicalInsuranceClient, sim: RunningSimulator) -> None:
    """Bytes go up with their filename and come back identical; one request each."""
    output = client.upload_file(CONTENT, NAME)
    assert output["filename"] == NAME
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", output["dld_endtime"])
    assert client.download_file(output["file_qury_no"], NAME) == CONTENT
    assert sim.stats()["received"] == {"9101": 1, "9102": 1}


def test_round_trip_with_paths(client: MedicalInsuranceClient, tmp_path: Path) -> None:
    """A path uploads under its own name; dest may be a file or a folder, written whole."""
    source = tmp_path / "up" / NAME
    source.parent.mkdir()
    source.write_bytes(CONTENT)
    number = client.upload_file(source)["file_qury_no"]
    target = tmp_path / "down"
    target.mkdir()
    saved = client.download_file(number, NAME, dest=target / "copy.csv")
    assert saved == target / "copy.csv"
    assert saved.read_bytes() == CONTENT
    into_folder = client.download_file(number, NAME, dest=str(target))
    assert into_folder == target / NAME
    assert into_folder.read_bytes() == CONTENT
    assert files_in(target) == sorted(["copy.csv", NAME])


async def test_async_round_trip(
    aclient: AsyncMedicalInsuranceClient, sim: RunningSimulator, tmp_path: Path
) -> None:
    """The async client has the same surface: bytes, a path, and dest."""
    output = await aclient.upload_file(CONTENT, NAME)
    assert await aclient.download_file(output["file_qury_no"], NAME) == CONTENT
    source = tmp_path / "source.bin"
    source.write_bytes(b"\x00\x01binary\xff" * 1000)
    number = (await aclient.upload_file(str(source)))["file_qury_no"]
    saved = await aclient.download_file(number, "source.bin", dest=tmp_path / "copy.bin")
    assert saved.read_bytes() == source.read_bytes()
    assert files_in(tmp_path) == ["copy.bin", "source.bin"]
    assert sim.stats()["received"] == {"9101": 2, "9102": 2}


async def test_async_unknown_file_is_a_business_error(
    aclient: AsyncMedicalInsuranceClient,
) -> None:
    """The async client turns the JSON error answer into the same BusinessError."""
    with pytest.raises(BusinessError, match="文件不存在或已过期"):
        await aclient.download_file("FQ-unknown", NAME)


def test_unknown_file_is_a_business_error(client: MedicalInsuranceClient, tmp_path: Path) -> None:
    """An unknown file_qury_no raises BusinessError, as call() would; nothing is written."""
    with pytest.raises(BusinessError) as caught:
        client.download_file("FQ-unknown", NAME, dest=tmp_path)
    error = caught.value
    assert error.infcode == -1
    assert error.api_code == "9102"
    assert error.error_code == "BIZ_MBS_HygeiaException"
    assert "文件不存在或已过期" in error.err_msg
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    ("file", "filename", "field", "message"),
    [
        (b"", NAME, "file", "上传文件内容不能为空"),
        (b"x" * 65, NAME, "file", "上传文件大小超过上限 64 字节"),
        (b"abc", None, "filename", "文件名[filename]不能为空"),
        (b"abc", "dir/a.txt", "filename", "文件名[filename]不能包含路径"),
        ("no/such/file.txt", None, "file", "无法读取上传文件 (FileNotFoundError)"),
    ],
    ids=["empty", "too-large", "bytes-without-name", "name-with-path", "missing-path"],
)
def test_upload_is_validated_before_sending(
    sim: RunningSimulator,
    collector: MetricsCollector,
    file: bytes | str,
    filename: str | None,
    field: str,
    message: str,
) -> None:
    """Bad uploads raise ValidationError, are monitored as VALIDATION and never sent."""
    with (
        MedicalInsuranceClient(
            sim.base_url, SAMPLE_ORG, collector=collector, max_upload_bytes=64
        ) as client,
        pytest.raises(ValidationError) as caught,
    ):
        client.upload_file(file, filename)
    assert caught.value.field == field
    assert caught.value.message == message
    assert sim.stats()["received"] == {}
    call = collector.get_recent_calls(1)[0]
    assert (call.api_code, call.status, call.error_code) == ("9101", "error", "VALIDATION")


def test_a_path_whose_name_is_not_utf8_is_refused_and_recorded(
    sim: RunningSimulator, collector: MetricsCollector, tmp_path: Path
) -> None:
    """A GBK-named file on a UTF-8 system (张三结算单.zip): ValidationError, one record."""
    path = tmp_path / os.fsdecode("张三结算单.zip".encode("gbk"))
    path.write_bytes(CONTENT)
    with (
        MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, collector=collector) as client,
        pytest.raises(ValidationError, match="无法编码"),
    ):
        client.upload_file(path)
    assert sim.stats()["received"] == {}
    (call,) = collector.get_recent_calls()
    assert (call.api_code, call.error_code) == ("9101", "VALIDATION")
    assert collector.connections()["http"] == 0


def test_oversized_path_is_not_read_whole(sim: RunningSimulator, tmp_path: Path) -> None:
    """A file above max_upload_bytes given by path is refused (only limit + 1 bytes read)."""
    source = tmp_path / "big.bin"
    source.write_bytes(b"x" * 4096)
    with (
        MedicalInsuranceClient(
            sim.base_url, SAMPLE_ORG, monitoring=False, max_upload_bytes=1024
        ) as client,
        pytest.raises(ValidationError, match="上传文件大小超过上限 1024 字节"),
    ):
        client.upload_file(source)
    assert sim.stats()["received"] == {}


def test_download_to_a_missing_folder_is_refused(
    client: MedicalInsuranceClient, sim: RunningSimulator, tmp_path: Path
) -> None:
    """dest inside a folder that does not exist fails before sending."""
    with pytest.raises(ValidationError, match="下载保存目录不存在"):
        client.download_file("FQ1", NAME, dest=tmp_path / "missing" / NAME)
    assert sim.stats()["received"] == {}


def test_download_size_limit(sim: RunningSimulator, tmp_path: Path) -> None:
    """A file above max_download_bytes raises ResponseTooLargeError, leaves no partial file."""
    with MedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, monitoring=False, max_download_bytes=1000
    ) as client:
        number = client.upload_file(CONTENT, NAME)["file_qury_no"]
        with pytest.raises(ResponseTooLargeError) as caught:
            client.download_file(number, NAME, dest=tmp_path)
        assert caught.value.limit == 1000
        with pytest.raises(ResponseTooLargeError):
            client.download_file(number, NAME)
    assert files_in(tmp_path) == []
    assert sim.stats()["received"] == {"9101": 1, "9102": 2}


def test_upload_is_never_retried(client: MedicalInsuranceClient, sim: RunningSimulator) -> None:
    """9101 changes state (W): a 503 is raised after one attempt."""
    sim.set_faults({"9101": {"http_5xx_rate": 1.0}})
    with pytest.raises(HTTPStatusError):
        client.upload_file(CONTENT, NAME)
    assert sim.stats()["received"] == {"9101": 1}


def test_download_is_retried(client: MedicalInsuranceClient, sim: RunningSimulator) -> None:
    """9102 is a read (R): a 503 is retried up to the policy's three attempts."""
    number = client.upload_file(CONTENT, NAME)["file_qury_no"]
    sim.set_faults({"9102": {"http_5xx_rate": 1.0}})
    with pytest.raises(HTTPStatusError):
        client.download_file(number, NAME)
    assert sim.stats()["received"] == {"9101": 1, "9102": 3}


def test_download_recovers_from_broken_connections(tmp_path: Path) -> None:
    """Connections reset mid-file are retried; every download ends complete (seeded faults)."""
    config = SimulatorConfig(seed=11, latency_scale=0, faults={"9102": {"reset_rate": 0.5}})
    retries = RetryPolicy(max_attempts=8, backoff_base=0.001, backoff_max=0.002)
    with (
        running_simulator(config) as sim,
        MedicalInsuranceClient(
            sim.base_url, SAMPLE_ORG, monitoring=False, retries=retries, timeout=5.0
        ) as client,
    ):
        number = client.upload_file(CONTENT, NAME)["file_qury_no"]
        for index in range(6):
            saved = client.download_file(number, NAME, dest=tmp_path / f"{index}.csv")
            assert saved.read_bytes() == CONTENT
        stats = sim.stats()
    resets = stats["faults"]["9102:reset"]
    assert resets > 0
    assert stats["received"]["9102"] == 6 + resets
    assert files_in(tmp_path) == [f"{index}.csv" for index in range(6)]


def test_truncated_file_leaves_no_partial_file(
    client: MedicalInsuranceClient, sim: RunningSimulator, tmp_path: Path
) -> None:
    """A file cut short of its Content-Length is a network error, retried, then raised."""
    number = client.upload_file(CONTENT, NAME)["file_qury_no"]
    sim.set_faults({"9102": {"truncated_rate": 1.0}})
    with pytest.raises(NetworkError):
        client.download_file(number, NAME, dest=tmp_path)
    assert sim.stats()["received"]["9102"] == 3
    assert files_in(tmp_path) == []


def test_untyped_answers_are_sniffed(client: MedicalInsuranceClient, sim: RunningSimulator) -> None:
    """A file sent as text/html is still the file; a text/plain envelope is still an error."""
    number = client.upload_file(CONTENT, NAME)["file_qury_no"]
    sim.set_faults({"9102": {"wrong_content_type_rate": 1.0}})
    assert client.download_file(number, NAME) == CONTENT
    sim.set_faults({"9102": {"business_error_rate": 1.0}})
    with pytest.raises(BusinessError, match="医保核心系统繁忙"):
        client.download_file(number, NAME)


@pytest.mark.parametrize("path", list(PATHS))
def test_file_calls_are_monitored_with_sizes(
    sim: RunningSimulator, config: MetricConfig, path: str
) -> None:
    """9101/9102 are recorded like every call: codes, status, error codes and byte counts,
    the same on every recording path (ours, a subclass, a foreign CallMonitor)."""
    collector, monitor = recorder(path, config)
    with MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, collector=monitor) as client:
        assert client.monitor is not None
        assert client.monitor.path == PATHS[path]
        output = client.upload_file(CONTENT, NAME)
        client.download_file(output["file_qury_no"], NAME)
        with pytest.raises(BusinessError):
            client.download_file("FQ-unknown", NAME)
    upload, download, missing = collector.get_recent_calls(3)
    assert (upload.api_code, upload.status, upload.org_code) == ("9101", "success", SAMPLE_ORG)
    # 9101's request size is its whole multipart body: the jsonStr envelope and the file
    assert len(CONTENT) + 300 < upload.request_size < len(CONTENT) + 1500
    assert upload.response_size > len(output["file_qury_no"])
    assert (download.api_code, download.status) == ("9102", "success")
    assert 300 < download.request_size < 1000
    assert download.response_size == len(CONTENT)
    assert (missing.api_code, missing.error_code) == ("9102", "BIZ_MBS_HygeiaException")
    stats = collector.get_api_statistics()
    assert stats["total_calls"] == 3
    assert stats["error_breakdown"] == {"BIZ_MBS_HygeiaException": 1}
    exposition = collector.get_prometheus_metrics()
    assert 'medical_insurance_active_connections{connection_type="http"} 0.0' in exposition
    collector.shutdown()


def test_file_calls_carry_a_traceparent(
    client: MedicalInsuranceClient, sim: RunningSimulator
) -> None:
    """The multipart upload and the download each send their own traceparent."""
    number = client.upload_file(CONTENT, NAME)["file_qury_no"]
    client.download_file(number, NAME)
    headers = sim.stats()["last_headers"]
    assert headers["9101"]["content-type"].startswith("multipart/form-data; boundary=")
    up, down = headers["9101"]["traceparent"], headers["9102"]["traceparent"]
    assert TRACEPARENT.match(up)
    assert TRACEPARENT.match(down)
    assert up.split("-")[1] != down.split("-")[1]


def test_gateway_auth_failure_on_upload(sim: RunningSimulator, collector: MetricsCollector) -> None:
    """A wrong secret key on a multipart upload raises GatewaySignatureError, recorded."""
    with (
        MedicalInsuranceClient(
            sim.base_url, SAMPLE_ORG, collector=collector, secret_key="wrong-sk"
        ) as client,
        pytest.raises(GatewaySignatureError),
    ):
        client.upload_file(CONTENT, NAME)
    assert sim.stats()["auth_failures"] == {"bad_signature": 1}
    assert collector.get_recent_calls(1)[0].error_code == "GATEWAY_AUTH_SIGNATURE"


def test_personal_data_stays_out_of_labels_and_logs(
    client: MedicalInsuranceClient,
    collector: MetricsCollector,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A filename naming a patient appears in no metric, stored message or log record."""
    filename = f"张三_{SAMPLE_CERTNO}_病历.pdf"
    content = f"姓名:张三 证件号码:{SAMPLE_CERTNO}".encode()
    caplog.set_level(logging.DEBUG, logger="medical_insurance_sdk")
    number = client.upload_file(content, filename)["file_qury_no"]
    assert client.download_file(number, filename) == content
    with pytest.raises(BusinessError):
        client.download_file("FQ-unknown", filename)
    with pytest.raises(ValidationError):
        client.upload_file(b"", filename)
    exposition = collector.get_prometheus_metrics(openmetrics=True)
    assert set(re.findall(r'api_code="([^"]*)"', exposition)) == {"9101", "9102"}
    stored = " ".join(str(call.to_dict()) for call in collector.get_recent_calls(10))
    logged = " ".join(record.getMessage() for record in caplog.records)
    for text in (exposition, stored, logged):
        assert SAMPLE_CERTNO not in text
        assert "张三" not in text


def test_file_calls_bypass_the_response_cache(
    client: MedicalInsuranceClient, sim: RunningSimulator
) -> None:
    """Downloads always reach the platform: the response cache is never consulted."""
    number = client.upload_file(CONTENT, NAME)["file_qury_no"]
    for _ in range(2):
        assert client.download_file(number, NAME) == CONTENT
    assert sim.stats()["received"] == {"9101": 1, "9102": 2}
    assert client.cache is not None
    stats = client.cache.stats()
    assert (stats.hits, stats.misses, stats.size) == (0, 0, 0)


def test_file_calls_sign_in_first_when_asked() -> None:
    """With auto_sign_in, file calls sign in (9001) first, as call() does."""
    config = SimulatorConfig(seed=5, latency_scale=0, require_sign_in=True)
    with (
        running_simulator(config) as sim,
        MedicalInsuranceClient(
            sim.base_url, SAMPLE_ORG, monitoring=False, auto_sign_in=True
        ) as client,
    ):
        number = client.upload_file(CONTENT, NAME)["file_qury_no"]
        assert client.download_file(number, NAME) == CONTENT
        assert sim.stats()["received"] == {"9001": 1, "9101": 1, "9102": 1}


@pytest.mark.parametrize("option", ["max_upload_bytes", "max_download_bytes"])
def test_size_options_are_validated(option: str) -> None:
    """Non-positive file size limits fail at construction."""
    with pytest.raises(ValueError, match=option):
        MedicalInsuranceClient("http://127.0.0.1:1", SAMPLE_ORG, monitoring=False, **{option: 0})
