"""``misdk report``: write the JSON, CSV and HTML reports of a call log or a history source.

``misdk report FILE`` (kept) and ``misdk report --source FILE.jsonl|FILE.csv`` replay a
saved call log (:mod:`medical_insurance_sdk.core.replay`); ``--source history:PATH`` and
``--source prometheus:URL`` read the embedded history or Prometheus/VictoriaMetrics.
``--from``/``--to`` (ISO 8601, local time without an offset) or ``--hours N`` set the
window (see :mod:`medical_insurance_sdk.core.report_source`); by default it is the 24
hours ending at the last call (a log) or now (a source).

After the files it prints the capacity plan's sentences (the urgent ones first, at most
:data:`PLAN_LINES`; the reports hold all of them).

Exit codes: 0 written, 2 bad arguments (one line saying which), an unreadable, invalid
or empty log (an invalid row is named by its file and 1-based line number), a source
that cannot answer.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from medical_insurance_sdk.core import PerformanceAnalyzer
from medical_insurance_sdk.core.analysis.reports.formats import REPORT_FORMATS
from medical_insurance_sdk.core.history.source import SourceError
from medical_insurance_sdk.core.replay import CallLogError, read_numbered_call_log, replay
from medical_insurance_sdk.core.report_source import (
    EndingAt,
    ReportArgumentError,
    ReportSource,
    ReportWindow,
    open_source,
    parse_source,
    report_window,
)

__all__ = ["PLAN_LINES", "register"]

#: Capacity-plan sentences printed after the report files.
PLAN_LINES = 12


def register(sub: Any) -> None:
    """Add the ``report`` subcommand."""
    p = sub.add_parser(
        "report", help="由调用日志（CSV/JSONL）、历史库或 Prometheus 生成 JSON/CSV/HTML 性能报告"
    )
    p.add_argument("log", type=Path, nargs="?", help="调用日志文件（.csv 或 .jsonl）")
    p.add_argument(
        "--source",
        default=None,
        help="数据来源：history:路径 | prometheus:地址 | 调用日志.jsonl/.csv",
    )
    p.add_argument("--out", type=Path, default=Path("misdk-report"), help="报告目录")
    p.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=REPORT_FORMATS,
        help="报告格式，可重复 (default: json csv html)",
    )
    p.add_argument("--hours", type=float, default=None, help="统计窗口小时数 (default 24)")
    p.add_argument(
        "--from", dest="start", default=None, help="窗口开始（ISO 8601，无时区即本地时间）"
    )
    p.add_argument("--to", dest="end", default=None, help="窗口结束（ISO 8601，无时区即本地时间）")
    p.add_argument(
        "--now", type=float, default=None, help="窗口结束时间 (epoch 秒，默认最后一次调用)"
    )
    p.add_argument("--language", "--lang", choices=("zh", "en"), default="zh", help="报告语言")
    p.set_defaults(func=_main)


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def _main(args: argparse.Namespace) -> int:
    lang = args.language
    error = "错误：" if lang == "zh" else "error: "
    try:
        source = _source(args)
        end = args.end if args.now is None else str(args.now)
        if args.now is not None and args.end is not None:
            raise ReportArgumentError("give either --now or --to", "--now 与 --to 只能指定其一")
        window = report_window(args.start, end, args.hours)
    except ReportArgumentError as exc:
        return _fail(error + exc.text(lang))
    formats = tuple(args.formats or REPORT_FORMATS)
    if source.kind == "file":
        return _from_log(Path(source.target), window, formats, args.out, lang, error)
    try:
        opened = open_source(source)
        end_at, hours = window.resolve(opened.now())
        # PerformanceAnalyzer reads a RollupSource as it reads a collector
        ending: Any = EndingAt(opened, end_at)
        analyzer = PerformanceAnalyzer(ending, language=lang)
        written = analyzer.write_report(args.out, formats, time_range_hours=hours)
        plan_lines = _plan_lines(analyzer, lang)
    except ReportArgumentError as exc:
        return _fail(error + exc.text(lang))
    except SourceError as exc:
        return _fail(error + str(exc))
    for path in written:
        print(f"已写入 {path}" if lang == "zh" else f"wrote {path}")
    print("\n".join(plan_lines))
    return 0


def _plan_lines(analyzer: PerformanceAnalyzer, lang: str) -> list[str]:
    """The plan's heading and sentences, or one line saying why the source cannot answer."""
    try:
        plan = analyzer.get_capacity_plan()
    except SourceError as exc:
        return [("容量规划不可用：" if lang == "zh" else "capacity plan unavailable: ") + str(exc)]
    days, messages = plan.horizon_days, plan.messages()
    lines = [
        f"容量规划（未来 {days} 天）：" if lang == "zh" else f"Capacity plan (next {days} days):"
    ]
    lines += [f"  - {line}" for line in messages[:PLAN_LINES]]
    if len(messages) > PLAN_LINES:
        more = len(messages) - PLAN_LINES
        lines.append(
            f"  （另有 {more} 条，见报告）" if lang == "zh" else f"  ({more} more in the reports)"
        )
    return lines


def _source(args: argparse.Namespace) -> ReportSource:
    if args.log is not None and args.source is not None:
        raise ReportArgumentError(
            "give the call log either as FILE or as --source, not both",
            "调用日志只能以 FILE 或 --source 之一给出",
        )
    if args.log is not None:
        return ReportSource("file", str(args.log))
    if args.source is None:
        raise ReportArgumentError(
            "give a call log FILE or --source history:PATH | prometheus:URL | FILE",
            "请给出调用日志文件，或 --source history:路径 | prometheus:地址 | 日志文件",
        )
    return parse_source(args.source)


def _from_log(
    log: Path,
    window: ReportWindow,
    formats: tuple[str, ...],
    out: Path,
    lang: str,
    error: str,
) -> int:
    try:
        numbered = read_numbered_call_log(log)
        calls = [call for _, call in numbered]
        stamps = [c["timestamp"] for c in calls if c["timestamp"] is not None]
        # a log without times: its calls are replayed at the window's end (now by default)
        end, hours = window.resolve(max(stamps) if stamps else time.time())
        collector = replay(calls, end, source=log, lines=[line for line, _ in numbered])
    except CallLogError as exc:
        return _fail(f"{error}无法读取调用日志 {exc}" if lang == "zh" else f"{error}{exc}")
    except ReportArgumentError as exc:
        return _fail(error + exc.text(lang))
    with collector:
        analyzer = PerformanceAnalyzer(collector, language=lang)
        written = analyzer.write_report(out, formats, time_range_hours=hours)
        overview = analyzer.overview(hours * 60.0)
        plan_lines = _plan_lines(analyzer, lang)
    if lang == "zh":
        print(f"已回放 {len(calls)} 次调用；综合评分 {overview.overall_score:.1f}")
    else:
        print(f"replayed {len(calls)} calls; overall score {overview.overall_score:.1f}")
    for path in written:
        print(f"已写入 {path}" if lang == "zh" else f"wrote {path}")
    print("\n".join(plan_lines))
    return 0
