"""The simulator's 9101/9102 on the wire: multipart uploads, octet-stream downloads, bounds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from medical_insurance_sdk.client import DEFAULT_PATH
from medical_insurance_sdk.client.files import download_input, upload_input
from medical_insurance_sdk.protocol.auth import ApiSignatureAuth
from medical_insurance_sdk.protocol.envelope import (
    EnvelopeDefaults,
    build_envelope,
    encode_envelope,
    next_msgid,
)
from medical_insurance_sdk.simulator import SimulatorConfig, load_config
from medical_insurance_sdk.simulator.data import catalog_file
from medical_insurance_sdk.simulator.testing import (
    SAMPLE_ORG,
    RunningSimulator,
    running_simulator,
)

pytestmark = pytest.mark.integration

NOT_FOUND = "文件不存在或已过期"


def envelope(api_code: str, input_data: dict[str, Any]) -> bytes:
    """A valid envelope for api_code, encoded."""
    defaults = EnvelopeDefaults(SAMPLE_ORG)
    return encode_envelope(build_envelope(defaults, api_code, next_msgid(SAMPLE_ORG), input_data))


def upload(
    sim: RunningSimulator,
    content: bytes,
    filename: str = "fee.txt",
    *,
    auth: ApiSignatureAuth | None = None,
    api_code: str = "9101",
) -> httpx.Response:
    """A raw multipart 9101 (jsonStr + file), signed for api_code."""
    json_str = envelope(api_code, upload_input(filename, SAMPLE_ORG)).decode()
    return httpx.post(
        sim.base_url + DEFAULT_PATH,
        data={"jsonStr": json_str},
        files={"file": (filename, content, "application/octet-stream")},
        headers=(auth or ApiSignatureAuth.for_simulator()).headers(api_code),
        timeout=5,
    )


def download(sim: RunningSimulator, file_qury_no: str, filename: str = "fee.txt") -> httpx.Response:
    """A raw 9102 envelope POST."""
    return httpx.post(
        sim.base_url + DEFAULT_PATH,
        content=envelope("9102", download_input(file_qury_no, filename, SAMPLE_ORG)),
        headers=ApiSignatureAuth.for_simulator().headers("9102"),
        timeout=5,
    )


def raw_multipart(sim: RunningSimulator, body: bytes, content_type: str) -> dict[str, Any]:
    """POST a hand-made multipart body; the JSON envelope of the answer."""
    headers = ApiSignatureAuth.for_simulator().headers("9101")
    headers["Content-Type"] = content_type
    response = httpx.post(sim.base_url + DEFAULT_PATH, content=body, headers=headers, timeout=5)
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


def test_upload_then_download_on_the_wire(sim: RunningSimulator) -> None:
    """9101 answers file_qury_no in an envelope; 9102 answers the bytes as octet-stream."""
    content = "门诊费用明细\n".encode() * 100
    answer = upload(sim, content, "费用明细.txt").json()
    assert answer["infcode"] == 0
    output = answer["output"]
    assert output["file_qury_no"].startswith("FQ")
    assert output["filename"] == "费用明细.txt"
    assert len(output["dld_endtime"]) == 19
    response = download(sim, output["file_qury_no"], "费用明细.txt")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    assert response.content == content
    stats = sim.stats()
    assert stats["received"] == {"9101": 1, "9102": 1}
    assert stats["responses"] == {"9101:ok": 1, "9102:ok": 1}
    assert stats["last_headers"]["9101"]["content-type"].startswith("multipart/form-data")


@pytest.mark.parametrize(
    ("file_qury_no", "filename", "message"),
    [
        ("FQ-unknown", "fee.txt", NOT_FOUND),
        (None, "other.txt", "文件名[filename]与文件查询号不一致"),
    ],
    ids=["unknown-number", "wrong-filename"],
)
def test_download_errors_are_json_envelopes(
    sim: RunningSimulator, file_qury_no: str | None, filename: str, message: str
) -> None:
    """An unknown file_qury_no or a mismatched filename gives infcode -1 and a Chinese err_msg."""
    if file_qury_no is None:
        file_qury_no = upload(sim, b"abc").json()["output"]["file_qury_no"]
    response = download(sim, file_qury_no, filename)
    assert response.headers["content-type"].startswith("text/plain")
    answer = response.json()
    assert answer["infcode"] == -1
    assert message in answer["err_msg"]


def download_as(sim: RunningSimulator, sender: str, node_org: str, number: str) -> Any:
    """The answer to a 9102 sent by ``sender`` whose fsDownloadIn names ``node_org``."""
    body = encode_envelope(
        build_envelope(
            EnvelopeDefaults(sender),
            "9102",
            next_msgid(sender),
            download_input(number, "fee.txt", node_org),
        )
    )
    headers = ApiSignatureAuth.for_simulator().headers("9102")
    return httpx.post(sim.base_url + DEFAULT_PATH, content=body, headers=headers).json()


def test_an_institution_cannot_download_another_ones_file(sim: RunningSimulator) -> None:
    """file_qury_no is scoped to the uploading institution: others get "not found"."""
    number = upload(sim, b"abc").json()["output"]["file_qury_no"]
    answer = download_as(sim, "H43010500002", "H43010500002", number)
    assert answer["infcode"] == -1
    assert NOT_FOUND in answer["err_msg"]


def test_gateway_auth_applies_to_multipart(sim: RunningSimulator) -> None:
    """A multipart upload with a bad signature gets the 401 body and stores nothing."""
    before = sim.stats()["files"]["uploaded"]
    response = upload(sim, b"abc", auth=ApiSignatureAuth("misdk-demo-ak", "wrong"))
    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "签名不一致!"}
    stats = sim.stats()
    assert stats["auth_failures"] == {"bad_signature": 1}
    assert stats["received"] == {}
    assert stats["files"]["uploaded"] == before


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"garbage", "multipart/form-data", "无法解析multipart"),
        (b"garbage", "multipart/form-data; boundary=xx", "无法解析multipart"),
        (
            b'--xx\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc\r\n--xx--\r\n',
            "multipart/form-data; boundary=xx",
            "无法解析JSON",
        ),
        (
            b"--xx\r\nno header line\r\n\r\nabc\r\n--xx--\r\n",
            "multipart/form-data; boundary=xx",
            "无法解析multipart",
        ),
    ],
    ids=["no-boundary", "no-first-boundary", "no-json-str", "bad-part-header"],
)
def test_malformed_multipart_is_a_business_error(
    sim: RunningSimulator, body: bytes, content_type: str, message: str
) -> None:
    """Broken multipart bodies get infcode -1, never a 500."""
    answer = raw_multipart(sim, body, content_type)
    assert answer["infcode"] == -1
    assert message in answer["err_msg"]


def test_upload_without_a_file_part_is_refused(sim: RunningSimulator) -> None:
    """A 9101 sent as plain JSON (no file part) is refused with a Chinese message."""
    response = httpx.post(
        sim.base_url + DEFAULT_PATH,
        content=envelope("9101", upload_input("fee.txt", SAMPLE_ORG)),
        headers=ApiSignatureAuth.for_simulator().headers("9101"),
    )
    answer = response.json()
    assert answer["infcode"] == -1
    assert "multipart/form-data" in answer["err_msg"]


def test_other_interfaces_do_not_take_files(sim: RunningSimulator) -> None:
    """A file part on anything but 9101 is refused."""
    json_str = envelope("1201", {"data": {}}).decode()
    response = httpx.post(
        sim.base_url + DEFAULT_PATH,
        data={"jsonStr": json_str},
        files={"file": ("a.txt", b"abc")},
        headers=ApiSignatureAuth.for_simulator().headers("1201"),
    )
    answer = response.json()
    assert answer["infcode"] == -1
    assert "不接受文件上传" in answer["err_msg"]


def test_upload_size_and_store_bounds() -> None:
    """Files above max_upload_bytes are refused; beyond the store's bounds the oldest go."""
    config = SimulatorConfig(
        seed=3,
        latency_scale=0,
        max_upload_bytes=1024,
        file_store_max_files=2,
        file_store_max_bytes=4096,
    )
    with running_simulator(config) as sim:
        answer = upload(sim, b"x" * 1025).json()
        assert answer["infcode"] == -1
        assert "上传文件大小超过上限1024字节" in answer["err_msg"]
        numbers = [upload(sim, b"x" * 1024).json()["output"]["file_qury_no"] for _ in range(3)]
        assert NOT_FOUND in download(sim, numbers[0]).json()["err_msg"]
        assert download(sim, numbers[2]).content == b"x" * 1024
        admin = httpx.get(sim.admin_url + "/admin/stats").json()
        assert admin["files"] == {
            "stored": 2,
            "bytes": 2048,
            "uploaded": 3,
            "evicted": 1,
            "max_files": 2,
            "max_bytes": 4096,
        }


