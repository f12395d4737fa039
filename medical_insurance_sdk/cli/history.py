"""``misdk history PATH``: what an embedded history file holds, and ``--prune``.

Prints the series (API × org), the span of the minute and hour rollups, the calls, the
file's size and the processes that wrote it (Chinese by default, ``--lang en``).
``--prune`` first deletes rows past retention (``--minute-days``/``--hour-days``, by
default the configuration's ``history_minute_days``/``history_hour_days``, i.e.
``MISDK_HISTORY_*`` or 14/400) and returns the space to the file system.

Exit codes: 0 printed; 2 a missing, unreadable or newer-schema file, or bad arguments.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from datetime import datetime, timezone
from typing import Any

from medical_insurance_sdk.core import HistorySource, MetricConfig
from medical_insurance_sdk.core.history import HistorySummary, HistoryWriter, SourceError

__all__ = ["format_summary", "register", "run"]

_TEXT = {
    "zh": {
        "file": "历史文件",
        "schema": "结构版本",
        "size": "大小",
        "series": "序列 (接口×机构)",
        "apis": "接口",
        "orgs": "机构",
        "minutes": "分钟汇总",
        "hours": "小时汇总",
        "rows": "行",
        "calls": "调用总数",
        "writers": "写入进程",
        "none": "无",
        "pruned": "已清理：分钟汇总 {m} 行，小时汇总 {h} 行（保留 {md:g} 天 / {hd:g} 天）",
        "error": "错误",
        "last": "最近写入",
        "started": "启动",
    },
    "en": {
        "file": "History file",
        "schema": "Schema version",
        "size": "Size",
        "series": "Series (API x org)",
        "apis": "APIs",
        "orgs": "orgs",
        "minutes": "Minute rollups",
        "hours": "Hour rollups",
        "rows": "rows",
        "calls": "Calls",
        "writers": "Writers",
        "none": "none",
        "pruned": "Pruned: {m} minute rows, {h} hour rows (keeping {md:g} / {hd:g} days)",
        "error": "error",
        "last": "last write",
        "started": "started",
    },
}


def register(sub: Any) -> None:
    """Add the ``history`` subcommand."""
    p = sub.add_parser(
        "history",
        help="查看内置历史文件（序列、时间跨度、大小、写入进程），--prune 按保留期清理",
        description="显示 MetricConfig.history_path 历史文件的内容；--prune 立即按保留期清理。",
    )
    p.add_argument("path", help="历史文件路径 (history_path / MISDK_HISTORY_PATH)")
    p.add_argument("--prune", action="store_true", help="按保留期删除过期汇总并回收空间")
    p.add_argument("--minute-days", type=float, default=None, help="分钟汇总保留天数")
    p.add_argument("--hour-days", type=float, default=None, help="小时汇总保留天数")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="输出语言 (默认 zh)")
    p.set_defaults(func=run)


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"


def format_summary(summary: HistorySummary, lang: str = "zh") -> str:
    """The text ``misdk history`` prints for ``summary``."""
    t = _TEXT[lang]

    def span(s: tuple[float, float] | None, rows: int) -> str:
        if s is None:
            return t["none"]
        return f"{_when(s[0])} – {_when(s[1])}  ({rows} {t['rows']})"

    lines = [
        f"{t['file']}: {summary.path}",
        f"{t['schema']}: {summary.schema_version}",
        f"{t['size']}: {_size(summary.size_bytes)}",
        f"{t['series']}: {summary.series}  ({t['apis']} {summary.api_codes}, "
        f"{t['orgs']} {summary.org_codes})",
        f"{t['minutes']}: {span(summary.minute_span, summary.minute_rows)}",
        f"{t['hours']}: {span(summary.hour_span, summary.hour_rows)}",
        f"{t['calls']}: {summary.calls}",
        f"{t['writers']}: {len(summary.writers)}",
    ]
    for w in summary.writers:
        last = _when(w.last_write) if w.last_write is not None else t["none"]
        lines.append(
            f"  #{w.id} pid {w.pid} @ {w.host}  {t['started']} {_when(w.started)}, "
            f"{t['last']} {last}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the summary (after pruning with ``--prune``); returns the exit code."""
    t = _TEXT[args.lang]
    source = HistorySource(args.path)
    try:
        summary = source.describe()  # refuses a missing, foreign or newer file first
        if args.prune:
            config = MetricConfig.from_env()
            minute_days = (
                config.history_minute_days if args.minute_days is None else args.minute_days
            )
            hour_days = config.history_hour_days if args.hour_days is None else args.hour_days
            writer = HistoryWriter(args.path, minute_days=minute_days, hour_days=hour_days)
            try:
                result = writer.prune()
            finally:
                writer.close()
            pruned = t["pruned"].format(
                m=result.minute_rows, h=result.hour_rows, md=minute_days, hd=hour_days
            )
            print(pruned)
            summary = source.describe()
    except (SourceError, ValueError, sqlite3.Error) as exc:
        print(f"{t['error']}: {exc}", file=sys.stderr)
        return 2
    print(format_summary(summary, args.lang))
    return 0
