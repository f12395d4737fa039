"""The response envelope (交易输出, docs/protocol.md §2): parse, check, normalise.

``infcode`` may be an int or a string; any non-zero value is a failure. Output fields the
catalog lists as lists may arrive as one object (wrapped) or ``null`` (empty list).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from medical_insurance_sdk.client.errors import (
    DEFAULT_SESSION_ANSWERS,
    SessionAnswers,
    business_error,
)
from medical_insurance_sdk.exceptions import ResponseParseError

__all__ = ["PlatformResponse", "normalise_lists", "parse_response"]


@dataclass(frozen=True, slots=True)
class PlatformResponse:
    """A successful response envelope."""

    infcode: int
    output: dict[str, Any]
    inf_refmsgid: str | None
    warn_msg: str | None


def _infcode(value: object) -> int | str:
    if isinstance(value, bool) or value is None:
        raise ValueError("infcode missing")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("infcode empty")
        try:
            return int(text)
        except ValueError:
            return text
    raise ValueError(f"infcode of type {type(value).__name__}")


def normalise_lists(output: dict[str, Any], list_fields: Sequence[str]) -> dict[str, Any]:
    """Wrap single objects (and ``null``) of list fields into lists, in place."""
    for name in list_fields:
        if name in output:
            value = output[name]
            if value is None:
                output[name] = []
            elif not isinstance(value, list):
                output[name] = [value]
    return output


def parse_response(
    body: bytes,
    *,
    api_code: str,
    msgid: str,
    list_fields: Sequence[str] = (),
    trace_id: str | None = None,
    session_answers: SessionAnswers = DEFAULT_SESSION_ANSWERS,
    open_output: Callable[[Any], Any] | None = None,
) -> PlatformResponse:
    """Parse a 200 body; raise ``ResponseParseError`` or ``BusinessError`` on failure.

    Anything but a JSON object with an infcode is a ``ResponseParseError``: truncated
    JSON, HTML, a JSON list, or JSON nested deeper than Python can parse.

    ``open_output`` turns an encrypted ``output`` into its plaintext (see
    :mod:`~medical_insurance_sdk.protocol.envelope_security`).
    """
    where = {"api_code": api_code, "msgid": msgid, "trace_id": trace_id}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ResponseParseError(
            f"响应不是合法的 JSON ({len(body)} 字节): {exc.__class__.__name__}", **where
        ) from exc
    except RecursionError as exc:  # the C decoder refuses nesting beyond the recursion limit
        raise ResponseParseError(f"响应 JSON 嵌套过深 ({len(body)} 字节)", **where) from exc
    if not isinstance(data, dict):
        raise ResponseParseError(f"响应不是 JSON 对象 ({type(data).__name__})", **where)
    try:
        infcode = _infcode(data.get("infcode"))
    except ValueError as exc:
        raise ResponseParseError(f"响应缺少有效的 infcode: {exc}", **where) from exc
    if infcode != 0:
        raise business_error(
            infcode,
            str(data.get("err_msg") or ""),
            api_code=api_code,
            msgid=msgid,
            trace_id=trace_id,
            session_answers=session_answers,
        )
    output = data.get("output")
    if open_output is not None:
        try:
            output = open_output(output)
        except ValueError as exc:  # wrong key, corrupt ciphertext, not JSON
            raise ResponseParseError(f"响应 output 解密失败: {exc}", **where) from exc
        except RecursionError as exc:  # a decrypted output nested too deep
            raise ResponseParseError("响应 output JSON 嵌套过深", **where) from exc
    if output is None:
        output = {}
    if not isinstance(output, dict):
        raise ResponseParseError(f"output 类型错误 ({type(output).__name__})", **where)
    warn = data.get("warn_msg", data.get("warnMsg"))
    ref = data.get("inf_refmsgid")
    return PlatformResponse(
        infcode=0,
        output=normalise_lists(output, list_fields),
        inf_refmsgid=None if ref is None else str(ref),
        warn_msg=None if not warn else str(warn),
    )