def test_faults_apply_to_uploads(sim: RunningSimulator) -> None:
    """A 5xx fault on 9101 answers before processing: nothing is stored."""
    before = sim.stats()["files"]["uploaded"]
    sim.set_faults({"9101": {"http_5xx_rate": 1.0}})
    assert upload(sim, b"abc").status_code == 503
    stats = sim.stats()
    assert stats["faults"] == {"9101:http_5xx": 1}
    assert stats["files"]["uploaded"] == before


def test_catalog_files_are_deterministic_with_the_seed(sim: RunningSimulator) -> None:
    """CATALOG-1301 needs no upload and is the same file for the same seed."""
    first = download(sim, "CATALOG-1301", "1301.txt")
    assert first.headers["content-type"] == "application/octet-stream"
    assert first.content == catalog_file("1301", 7)
    lines = first.content.decode("utf-8").splitlines()
    assert lines[0].split("\t")[:2] == ["med_list_codg", "name"]
    assert len(lines) == 201
    with running_simulator(SimulatorConfig(seed=7, latency_scale=0)) as other:
        assert download(other, "CATALOG-1301", "1301.txt").content == first.content
    with running_simulator(SimulatorConfig(seed=8, latency_scale=0)) as other:
        assert download(other, "CATALOG-1301", "1301.txt").content != first.content


