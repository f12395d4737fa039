"""configure_logging: opt-in JSON (or text) lines with the call's fields, masked, idempotent.

Records are logged through the real ``logging`` machinery to a buffer; every line must
parse as one JSON object. Personal data in the message, the arguments, ``extra`` fields
and exceptions never shows at any level, the traceback only at DEBUG.
"""

from __future__ import annotations

import datetime
import io
import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pii_shapes import Secret, embedded

import medical_insurance_sdk
from medical_insurance_sdk import configure_logging
from medical_insurance_sdk.cli import build_parser, main
from medical_insurance_sdk.logging_setup import (
    JSON_FIELDS,
    JsonLogFormatter,
    MaskedTextFormatter,
    env_log_format,
    env_log_level,
)

SDK = "medical_insurance_sdk"
CERTNO = "440106199001011235"
PHONE = "13912345678"
CALL = {
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "span_id": "00f067aa0ba902b7",
    "trace_flags": "01",
    "msgid": "H43010500001202612021030000001",
    "api_code": "2207",
    "org_code": "H43010500001",
    "error_code": "HTTP_STATUS",
    "duration_ms": 12.3456,
    "attempt": 2,
}


@pytest.fixture
def sdk_logger() -> Iterator[logging.Logger]:
    """The SDK's logger; its level and handlers are restored afterwards."""
    logger = logging.getLogger(SDK)
    level, handlers = logger.level, list(logger.handlers)
    yield logger
    for handler in [h for h in logger.handlers if h not in handlers]:
        logger.removeHandler(handler)
    logger.setLevel(level)


def parsed(buffer: io.StringIO) -> list[dict[str, Any]]:
    """Every line of ``buffer`` as a JSON object (a line that is not one fails the test)."""
    lines = buffer.getvalue().splitlines()
    objects = [json.loads(line) for line in lines]
    assert all(isinstance(o, dict) for o in objects)
    return objects


def test_every_line_is_one_json_object_with_the_fields(sdk_logger: logging.Logger) -> None:
    """Timestamp with zone, level, logger, message and every call field given in extra."""
    buffer = io.StringIO()
    configure_logging(json=True, level="DEBUG", stream=buffer)
    log = logging.getLogger(f"{SDK}.client")
    log.warning("call failed infno=%s\nsecond line", "2207", extra=CALL)
    log.info("plain line")
    first, second = parsed(buffer)
    stamp = datetime.datetime.fromisoformat(first["timestamp"])
    assert stamp.tzinfo is not None
    assert abs(stamp - datetime.datetime.now(datetime.timezone.utc)).total_seconds() < 3600
    assert first["level"] == "WARNING"
    assert first["logger"] == f"{SDK}.client"
    assert first["message"] == "call failed infno=2207\nsecond line"
    assert {name: first[name] for name in JSON_FIELDS} == {**CALL, "duration_ms": 12.346}
    assert list(first)[:4] == ["timestamp", "level", "logger", "message"]
    assert second["message"] == "plain line"
    assert set(second) == {"timestamp", "level", "logger", "message"}


def test_personal_data_in_message_args_and_fields_is_masked(sdk_logger: logging.Logger) -> None:
    """mask_text on the message and string fields; other extras never reach the line."""
    buffer = io.StringIO()
    configure_logging(json=True, level="INFO", stream=buffer)
    logging.getLogger(SDK).warning(
        "证件号码 %s 手机 %s",
        CERTNO,
        PHONE,
        extra={"api_code": f"ID{CERTNO}", "certno": CERTNO, "psn_name": "张三"},
    )
    text = buffer.getvalue()
    (line,) = parsed(buffer)
    assert CERTNO not in text
    assert PHONE not in text
    assert "张三" not in text
    assert line["message"] == "证件号码 440106********1235 手机 139****5678"
    assert line["api_code"] == "ID440106********1235"
    assert "certno" not in line


def test_a_traceback_only_at_debug_and_masked(sdk_logger: logging.Logger) -> None:
    """Above DEBUG an exception is its type and masked message; at DEBUG its masked trace."""
    lines = {}
    for level in ("INFO", "DEBUG"):
        buffer = io.StringIO()
        configure_logging(json=True, level=level, stream=buffer)
        try:
            raise ValueError(f"certno {CERTNO} rejected")
        except ValueError:
            logging.getLogger(SDK).exception("failed")
        (lines[level],) = parsed(buffer)
        assert CERTNO not in buffer.getvalue()
    assert lines["INFO"]["exception_type"] == "ValueError"
    assert lines["INFO"]["exception_message"] == "certno 440106********1235 rejected"
    assert "exception_stacktrace" not in lines["INFO"]
    stacktrace = lines["DEBUG"]["exception_stacktrace"]
    assert stacktrace.startswith("Traceback (most recent call last):")
    assert "test_a_traceback_only_at_debug_and_masked" in stacktrace
    assert stacktrace.endswith("ValueError: certno 440106********1235 rejected")


