"""A saved call log replayed into a collector, to analyse it after the fact (``misdk report``).

The log is CSV (with a header row) or JSON Lines, one call per row, with the fields of
``MetricsCollector.record_api_call``: ``api_code``, ``org_code``, ``status``
(``success``/``error``), ``duration_ms``, and optionally ``timestamp`` (epoch seconds or
ISO 8601; ``end_time`` is accepted too, so ``APICallMetric.to_dict()`` rows replay as
they are), ``error_code``, ``error_message`` (masked on the way in), ``request_size``,
``response_size``. The collector's manual clock ends at the last call (or ``now``).

An unreadable, invalid or empty log raises :class:`CallLogError`; an invalid row is named
by its file and 1-based line number (the line a CSV record starts on, the line of a JSON
object).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from medical_insurance_sdk.core.metrics_collector import MetricsCollector
from medical_insurance_sdk.core.runtime.clock import ManualClock
from medical_insurance_sdk.core.runtime.config import MetricConfig

__all__ = ["CallLogError", "read_call_log", "read_numbered_call_log", "replay"]


class CallLogError(ValueError):
    """The call log cannot be read; the message names the line."""


def _timestamp(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(text).timestamp()


def _optional_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _row_to_call(row: dict[str, Any]) -> dict[str, Any]:
    missing = [
        k for k in ("api_code", "org_code", "status", "duration_ms") if row.get(k) in (None, "")
    ]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)}")
    when = _timestamp(row.get("timestamp", row.get("end_time")))
    return {
        "api_code": str(row["api_code"]),
        "org_code": str(row["org_code"]),
        "status": str(row["status"]),
        "duration_ms": float(row["duration_ms"]),
        "timestamp": when,
        "error_code": _optional_str(row.get("error_code")),
        "error_message": _optional_str(row.get("error_message")),
        "request_size": int(row.get("request_size") or 0),
        "response_size": int(row.get("response_size") or 0),
    }


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Records of a CSV text with a header, each with the 1-based line it starts on."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    read = 0  # physical lines consumed so far (a quoted field may span several)
    while True:
        start = read + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CallLogError(f"{start}: CSV 格式错误（{exc}）") from exc
        read = reader.line_num
        if not fields:  # a blank line
            continue
        if header is None:
            header = [name.strip() for name in fields]
            continue
        if len(fields) > len(header):
            raise CallLogError(f"{start}: {len(fields)} 个字段，多于表头的 {len(header)} 个")
        yield start, dict(zip(header, fields, strict=False))


def _jsonl_rows(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Objects of a JSON Lines text, each with its 1-based line number."""
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            problem = f"第 {exc.colno} 列：{exc.msg}"
            raise CallLogError(f"{number}: 不是合法的 JSON（{problem}）") from exc
        except (ValueError, RecursionError) as exc:  # e.g. nesting too deep
            raise CallLogError(f"{number}: 不是合法的 JSON（{type(exc).__name__}）") from exc
        if not isinstance(data, dict):
            raise CallLogError(f"{number}: 每行应为一个 JSON 对象")
        yield number, data


def read_numbered_call_log(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Every call of the log with its line number; :class:`CallLogError` names file and line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CallLogError(f"{path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CallLogError(f"{path}:{line}: 不是 UTF-8 文本") from exc
    rows = _csv_rows(text) if path.suffix.lower() == ".csv" else _jsonl_rows(text)
    calls: list[tuple[int, dict[str, Any]]] = []
    line = 0
    try:
        for line, row in rows:
            calls.append((line, _row_to_call(row)))
    except CallLogError as exc:
        raise CallLogError(f"{path}:{exc}") from exc
    except (ValueError, TypeError) as exc:
        raise CallLogError(f"{path}:{line}: {exc}") from exc
    if not calls:
        raise CallLogError(f"{path}: 日志为空，没有任何调用记录")
    return calls


def read_call_log(path: Path) -> list[dict[str, Any]]:
    """Read and validate every call of the log; raise :class:`CallLogError` naming the line."""
    return [call for _, call in read_numbered_call_log(path)]


def replay(
    calls: list[dict[str, Any]],
    now: float | None = None,
    *,
    source: Path | None = None,
    lines: Sequence[int] | None = None,
) -> MetricsCollector:
    """A collector on a manual clock holding ``calls``; the clock ends at ``now``/last call.

    A call the collector refuses raises :class:`CallLogError` naming ``source:line`` when
    the log's ``lines`` are given, else the call's 1-based position.
    """
    stamps = [c["timestamp"] for c in calls if c["timestamp"] is not None]
    end = now if now is not None else (max(stamps) if stamps else 1_700_000_000.0)
    config = MetricConfig(
        prometheus_enabled=False,
        prometheus_port=None,
        background=False,
        system_metrics_enabled=False,
        retention_days=0,
        max_memory_metrics=max(1, len(calls)),
    )
    collector = MetricsCollector(config, clock=ManualClock(end))
    for number, call in enumerate(calls, start=1):
        try:
            collector.record_api_call(**{**call, "timestamp": call["timestamp"] or end})
        except ValueError as exc:
            collector.shutdown()
            where = f"{source}:{lines[number - 1]}" if source and lines else f"call {number}"
            raise CallLogError(f"{where}: {exc}") from exc
    return collector