@pytest.mark.parametrize(
    "settings",
    [
        {"max_upload_bytes": 0},
        {"file_store_max_files": 0},
        {"file_ttl_seconds": 0},
        {"max_upload_bytes": 2048, "file_store_max_bytes": 1024},
    ],
    ids=["no-upload", "no-files", "no-ttl", "upload-above-store"],
)
def test_file_settings_are_validated(settings: dict[str, Any]) -> None:
    """Impossible file settings fail loudly when the config is built."""
    with pytest.raises(ValueError, match="max_upload_bytes"):
        SimulatorConfig.from_mapping(settings)


def test_config_file_sets_the_file_store(tmp_path: Path) -> None:
    """The file settings load from a config file like every other setting."""
    path = tmp_path / "sim.json"
    path.write_text(json.dumps({"file_store_max_files": 5, "max_upload_bytes": 10}))
    config = load_config(path)
    assert (config.file_store_max_files, config.max_upload_bytes) == (5, 10)


def test_the_download_node_must_name_the_sending_institution(sim: RunningSimulator) -> None:
    """Another institution cannot claim the owner's code in fsDownloadIn to get its file."""
    number = upload(sim, b"abc").json()["output"]["file_qury_no"]
    answer = download_as(sim, "H43010500002", SAMPLE_ORG, number)  # the owner's code
    assert answer["infcode"] == -1
    assert "与报文不一致" in answer["err_msg"]
