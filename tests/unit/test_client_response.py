"""Response parsing and the error taxonomy (docs/protocol.md §2, §6)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from medical_insurance_sdk.client.errors import (
    business_error_class,
    gateway_error,
    http_status_error,
    transport_error,
)
from medical_insurance_sdk.client.outcomes import outcome_unknown
from medical_insurance_sdk.client.response import parse_response
from medical_insurance_sdk.exceptions import (
    BusinessError,
    ConnectTimeoutError,
    GatewayAuthError,
    GatewayClockSkewError,
    GatewayHeadersMissingError,
    GatewaySignatureError,
    GatewayUnknownKeyError,
    HTTPStatusError,
    NetworkError,
    ReadTimeoutError,
    ResponseParseError,
    SessionError,
)
from medical_insurance_sdk.protocol.catalog import Kind

WHERE = {"api_code": "1101", "msgid": "M1"}


def body(**fields: Any) -> bytes:
    """A JSON body from keyword fields."""
    return json.dumps(fields, ensure_ascii=False).encode()


@pytest.mark.parametrize("infcode", [0, "0", " 0 "], ids=["int", "str", "padded"])
def test_infcode_zero_as_int_or_string(infcode: object) -> None:
    """infcode 0 may be an int or a string."""
    response = parse_response(body(infcode=infcode, output={"a": 1}), **WHERE)
    assert response.output == {"a": 1}


@pytest.mark.parametrize(
    ("infcode", "code"),
    [(-1, "INFCODE_-1"), ("-1", "INFCODE_-1"), (1, "INFCODE_1"), ("E01", "INFCODE_E01")],
)
def test_any_non_zero_infcode_is_a_failure(infcode: object, code: str) -> None:
    """Non-zero infcodes raise BusinessError with an infcode-derived code."""
    with pytest.raises(BusinessError) as info:
        parse_response(body(infcode=infcode, err_msg="失败", output=None), **WHERE)
    assert info.value.error_code == code
    assert info.value.api_code == "1101"
    assert info.value.msgid == "M1"


@pytest.mark.parametrize(
    ("err_msg", "expected"),
    [
        (
            "MBS-cn.hsa.ais.common.exception.HygeiaException: 请求失败,错误原因：x",
            "BIZ_MBS_HygeiaException",
        ),
        ("FSI-com.example.BizError：余额不足", "BIZ_FSI_BizError"),
        ("请求失败 440106199001011235", "INFCODE_-1"),
        ("MBS-not a class: x", "INFCODE_-1"),
        ("", "INFCODE_-1"),
    ],
    ids=["hygeia", "fullwidth-colon", "free-text", "no-class", "empty"],
)
def test_business_error_class_from_prefix(err_msg: str, expected: str) -> None:
    """The code comes from the err_msg's system/class prefix, else the infcode."""
    assert business_error_class(-1, err_msg) == expected


def test_free_text_never_becomes_a_code() -> None:
    """Odd infcodes collapse to INFCODE_OTHER; the text is never used."""
    assert business_error_class("a very long infcode", "x") == "INFCODE_OTHER"
    assert business_error_class('x"}{', "x") == "INFCODE_OTHER"


def test_session_error_detected() -> None:
    """A not-signed-in err_msg becomes SessionError."""
    with pytest.raises(SessionError):
        parse_response(body(infcode=-1, err_msg="当前机构未签到，请先签到"), **WHERE)


def test_business_err_msg_is_masked() -> None:
    """The echoed certificate number is masked in the exception."""
    with pytest.raises(BusinessError) as info:
        parse_response(body(infcode=-1, err_msg="证件号码[440106199001011235]不存在"), **WHERE)
    assert "440106199001011235" not in str(info.value)
    assert "440106********1235" in info.value.err_msg


