"""The I/O-free file-transfer pieces: filenames, sizes, inputs, multipart, file or envelope."""

from __future__ import annotations

import json
from email.parser import BytesParser
from email.policy import HTTP

import pytest

from medical_insurance_sdk.client.files import (
    MAX_FILENAME_CHARS,
    SNIFF_BYTES,
    content_problem,
    declared_envelope,
    download_input,
    encode_upload,
    filename_problem,
    is_envelope,
    looks_like_envelope,
    looks_like_file,
    media_type,
    upload_input,
)
from medical_insurance_sdk.protocol.validation import validate_input

ORG = "H43010500001"


@pytest.mark.parametrize(
    ("filename", "problem"),
    [
        ("fee.zip", None),
        ("门诊 费用明细.2024-01.txt", None),
        (".hidden", None),
        ("x" * MAX_FILENAME_CHARS, None),
        ("", "文件名[filename]不能为空"),
        ("   ", "文件名[filename]不能为空"),
        ("x" * (MAX_FILENAME_CHARS + 1), f"文件名[filename]长度不能超过{MAX_FILENAME_CHARS}"),
        ("dir/fee.zip", "文件名[filename]不能包含路径"),
        ("dir\\fee.zip", "文件名[filename]不能包含路径"),
        ("..", "文件名[filename]不能包含路径"),
        (".", "文件名[filename]不能包含路径"),
        ("fee\n.zip", "文件名[filename]不能包含控制字符或无法编码的字符"),
        ("fee\x00.zip", "文件名[filename]不能包含控制字符或无法编码的字符"),
        ("\udcd5\udcc5.zip", "文件名[filename]不能包含控制字符或无法编码的字符"),
    ],
    ids=[
        "ascii",
        "chinese-and-spaces",
        "leading-dot",
        "longest",
        "empty",
        "blank",
        "too-long",
        "slash",
        "backslash",
        "dot-dot",
        "dot",
        "newline",
        "nul",
        "undecodable-bytes",
    ],
)
def test_filename_problem(filename: str, problem: str | None) -> None:
    """A filename is a plain, non-empty name of bounded length without control characters."""
    assert filename_problem(filename) == problem


@pytest.mark.parametrize(
    ("size", "problem"),
    [
        (1, None),
        (100, None),
        (0, "上传文件内容不能为空"),
        (101, "上传文件大小超过上限 100 字节"),
    ],
    ids=["one-byte", "at-limit", "empty", "over-limit"],
)
def test_content_problem(size: int, problem: str | None) -> None:
    """Empty files and files above the limit are refused; the limit itself is allowed."""
    assert content_problem(size, 100) == problem


def test_inputs_use_the_documented_camel_case_nodes() -> None:
    """9101 and 9102 inputs sit under fsUploadIn / fsDownloadIn (docs/protocol.md §1)."""
    assert upload_input("a.zip", ORG) == {
        "fsUploadIn": {"filename": "a.zip", "fixmedins_code": ORG}
    }
    assert download_input("FQ1", "a.zip", ORG) == {
        "fsDownloadIn": {"file_qury_no": "FQ1", "filename": "a.zip", "fixmedins_code": ORG}
    }


def test_encode_upload_has_the_json_str_and_file_parts() -> None:
    """The body is multipart/form-data with jsonStr (the envelope text) and file (the bytes)."""
    envelope = json.dumps({"infno": "9101", "input": upload_input("费用.zip", ORG)}).encode()
    content = bytes(range(256)) * 4
    upload = encode_upload(envelope, "费用.zip", content)
    assert upload.content_type.startswith("multipart/form-data; boundary=")
    head = f"Content-Type: {upload.content_type}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + upload.body)
    parts = {
        part.get_param("name", header="content-disposition"): part for part in message.iter_parts()
    }
    assert set(parts) == {"jsonStr", "file"}
    assert json.loads(parts["jsonStr"].get_payload(decode=True)) == json.loads(envelope)
    assert parts["file"].get_content_type() == "application/octet-stream"
    assert parts["file"].get_payload(decode=True) == content


