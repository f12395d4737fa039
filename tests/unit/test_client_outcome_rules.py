"""The outcome table, exact session answers, 2601's "nothing to reverse", bounded inflation."""

from __future__ import annotations

import json
import zlib

import pytest

from medical_insurance_sdk.client.decoding import PIECE, BodyDecoder, BodyTooLarge
from medical_insurance_sdk.client.errors import (
    DEFAULT_SESSION_ANSWERS,
    SessionAnswers,
    business_error,
    http_status_error,
    normalise_err_msg,
)
from medical_insurance_sdk.client.outcomes import (
    RULES,
    Failure,
    is_nothing_to_reverse,
    mark_outcome,
)
from medical_insurance_sdk.client.response import parse_response
from medical_insurance_sdk.exceptions import (
    BusinessError,
    HTTPStatusError,
    ResponseParseError,
    SessionError,
)
from medical_insurance_sdk.protocol.catalog import Kind, iter_interfaces
from medical_insurance_sdk.simulator.platform import HYGEIA

WHERE = {"api_code": "2207", "msgid": "M1"}
DEEP = b'{"infcode":0,"output":{"data":' + b"[" * 100_000 + b"]" * 100_000 + b"}}"


def test_rules_cover_every_failure_class() -> None:
    """The table has exactly one row per failure class; proofs of refusal are not unknown."""
    assert set(RULES) == set(Failure)
    known = {f for f, rule in RULES.items() if not rule.unknown}
    assert known == {
        Failure.VALIDATION,
        Failure.NOT_SENT,
        Failure.DEADLINE_NOT_SENT,
        Failure.GATEWAY_REFUSED,
        Failure.BUSINESS,
    }


@pytest.mark.parametrize("code", [i.code for i in iter_interfaces()])
def test_deep_json_is_a_parse_error_for_every_interface(code: str) -> None:
    """A 200 nested too deep raises ResponseParseError (never RecursionError), R included."""
    with pytest.raises(ResponseParseError, match="嵌套过深"):
        parse_response(DEEP, api_code=code, msgid="M1")


def test_deep_json_error_page_is_a_status_error() -> None:
    """A non-200 whose body nests too deep is a plain HTTPStatusError."""
    error = http_status_error(502, DEEP, **WHERE)
    assert type(error) is HTTPStatusError


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        (f"{HYGEIA}当前机构未签到", "当前机构未签到"),
        ("  MBS-a.b.SomeError：签到已失效，请重新签到 ", "签到已失效，请重新签到"),
        ("请求失败, 错误原因: 未签到，请先签到", "未签到，请先签到"),
        ("参保人当日未签到", "参保人当日未签到"),
    ],
)
def test_normalise_err_msg(raw: str, normal: str) -> None:
    """Blanks, the system prefix and the generic lead-in go; the text stays."""
    assert normalise_err_msg(raw) == normal


@pytest.mark.parametrize(
    ("err_msg", "session"),
    [
        (f"{HYGEIA}当前机构未签到或签到已失效，请先签到[9001]", True),  # the simulator's
        ("当前机构未签到，请先签到", True),
        (f"{HYGEIA}参保人当日未签到，不能结算", False),
        ("患者未签到，请先签到后就诊", False),
        ("签到已失效，请重新签到。另：余额不足", False),
    ],
)
def test_session_answers_match_exactly(err_msg: str, session: bool) -> None:
    """Only an exact (normalised) session text is a SessionError; substrings are not."""
    error = business_error(-1, err_msg, **WHERE)
    assert isinstance(error, SessionError) is session
    assert isinstance(error, BusinessError)


def test_session_answers_by_infcode() -> None:
    """A configured infcode marks a session answer whatever the text."""
    answers = SessionAnswers(infcodes={"-9001"})
    assert isinstance(business_error("-9001", "x", session_answers=answers, **WHERE), SessionError)
    assert not isinstance(business_error(-1, "x", session_answers=answers, **WHERE), SessionError)
    assert DEFAULT_SESSION_ANSWERS.infcodes == frozenset()


@pytest.mark.parametrize(
    "bad",
    [{"messages": "未签到"}, {"messages": {" "}}, {"infcodes": {""}}],
    ids=["single-string", "blank-message", "empty-code"],
)
def test_session_answers_refuse_catch_alls(bad: dict[str, object]) -> None:
    """A bare string or an empty entry (which would match too much) is a ValueError."""
    with pytest.raises(ValueError, match="SessionAnswers"):
        SessionAnswers(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("err_msg", "nothing"),
    [
        (f"{HYGEIA}原交易[omsgid=H43010500001202601011200000001]不存在，无需冲正", True),
        ("原交易不存在，无需冲正", True),
        ("原交易编号[oinfno=2201]不支持冲正", False),
        (f"{HYGEIA}医保核心系统繁忙，请稍后重试[2601]", False),
    ],
)
def test_nothing_to_reverse(err_msg: str, nothing: bool) -> None:
    """Only 2601's "original does not exist, no reversal needed" answer is recognised."""
    assert is_nothing_to_reverse(business_error(-1, err_msg, **WHERE)) is nothing


def test_mark_outcome_sets_flag_and_message_once() -> None:
    """An unknown W$ failure says so once, in the flag and the message; R stays known."""
    error = HTTPStatusError("HTTP 503", status_code=503, **WHERE)
    assert mark_outcome(error, Kind.READ) is False
    assert error.outcome_unknown is False
    assert mark_outcome(error, Kind.WRITE_MONEY) is True
    assert mark_outcome(error, Kind.WRITE_MONEY) is True
    assert error.message == "HTTP 503，交易结果未知"
    assert str(error).count("交易结果未知") == 1


def test_decoder_inflates_in_bounded_pieces() -> None:
    """A 4 MiB gzip body comes out in pieces of at most PIECE bytes, and stops at the limit."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    body = packer.compress(bytes(4 * 1024 * 1024)) + packer.flush()
    pieces = list(BodyDecoder("gzip", 8 * 1024 * 1024).decode(body))
    assert sum(map(len, pieces)) == 4 * 1024 * 1024
    assert max(map(len, pieces)) <= PIECE
    taken: list[int] = []

    def consume() -> None:
        for piece in BodyDecoder("gzip", 1024 * 1024).decode(body):
            taken.append(len(piece))

    with pytest.raises(BodyTooLarge):
        consume()
    assert sum(taken) <= 1024 * 1024


def test_decoder_passes_identity_through() -> None:
    """Unencoded bodies are not copied; unknown encodings are refused."""
    body = json.dumps({"infcode": 0}).encode()
    assert BodyDecoder(None, 10).identity
    assert list(BodyDecoder("identity", 10).decode(body)) == [body]
    with pytest.raises(ValueError, match="unsupported"):
        BodyDecoder("br", 10)