@pytest.mark.parametrize(
    "raw",
    [
        b"<html>502</html>",
        b'{"infcode":0,"output":',
        b"[1,2]",
        b'{"output":{}}',
        b'{"infcode":null}',
    ],
    ids=["html", "truncated", "array", "no-infcode", "null-infcode"],
)
def test_malformed_bodies_raise_parse_errors(raw: bytes) -> None:
    """Non-JSON, truncated JSON, wrong shapes and missing infcode are parse errors."""
    with pytest.raises(ResponseParseError):
        parse_response(raw, **WHERE)


def test_output_of_wrong_type() -> None:
    """An output that is not an object is a parse error; null output is empty."""
    with pytest.raises(ResponseParseError, match="output"):
        parse_response(body(infcode=0, output=[1]), **WHERE)
    assert parse_response(body(infcode=0, output=None), **WHERE).output == {}


def test_single_objects_become_lists() -> None:
    """List fields arriving as one object (or null) are normalised to lists."""
    raw = body(
        infcode=0, output={"insuinfo": {"insutype": "310"}, "idetinfo": None, "baseinfo": {}}
    )
    output = parse_response(raw, list_fields=("insuinfo", "idetinfo"), **WHERE).output
    assert output["insuinfo"] == [{"insutype": "310"}]
    assert output["idetinfo"] == []
    assert output["baseinfo"] == {}


def test_warn_msg_variants() -> None:
    """Both warn_msg and warnMsg are read."""
    assert parse_response(body(infcode=0, warnMsg="注意"), **WHERE).warn_msg == "注意"
    assert parse_response(body(infcode=0, warn_msg=""), **WHERE).warn_msg is None


@pytest.mark.parametrize(
    ("message", "cls"),
    [
        ("缺少服务网关的请求头!", GatewayHeadersMissingError),
        ("签名时间戳超时!", GatewayClockSkewError),
        ("非法用户!", GatewayUnknownKeyError),
        ("签名不一致!", GatewaySignatureError),
        ("其他网关错误", GatewayAuthError),
    ],
    ids=["headers", "skew", "unknown-key", "signature", "other"],
)
def test_gateway_401_bodies(message: str, cls: type) -> None:
    """Each 401 body maps to its own class and error code."""
    error = gateway_error(401, body(code=401, message=message), **WHERE)
    assert type(error) is cls


def test_non_gateway_statuses() -> None:
    """An HTML 502 or a 503 is an HTTPStatusError with the status."""
    error = http_status_error(502, b"<html>502 Bad Gateway</html>", **WHERE)
    assert isinstance(error, HTTPStatusError)
    assert error.status_code == 502
    assert error.error_code == "HTTP_STATUS"


def _request() -> httpx.Request:
    return httpx.Request("POST", "http://127.0.0.1/")


@pytest.mark.parametrize(
    ("exc", "kind", "cls", "unknown"),
    [
        (httpx.ConnectError("refused"), Kind.WRITE_MONEY, NetworkError, False),
        (httpx.ConnectTimeout("t"), Kind.WRITE_MONEY, ConnectTimeoutError, False),
        (httpx.PoolTimeout("t"), Kind.WRITE_MONEY, ConnectTimeoutError, False),
        (httpx.ReadTimeout("t"), Kind.WRITE_MONEY, ReadTimeoutError, True),
        (httpx.ReadTimeout("t"), Kind.READ, ReadTimeoutError, False),
        (httpx.WriteTimeout("t"), Kind.WRITE_MONEY, ReadTimeoutError, True),
        (httpx.RemoteProtocolError("reset"), Kind.WRITE_MONEY, NetworkError, True),
        (httpx.ReadError("reset"), Kind.WRITE, NetworkError, False),
    ],
    ids=[
        "refused",
        "connect-timeout",
        "pool",
        "read-w$",
        "read-r",
        "write-w$",
        "reset-w$",
        "reset-w",
    ],
)
def test_transport_errors(exc: httpx.TransportError, kind: Kind, cls: type, unknown: bool) -> None:
    """httpx errors become ours; only a possibly-delivered W$ request is outcome-unknown."""
    error = transport_error(exc, **WHERE)
    assert type(error) is cls
    assert outcome_unknown(kind, error) is unknown
