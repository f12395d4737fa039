"""Opt-in log output: plain text or one JSON object per line, masked like every output.

The library itself only adds a ``NullHandler`` to the ``medical_insurance_sdk`` logger; an
application that has no logging of its own (or wants the SDK's lines as JSON for a log
shipper) calls :func:`configure_logging`::

    configure_logging(json=True, level="INFO")

A JSON line holds ``timestamp`` (ISO 8601, UTC, with its zone), ``level``, ``logger``,
``message`` and, when the record knows them, ``trace_id``, ``span_id``, ``trace_flags``
(lowercase hex, OpenTelemetry's log data model names), ``msgid``, ``api_code``,
``org_code``, ``error_code``, ``duration_ms`` and ``attempt`` (the client passes them in
``extra=``). A record without a trace id logged inside an active OpenTelemetry span gets
the span's ids. An exception adds ``exception_type`` and ``exception_message``; its
traceback (``exception_stacktrace``) only when the handler is at DEBUG. The message,
every string field and the traceback go through
:func:`~medical_insurance_sdk.redaction.mask_text`; no other ``extra`` reaches the line.

Unset arguments come from the environment: ``MISDK_LOG_FORMAT`` (``json`` or ``text``,
default ``text``) and ``MISDK_LOG_LEVEL`` (a level name, default ``INFO``); an explicit
argument wins. A bad value raises ``ValueError`` naming the variable or argument.
"""

from __future__ import annotations

import datetime
import json as _json
import logging
import os
import sys
import traceback
from collections.abc import Mapping
from typing import IO, Any

from medical_insurance_sdk.redaction import mask_text

__all__ = [
    "JSON_FIELDS",
    "LOG_FORMATS",
    "LOG_LEVELS",
    "TEXT_FORMAT",
    "JsonLogFormatter",
    "MaskedTextFormatter",
    "configure_logging",
    "env_log_format",
    "env_log_level",
]

#: Values of ``MISDK_LOG_FORMAT`` (and ``misdk --log-format``).
LOG_FORMATS: tuple[str, ...] = ("json", "text")
#: Level names :func:`configure_logging` and ``MISDK_LOG_LEVEL`` take (any case).
LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: The record attributes a JSON line carries when set, in the order they are written.
JSON_FIELDS: tuple[str, ...] = (
    "trace_id",
    "span_id",
    "trace_flags",
    "msgid",
    "api_code",
    "org_code",
    "error_code",
    "duration_ms",
    "attempt",
)
_NUMBERS = frozenset({"duration_ms", "attempt"})
#: The text format (the ``misdk`` CLI's since its first version).
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Longest traceback written (masked, then cut with the truncation marker).
_TRACEBACK_CHARS = 8192
_ROOT = "medical_insurance_sdk"


def _active_span_ids() -> tuple[str, str, str] | None:
    """The active OpenTelemetry span's ids, when OpenTelemetry is already imported."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:  # never import it here: logging must stay cheap and light
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return (
        f"{context.trace_id:032x}",
        f"{context.span_id:016x}",
        f"{int(context.trace_flags):02x}",
    )


def _traceback_text(record: logging.LogRecord) -> str:
    info = record.exc_info
    if info and info[0] is not None:
        return "".join(traceback.format_exception(info[0], info[1], info[2])).rstrip()
    return ""


class JsonLogFormatter(logging.Formatter):
    """One JSON object per record, on one line, masked; see the module docstring.

    ``tracebacks`` writes ``exception_stacktrace`` (masked); :func:`configure_logging`
    turns it on at DEBUG only.
    """

    def __init__(self, *, tracebacks: bool = False) -> None:
        super().__init__()
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON (no newline inside: JSON escapes them)."""
        stamp = datetime.datetime.fromtimestamp(record.created, tz=datetime.timezone.utc)
        line: dict[str, Any] = {
            "timestamp": stamp.isoformat(timespec="microseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_text(record.getMessage()),
        }
        attributes = record.__dict__
        for name in JSON_FIELDS:
            value = attributes.get(name)
            if value is None:
                continue
            if name in _NUMBERS and isinstance(value, (int, float)) and not isinstance(value, bool):
                line[name] = round(value, 3) if name == "duration_ms" else value
            else:
                line[name] = mask_text(str(value))
        if "trace_id" not in line:
            ids = _active_span_ids()
            if ids is not None:
                line["trace_id"], line["span_id"], line["trace_flags"] = ids
        info = record.exc_info
        if info and info[0] is not None:
            line["exception_type"] = info[0].__name__
            line["exception_message"] = mask_text(str(info[1]))
            if self.tracebacks:
                line["exception_stacktrace"] = mask_text(_traceback_text(record), _TRACEBACK_CHARS)
        if record.stack_info and self.tracebacks:
            line["stack_info"] = mask_text(record.stack_info, _TRACEBACK_CHARS)
        return _json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str)


