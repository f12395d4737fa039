"""The exception hierarchy: stable error codes, masking, the documented tree."""

from __future__ import annotations

import pytest

import medical_insurance_sdk.exceptions as exc_module
from medical_insurance_sdk.exceptions import (
    BusinessError,
    ConnectTimeoutError,
    GatewayAuthError,
    GatewayClockSkewError,
    HTTPStatusError,
    MedicalInsuranceError,
    NetworkError,
    ReadTimeoutError,
    RequestTimeoutError,
    ResponseParseError,
    ResponseTooLargeError,
    SessionError,
    ValidationError,
)

CLASSES = [
    obj
    for name in exc_module.__all__
    if isinstance(obj := getattr(exc_module, name), type) and issubclass(obj, Exception)
]


def test_every_exception_derives_from_the_base() -> None:
    """Every exported exception class is a MedicalInsuranceError."""
    assert len(CLASSES) == 17
    assert all(issubclass(cls, MedicalInsuranceError) for cls in CLASSES)


def test_error_codes_are_unique_per_class() -> None:
    """Each class has its own stable error code."""
    codes = [cls.code for cls in CLASSES]
    assert len(set(codes)) == len(codes)
    assert all(code.isupper() and " " not in code for code in codes)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_the_docstring_tree_names_every_class(cls: type) -> None:
    """The module docstring draws every class with its error code."""
    doc = exc_module.__doc__ or ""
    assert cls.__name__ in doc
    assert f"[{cls.code}" in doc or cls is BusinessError


def test_required_subclass_relations() -> None:
    """Timeouts are network errors; connect and read timeouts are request timeouts."""
    assert issubclass(RequestTimeoutError, NetworkError)
    assert issubclass(ConnectTimeoutError, RequestTimeoutError)
    assert issubclass(ReadTimeoutError, RequestTimeoutError)
    assert issubclass(ResponseTooLargeError, ResponseParseError)
    assert issubclass(SessionError, BusinessError)
    assert issubclass(GatewayClockSkewError, GatewayAuthError)
    assert not issubclass(GatewayAuthError, HTTPStatusError)


def test_message_and_str_are_masked() -> None:
    """An ID number or phone in the message never survives into str() or repr()."""
    error = NetworkError(
        "failed for 440106199001011235 tel 13812345678", api_code="1101", msgid="M1"
    )
    for text in (str(error), repr(error), error.message):
        assert "440106199001011235" not in text
        assert "13812345678" not in text
    assert "440106********1235" in str(error)
    assert str(error).startswith("[NETWORK] ")
    assert "infno=1101" in str(error)
    assert "msgid=M1" in str(error)


def test_business_error_code_comes_from_its_class_token() -> None:
    """BusinessError's error_code is its bounded class token; SessionError's is SESSION."""
    error = BusinessError("x", infcode=-1, error_class="BIZ_MBS_HygeiaException")
    assert error.error_code == "BIZ_MBS_HygeiaException"
    assert error.infcode == -1
    session = SessionError("未签到", infcode=-1, error_class="INFCODE_-1")
    assert session.error_code == "SESSION"


def test_business_error_err_msg_is_masked() -> None:
    """err_msg echoing a certificate number is kept masked only."""
    error = BusinessError("证件号码[11010519491231002X]不存在", infcode="-1", error_class="I")
    assert error.err_msg == "证件号码[110105********002X]不存在"


def test_outcome_unknown_defaults_to_false() -> None:
    """Only an explicit flag marks an outcome as unknown."""
    assert NetworkError("x").outcome_unknown is False
    assert ReadTimeoutError("x", outcome_unknown=True).outcome_unknown is True
    assert ReadTimeoutError("x").phase == "read"


def test_status_and_field_attributes() -> None:
    """Errors carry what a caller needs: status, field, limit."""
    assert HTTPStatusError("x", status_code=503).status_code == 503
    assert GatewayClockSkewError("x").status_code == 401
    assert ValidationError("x", field="psn_no").field == "psn_no"
    assert ResponseTooLargeError("x", limit=10).limit == 10
