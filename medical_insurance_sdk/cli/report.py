"""``misdk report``: replay a saved call log and write the JSON, CSV and HTML reports.

The log's format is :mod:`medical_insurance_sdk.core.replay`'s. The report window ends
at the last call (or ``--now``).

Exit codes: 0 written, 2 bad arguments, an unreadable, invalid or empty log (an invalid
row is named by its file and 1-based line number).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from medical_insurance_sdk.core import PerformanceAnalyzer
from medical_insurance_sdk.core.analysis.reports.formats import REPORT_FORMATS
from medical_insurance_sdk.core.replay import CallLogError, read_numbered_call_log, replay

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the ``report`` subcommand."""
    p = sub.add_parser("report", help="由调用日志（CSV/JSONL）生成 JSON/CSV/HTML 性能报告")
    p.add_argument("log", type=Path, help="调用日志文件（.csv 或 .jsonl）")
    p.add_argument("--out", type=Path, default=Path("misdk-report"), help="报告目录")
    p.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=REPORT_FORMATS,
        help="报告格式，可重复 (default: json csv html)",
    )
    p.add_argument("--hours", type=float, default=24.0, help="统计窗口小时数 (default 24)")
    p.add_argument(
        "--now", type=float, default=None, help="窗口结束时间 (epoch 秒，默认最后一次调用)"
    )
    p.add_argument("--language", choices=("zh", "en"), default="zh", help="报告语言")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    if args.hours <= 0:
        print("错误：--hours 必须大于 0", file=sys.stderr)
        return 2
    try:
        numbered = read_numbered_call_log(args.log)
        calls = [call for _, call in numbered]
        collector = replay(calls, args.now, source=args.log, lines=[line for line, _ in numbered])
    except CallLogError as exc:
        print(f"错误：无法读取调用日志 {exc}", file=sys.stderr)
        return 2
    with collector:
        analyzer = PerformanceAnalyzer(collector, language=args.language)
        formats = tuple(args.formats or REPORT_FORMATS)
        written = analyzer.write_report(args.out, formats, time_range_hours=args.hours)
        overview = analyzer.overview(args.hours * 60.0)
    print(f"已回放 {len(calls)} 次调用；综合评分 {overview.overall_score:.1f}")
    for path in written:
        print(f"已写入 {path}")
    return 0