class MaskedTextFormatter(logging.Formatter):
    """``time LEVEL logger: message``, the message masked; the traceback only if asked."""

    def __init__(self, *, tracebacks: bool = False) -> None:
        super().__init__(TEXT_FORMAT)
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        """The record as text, masked; an exception shown as its type and masked message."""
        record.message = mask_text(record.getMessage())
        record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        info = record.exc_info
        if info and info[0] is not None:
            if self.tracebacks:
                text += "\n" + mask_text(_traceback_text(record), _TRACEBACK_CHARS)
            else:
                text += f" [{info[0].__name__}: {mask_text(str(info[1]))}]"
        if record.stack_info and self.tracebacks:
            text += "\n" + mask_text(record.stack_info, _TRACEBACK_CHARS)
        return text


class _SdkHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler :func:`configure_logging` installs (found again by its class)."""


def _level_number(value: int | str, where: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{where} must be a level name or number (got {value!r})")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{where} must be >= 0 (got {value!r})")
        return value
    if isinstance(value, str) and value.strip().upper() in LOG_LEVELS:
        number: int = getattr(logging, value.strip().upper())
        return number
    raise ValueError(f"{where} must be one of {', '.join(LOG_LEVELS)} (got {value!r})")


def env_log_format(environ: Mapping[str, str] | None = None) -> str | None:
    """``MISDK_LOG_FORMAT`` (``json`` or ``text``, any case), or None when unset or empty."""
    raw = (os.environ if environ is None else environ).get("MISDK_LOG_FORMAT")
    if raw is None or not raw.strip():
        return None
    value = raw.strip().lower()
    if value not in LOG_FORMATS:
        raise ValueError(f"MISDK_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)} (got {raw!r})")
    return value


def env_log_level(environ: Mapping[str, str] | None = None) -> str | None:
    """``MISDK_LOG_LEVEL`` as an upper-case level name, or None when unset or empty."""
    raw = (os.environ if environ is None else environ).get("MISDK_LOG_LEVEL")
    if raw is None or not raw.strip():
        return None
    value = raw.strip().upper()
    if value not in LOG_LEVELS:
        raise ValueError(f"MISDK_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)} (got {raw!r})")
    return value


def configure_logging(
    json: bool | None = None,
    level: int | str | None = None,
    stream: IO[str] | None = None,
    *,
    logger: str = _ROOT,
    environ: Mapping[str, str] | None = None,
) -> logging.Handler:
    """Send ``logger``'s records (the SDK's by default) to ``stream`` as JSON or text.

    ``json`` and ``level`` left ``None`` come from ``MISDK_LOG_FORMAT`` (default text) and
    ``MISDK_LOG_LEVEL`` (default INFO). ``stream`` defaults to ``sys.stderr``; ``logger``
    ``""`` configures the root logger (every library's records; configure one of the two,
    as the SDK's records also propagate to the root). Idempotent: a second call on the
    same logger replaces the handler of the first, never adds one. Returns the handler.
    """
    if json is None:
        as_json = env_log_format(environ) == "json"
    elif isinstance(json, bool):
        as_json = json
    else:
        raise ValueError(f"configure_logging: json must be a bool or None (got {json!r})")
    if level is None:
        number = _level_number(env_log_level(environ) or "INFO", "MISDK_LOG_LEVEL")
    else:
        number = _level_number(level, "configure_logging: level")
    if not isinstance(logger, str):
        raise ValueError(f"configure_logging: logger must be a logger name (got {logger!r})")
    tracebacks = number <= logging.DEBUG
    formatter: logging.Formatter = (
        JsonLogFormatter(tracebacks=tracebacks)
        if as_json
        else MaskedTextFormatter(tracebacks=tracebacks)
    )
    handler = _SdkHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(formatter)
    handler.setLevel(number)
    target = logging.getLogger(logger)
    for old in [h for h in target.handlers if isinstance(h, _SdkHandler)]:
        target.removeHandler(old)
        old.close()
    target.addHandler(handler)
    target.setLevel(number)
    return handler
