"""What ``misdk report`` reads (``--source``) and the window it reports on.

Sources (:func:`parse_source`):

* ``history:PATH``: the embedded history file
  (``medical_insurance_sdk.core.history.reader.HistorySource``);
* ``prometheus:URL``: Prometheus or VictoriaMetrics over its HTTP API
  (``medical_insurance_sdk.core.history.prometheus_source.PrometheusSource``), ``URL``
  starting with ``http://`` or ``https://``;
* ``FILE.jsonl`` or ``FILE.csv`` (``file:PATH`` too): a call log, replayed
  (:mod:`medical_insurance_sdk.core.replay`).

The history and Prometheus modules are imported only when such a source is opened.

Window (:func:`report_window`): ``--from``/``--to`` take an ISO 8601 date
(``2026-03-02``: its midnight) or date and time (``2026-03-02T14:00``,
``2026-03-02 14:00:00+08:00``); without an offset the time is **local time** (the
machine's time zone); a plain number is epoch seconds. The report covers ``[from, to]``;
``--hours N`` covers the ``N`` hours ending at ``--to``. Without ``--to`` the window ends
at the end of the data (a log's last call, a source's present); without ``--from`` and
``--hours`` it is 24 hours long. ``--hours`` with ``--from`` is refused (one of them sets
the start), as is a ``--from`` not before ``--to``.

Bad arguments raise :class:`ReportArgumentError` (a ``ValueError``) with the problem in
English (``str``) and Chinese (``.zh``).
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from medical_insurance_sdk.core.collection.rollups import RollupFrame
from medical_insurance_sdk.core.history.source import RollupSource

__all__ = [
    "DEFAULT_HOURS",
    "EndingAt",
    "ReportArgumentError",
    "ReportSource",
    "ReportWindow",
    "open_source",
    "parse_source",
    "parse_time",
    "report_window",
]

#: The report's length when neither ``--from`` nor ``--hours`` is given.
DEFAULT_HOURS = 24.0

SourceKind = Literal["history", "prometheus", "file"]

#: kind -> (module, class) opened lazily.
_OPENERS: dict[str, tuple[str, str]] = {
    "history": ("medical_insurance_sdk.core.history.reader", "HistorySource"),
    "prometheus": ("medical_insurance_sdk.core.history.prometheus_source", "PrometheusSource"),
}
_LOG_SUFFIXES = (".jsonl", ".csv")


class ReportArgumentError(ValueError):
    """A bad ``--source`` or window; ``str`` is English, ``zh`` the Chinese text."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.zh = zh

    def text(self, lang: str) -> str:
        """The message in ``lang`` (``zh`` or ``en``)."""
        return self.zh if lang == "zh" else str(self)


@dataclass(frozen=True)
class ReportSource:
    """A parsed ``--source``: its kind and its path or URL."""

    kind: SourceKind
    target: str


def parse_source(text: str) -> ReportSource:
    """``history:PATH``, ``prometheus:URL``, ``file:PATH`` or a ``.jsonl``/``.csv`` path."""
    value = text.strip()
    scheme, sep, rest = value.partition(":")
    if sep and scheme == "history":
        if not rest:
            raise ReportArgumentError(
                "--source history:PATH needs the history file's path",
                "--source history:PATH 需要历史库文件路径",
            )
        return ReportSource("history", rest)
    if sep and scheme == "prometheus":
        if not rest.startswith(("http://", "https://")):
            raise ReportArgumentError(
                f"--source prometheus:URL needs an http(s) URL (got {rest!r})",
                f"--source prometheus:URL 需要 http(s) 地址（收到 {rest!r}）",
            )
        return ReportSource("prometheus", rest)
    path = rest if sep and scheme == "file" else value
    if path.lower().endswith(_LOG_SUFFIXES):
        return ReportSource("file", path)
    raise ReportArgumentError(
        f"--source must be history:PATH, prometheus:URL or a .jsonl/.csv call log (got {text!r})",
        f"--source 应为 history:路径、prometheus:地址 或 .jsonl/.csv 调用日志（收到 {text!r}）",
    )


def parse_time(text: str, option: str = "--from") -> float:
    """Epoch seconds of an ISO 8601 date or date-time (local time without offset) or epoch."""
    value = text.strip()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if math.isfinite(number):
            return number
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise ReportArgumentError(
            f"{option} must be an ISO 8601 date or time, e.g. 2026-03-02T14:00 (got {text!r})",
            f"{option} 应为 ISO 8601 日期或时间，如 2026-03-02T14:00（收到 {text!r}）",
        ) from None


@dataclass(frozen=True)
class ReportWindow:
    """The report's bounds as given: ``start``/``end`` epoch seconds, ``hours``."""

    start: float | None = None
    end: float | None = None
    hours: float | None = None

    def resolve(self, latest: float) -> tuple[float, float]:
        """``(end, hours)``: the window ends at ``end`` or ``latest`` (the data's end)."""
        end = self.end if self.end is not None else latest
        if self.start is not None:
            hours = (end - self.start) / 3600.0
            if hours <= 0:
                raise ReportArgumentError(
                    "--from is after the end of the data; give --to",
                    "--from 晚于数据的结束时间，请指定 --to",
                )
            return end, hours
        return end, self.hours if self.hours is not None else DEFAULT_HOURS


def report_window(
    start: str | None = None, end: str | None = None, hours: float | None = None
) -> ReportWindow:
    """The window of ``--from``, ``--to`` and ``--hours`` (texts as typed)."""
    if hours is not None and start is not None:
        raise ReportArgumentError(
            "give either --hours or --from, not both",
            "--hours 与 --from 只能指定其一",
        )
    if hours is not None and not (math.isfinite(hours) and hours > 0):
        raise ReportArgumentError("--hours must be > 0", "--hours 必须大于 0")
    a = None if start is None else parse_time(start, "--from")
    b = None if end is None else parse_time(end, "--to")
    if a is not None and b is not None and a >= b:
        raise ReportArgumentError(
            f"--from ({start}) must be before --to ({end})",
            f"--from（{start}）必须早于 --to（{end}）",
        )
    return ReportWindow(a, b, hours)


class EndingAt:
    """``source`` whose present is ``end``: "the last N minutes" end there."""

    def __init__(self, source: RollupSource, end: float) -> None:
        self.source = source
        self.end = float(end)

    @property
    def name(self) -> str:
        return self.source.name

    def now(self) -> float:
        return self.end

    def rollups(
        self, since: float, until: float, *, api_code: str | None = None, fine: bool = False
    ) -> RollupFrame:
        return self.source.rollups(since, until, api_code=api_code, fine=fine)


def open_source(spec: ReportSource) -> RollupSource:
    """The history or Prometheus source of ``spec`` (its module imported now)."""
    if spec.kind not in _OPENERS:
        raise ValueError(f"open_source: {spec.kind!r} is read by replaying it, not opened")
    module_name, class_name = _OPENERS[spec.kind]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ReportArgumentError(
            f"{spec.kind} sources are not available in this installation ({exc})",
            f"此安装不支持 {spec.kind} 数据源（{exc}）",
        ) from exc
    opened: RollupSource = getattr(module, class_name)(spec.target)
    return opened