def test_text_is_the_default_and_masked_too(
    sdk_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without json= or MISDK_LOG_FORMAT the lines are text, masked, traceback only at DEBUG."""
    monkeypatch.delenv("MISDK_LOG_FORMAT", raising=False)
    buffer = io.StringIO()
    handler = configure_logging(level="INFO", stream=buffer)
    assert isinstance(handler.formatter, MaskedTextFormatter)
    try:
        raise ValueError(f"phone {PHONE}")
    except ValueError:
        logging.getLogger(f"{SDK}.client").exception("failed for %s", CERTNO)
    text = buffer.getvalue()
    assert text.endswith(
        " ERROR medical_insurance_sdk.client: failed for 440106********1235 "
        "[ValueError: phone 139****5678]\n"
    )
    assert "Traceback" not in text


@pytest.mark.parametrize("fmt", ["json", "text"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=embedded(), level=st.sampled_from([10, 20, 30, 40, 50]))
def test_generated_personal_data_never_shows_at_any_level(
    fmt: str, case: tuple[str, Secret, str], level: int
) -> None:
    """ID numbers, phones, cards, names in message, args, fields, exception: always hidden."""
    text, secret, around = case
    assume(not secret.exposed_in(around))
    formatter = (
        JsonLogFormatter(tracebacks=True) if fmt == "json" else MaskedTextFormatter(tracebacks=True)
    )
    try:
        raise RuntimeError(f"平台返回：{text}")
    except RuntimeError:
        exc_info = sys.exc_info()
    records = [
        logging.LogRecord(SDK, level, __file__, 1, f"失败：{text}", None, None),
        logging.LogRecord(SDK, level, __file__, 1, "失败：%s", (text,), exc_info),
    ]
    records[1].error_code = text
    out = "\n".join(formatter.format(record) for record in records)
    assert not secret.exposed_in(out)
    if fmt == "json":
        assert all(isinstance(json.loads(line), dict) for line in out.splitlines())


def test_environment_chooses_format_and_level(
    sdk_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MISDK_LOG_FORMAT and MISDK_LOG_LEVEL fill the arguments left out; arguments win."""
    monkeypatch.setenv("MISDK_LOG_FORMAT", "JSON")
    monkeypatch.setenv("MISDK_LOG_LEVEL", "warning")
    handler = configure_logging(stream=io.StringIO())
    assert isinstance(handler.formatter, JsonLogFormatter)
    assert handler.level == sdk_logger.level == logging.WARNING
    handler = configure_logging(json=False, level="DEBUG", stream=io.StringIO())
    assert isinstance(handler.formatter, MaskedTextFormatter)
    assert handler.level == sdk_logger.level == logging.DEBUG
    handler = configure_logging(
        stream=io.StringIO(), environ={"MISDK_LOG_FORMAT": "text", "MISDK_LOG_LEVEL": "ERROR"}
    )
    assert isinstance(handler.formatter, MaskedTextFormatter)
    assert handler.level == logging.ERROR
    assert env_log_format({}) is None
    assert env_log_level({"MISDK_LOG_LEVEL": " "}) is None


@pytest.mark.parametrize(
    ("environ", "arguments", "named"),
    [
        ({"MISDK_LOG_FORMAT": "xml"}, {}, "MISDK_LOG_FORMAT"),
        ({"MISDK_LOG_LEVEL": "LOUD"}, {}, "MISDK_LOG_LEVEL"),
        ({"MISDK_LOG_LEVEL": "20"}, {}, "MISDK_LOG_LEVEL"),
        ({}, {"level": "verbose"}, "configure_logging: level"),
        ({}, {"level": -1}, "configure_logging: level"),
        ({}, {"level": True}, "configure_logging: level"),
        ({}, {"json": "yes"}, "configure_logging: json"),
    ],
)
def test_a_bad_value_is_a_value_error_naming_it(
    sdk_logger: logging.Logger, environ: dict[str, str], arguments: dict[str, Any], named: str
) -> None:
    """A bad variable or argument raises ValueError naming it; no handler is added."""
    handlers = list(sdk_logger.handlers)
    with pytest.raises(ValueError, match=named) as raised:
        configure_logging(stream=io.StringIO(), environ=environ, **arguments)
    assert repr(next(iter((environ or arguments).values()))) in str(raised.value)
    assert sdk_logger.handlers == handlers


def test_configure_logging_twice_keeps_one_handler(sdk_logger: logging.Logger) -> None:
    """A second call replaces the first call's handler (new settings), never adds one."""
    before = list(sdk_logger.handlers)
    first_buffer, second_buffer = io.StringIO(), io.StringIO()
    first = configure_logging(json=True, level="INFO", stream=first_buffer)
    second = configure_logging(json=True, level="INFO", stream=second_buffer)
    assert sdk_logger.handlers == [*before, second]
    assert first is not second
    logging.getLogger(SDK).warning("once")
    assert first_buffer.getvalue() == ""
    assert [line["message"] for line in parsed(second_buffer)] == ["once"]


def test_importing_the_package_adds_only_a_null_handler() -> None:
    """A fresh interpreter: the SDK logger has a NullHandler, the root logger nothing."""
    code = (
        "import logging, medical_insurance_sdk\n"
        "sdk = logging.getLogger('medical_insurance_sdk')\n"
        "print([type(h).__name__ for h in sdk.handlers])\n"
        "print(len(logging.getLogger().handlers), sdk.level)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.splitlines() == ["['NullHandler']", "0 0"]


def test_configure_logging_is_exported_from_the_top_level() -> None:
    """``from medical_insurance_sdk import configure_logging`` works and is in __all__."""
    assert "configure_logging" in medical_insurance_sdk.__all__
    assert medical_insurance_sdk.configure_logging is configure_logging


# -- misdk --log-format --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "fmt"),
    [
        (["rules"], "text"),
        (["--log-format", "JSON", "rules"], "json"),
        (["rules", "--log-format", "json"], "json"),
        (["--log-format", "json", "rules", "--log-format", "text"], "text"),
    ],
    ids=["default", "before", "after", "after-wins"],
)
def test_log_format_before_or_after_the_subcommand(
    argv: list[str], fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--log-format is accepted before and after the subcommand, in any case."""
    monkeypatch.delenv("MISDK_LOG_FORMAT", raising=False)
    assert build_parser().parse_args(argv).log_format == fmt


def test_log_format_and_level_default_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the options, MISDK_LOG_FORMAT and MISDK_LOG_LEVEL are the defaults."""
    monkeypatch.setenv("MISDK_LOG_FORMAT", "json")
    monkeypatch.setenv("MISDK_LOG_LEVEL", "debug")
    args = build_parser().parse_args(["rules"])
    assert (args.log_format, args.log_level) == ("json", "DEBUG")


@pytest.mark.parametrize(
    ("argv", "variable", "value", "named"),
    [
        (["--log-format", "xml", "rules"], None, None, "--log-format"),
        (["rules"], "MISDK_LOG_FORMAT", "xml", "MISDK_LOG_FORMAT"),
        (["rules"], "MISDK_LOG_LEVEL", "loud", "MISDK_LOG_LEVEL"),
    ],
)
def test_a_bad_log_format_exits_2_naming_it(
    argv: list[str],
    variable: str | None,
    value: str | None,
    named: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bad --log-format or MISDK_LOG_* value exits 2 naming it; nothing is written."""
    if variable is not None and value is not None:
        monkeypatch.setenv(variable, value)
    assert main([*argv, "--out", str(tmp_path / "rules")]) == 2
    err = capsys.readouterr().err
    assert named in err
    assert "'xml'" in err or "'loud'" in err
    assert not (tmp_path / "rules").exists()


@pytest.mark.slow
def test_misdk_demo_log_format_json_writes_json_lines(tmp_path: Path) -> None:
    """``misdk demo --log-format json``: every log line is JSON; client lines carry ids."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "medical_insurance_sdk",
            "demo",
            "--duration",
            "1",
            "--metrics-port",
            "0",
            "--workers",
            "1",
            "--out",
            str(tmp_path),
            "--log-format",
            "json",
            "--log-level",
            "DEBUG",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    # The demo's own progress lines (the CLI's prints) are not log lines.
    lines = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    text_logs = re.findall(r"^\S+ \S+ (?:DEBUG|INFO|WARNING|ERROR) \S+: ", proc.stderr, re.M)
    assert text_logs == []
    calls = [line for line in lines if line["logger"] == "medical_insurance_sdk.client"]
    assert calls, proc.stderr[-2000:]
    for line in calls:
        assert len(line["trace_id"]) == 32
        assert line["msgid"] in line["message"]
