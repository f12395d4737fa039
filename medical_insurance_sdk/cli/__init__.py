"""The ``misdk`` command line: a thin dispatcher over one module per subcommand.

Each subcommand module exposes ``register(subparsers)``, which adds its parser and sets
``func`` (taking the parsed namespace, returning an exit code). The CLI is the only place
in the package that prints.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

__all__ = ["main"]

#: Subcommand modules under ``medical_insurance_sdk.cli``, in the order ``--help`` lists them.
_COMMANDS: tuple[str, ...] = ("demo", "simulate", "report", "rules", "docs", "config_cmd")


def build_parser() -> argparse.ArgumentParser:
    """Build the ``misdk`` argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="misdk",
        description="医保 SDK 命令行工具：演示、模拟平台、报告、告警规则 (misdk)",
    )
    parser.add_argument("--log-level", default="WARNING", help="日志级别 (default: WARNING)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``misdk`` console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args))
    except KeyboardInterrupt:
        print("已中断 (interrupted)", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