@pytest.mark.parametrize(
    ("content_type", "declared"),
    [
        ("application/octet-stream", False),
        ("Application/Octet-Stream; name=a.zip", False),
        ("application/zip", False),
        ("application/json;charset=utf-8", True),
        ("text/plain; charset=utf-8", None),
        ("text/html", None),
        (None, None),
    ],
    ids=["octet", "octet-params", "zip", "json", "text-plain", "html", "none"],
)
def test_declared_envelope(content_type: str | None, declared: bool | None) -> None:
    """Binary types are files, JSON is an envelope, everything else must be sniffed."""
    assert declared_envelope(content_type) is declared


@pytest.mark.parametrize(
    ("head", "envelope"),
    [
        (b'{"infcode":-1,"err_msg":"x"}', True),
        (b'\xef\xbb\xbf \n {"output":null,"infcode":"-1"}', True),
        (b'{"name":"a json file"}', False),
        (b"PK\x03\x04", False),
        (b"", False),
        (b"{" + b" " * SNIFF_BYTES + b'"infcode":0}', False),
    ],
    ids=["envelope", "bom-and-spaces", "other-json", "zip", "empty", "infcode-beyond-window"],
)
def test_looks_like_envelope(head: bytes, envelope: bool) -> None:
    """An envelope is a JSON object that names infcode within its first bytes."""
    assert looks_like_envelope(head) is envelope


def test_is_envelope_trusts_the_declared_type_over_the_bytes() -> None:
    """A file declared as octet-stream stays a file even when it holds an envelope."""
    body = b'{"infcode":-1,"err_msg":"x"}'
    assert is_envelope("application/octet-stream", body) is False
    assert is_envelope("application/json", b"PK\x03\x04") is True
    assert is_envelope("text/plain", body) is True
    assert is_envelope(None, b"PK\x03\x04") is False


@pytest.mark.parametrize(
    ("head", "file"),
    [
        (b"PK\x03\x04", True),
        (b'{"name":"a json file"}', True),
        (b'{"infcode":-1,"err_msg":"x"}', False),
        (b"", False),
        (b"<!DOCTYPE html><html><body>blocked</body></html>", False),
        (b"\xef\xbb\xbf  <HTML><head>", False),
        (b"<xml>a file</xml>", True),
    ],
    ids=["zip", "other-json", "envelope", "empty", "doctype", "bom-html", "xml"],
)
def test_an_undeclared_answer_is_the_file_unless_empty_envelope_or_page(
    head: bytes, file: bool
) -> None:
    """A proxy's HTML page or an empty 200 is never saved as the downloaded file."""
    assert looks_like_file(head) is file
    assert is_envelope(None, head) is not file


def test_media_type_ignores_parameters_and_case() -> None:
    """The media type is the lower-case part before any parameter."""
    assert media_type(" Text/Plain ; charset=utf-8") == "text/plain"
    assert media_type(None) == ""


@pytest.mark.parametrize(
    ("api_code", "input_data", "field"),
    [
        ("9101", {}, "fsUploadIn"),
        ("9101", upload_input("", ORG), "filename"),
        ("9101", upload_input("a/b.zip", ORG), "filename"),
        ("9101", upload_input("a.zip", ""), "fixmedins_code"),
        ("9102", download_input("", "a.zip", ORG), "file_qury_no"),
        ("9102", download_input("FQ1", "..", ORG), "filename"),
    ],
    ids=["no-node", "empty-name", "path-name", "no-org", "no-query-number", "dot-dot"],
)
def test_input_rules_of_the_file_interfaces(
    api_code: str, input_data: dict[str, object], field: str
) -> None:
    """The client and the simulator check 9101/9102 inputs with the same rules."""
    problems = validate_input(api_code, input_data)
    assert [problem.field for problem in problems] == [field]


def test_valid_file_inputs_pass_the_rules() -> None:
    """Well-formed 9101/9102 inputs have no problem."""
    assert validate_input("9101", upload_input("费用.zip", ORG)) == []
    assert validate_input("9102", download_input("FQ1", "费用.zip", ORG)) == []
