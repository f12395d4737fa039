"""``misdk docs``: generate the reference documents that come from the code.

``misdk docs interfaces`` writes ``docs/interfaces.md`` (the per-interface input reference
built from the catalog and the validation rules), or prints it with ``--out -``.
``misdk docs tracing`` prints the standard ``OTEL_*`` variables that
:func:`~medical_insurance_sdk.configure_tracing` honours (``--lang en`` in English).

Exit codes: 0 written, printed or (with ``--check``) in sync; 1 ``--check`` found the file
out of date; 2 the file cannot be written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "run_interfaces", "run_tracing"]


def register(subparsers: Any) -> None:
    """Add the ``docs`` subcommand and its ``interfaces`` document."""
    parser = subparsers.add_parser(
        "docs",
        help="生成参考文档 (docs/interfaces.md 接口入参说明)",
        description="由接口目录与入参校验规则生成参考文档，保证文档与代码一致。",
    )
    documents = parser.add_subparsers(dest="document", metavar="DOCUMENT", required=True)
    interfaces = documents.add_parser(
        "interfaces",
        help="每个接口的入参说明：节点、字段、中文名、类型、长度、必填、代码值、示例",
    )
    interfaces.add_argument(
        "--out",
        default="docs/interfaces.md",
        help="输出文件 (默认 docs/interfaces.md；- 表示输出到标准输出)",
    )
    interfaces.add_argument(
        "--check",
        action="store_true",
        help="只检查文件是否与生成结果一致，不写入 (不一致时退出码为 1)",
    )
    interfaces.set_defaults(func=run_interfaces)
    tracing = documents.add_parser(
        "tracing",
        help="链路追踪导出 (OTLP) 使用的 OTEL_* 环境变量",
        description="configure_tracing() 与 OpenTelemetry SDK 读取的标准 OTEL_* 环境变量。",
    )
    tracing.add_argument("--lang", choices=("zh", "en"), default="zh", help="输出语言 (默认 zh)")
    tracing.set_defaults(func=run_tracing)


def run_tracing(args: argparse.Namespace) -> int:
    """Print the OTEL_* variables of trace export, one per line; returns 0."""
    from medical_insurance_sdk.tracing_setup import OTEL_ENV_VARIABLES

    english = args.lang == "en"
    if english:
        print("configure_tracing() (the [otel] extra) reads these; an explicit argument wins:")
    else:
        print("configure_tracing()（[otel] 扩展）读取以下变量；代码中显式传入的参数优先：")
    width = max(len(name) for name, _, _ in OTEL_ENV_VARIABLES)
    for name, zh, en in OTEL_ENV_VARIABLES:
        print(f"  {name:<{width}}  {en if english else zh}")
    return 0


def run_interfaces(args: argparse.Namespace) -> int:
    """Write, print or check the interface input reference; returns the exit code."""
    from medical_insurance_sdk.protocol.catalog_docs import (
        render_input_reference,
        write_input_reference,
    )

    if args.out == "-":
        sys.stdout.write(render_input_reference())
        return 0
    out = Path(args.out)
    if args.check:
        current = out.read_text(encoding="utf-8") if out.is_file() else None
        if current != render_input_reference():
            hint = "请运行 misdk docs interfaces 重新生成"
            print(f"与生成结果不一致: {out}（{hint}）", file=sys.stderr)
            return 1
        print(f"接口入参说明与生成结果一致: {out}")
        return 0
    try:
        changed = write_input_reference(out)
    except OSError as exc:
        print(f"无法写入: {exc}", file=sys.stderr)
        return 2
    print(f"已生成 {out}" if changed else f"无变化 {out}")
    return 0
