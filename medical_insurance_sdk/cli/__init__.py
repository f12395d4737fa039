"""The ``misdk`` command line: a thin dispatcher over one module per subcommand.

Each subcommand module exposes ``register(subparsers)``, which adds its parser and sets
``func`` (taking the parsed namespace, returning an exit code). The CLI is the only place
in the package that prints.

``--log-level`` (DEBUG, INFO, WARNING, ERROR, CRITICAL; any case) is accepted before or
after the subcommand (``misdk --log-level INFO demo`` or ``misdk demo --log-level INFO``);
``--version`` prints the version. ``python -m medical_insurance_sdk`` is ``misdk``.
Exit codes: 0 success, 1 a runtime failure, 2 bad arguments or input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import Any

from medical_insurance_sdk._version import __version__

__all__ = ["LOG_LEVELS", "build_parser", "main"]

#: Subcommand modules under ``medical_insurance_sdk.cli``, in the order ``--help`` lists them.
_COMMANDS: tuple[str, ...] = (
    "demo",
    "simulate",
    "report",
    "history",
    "rules",
    "docs",
    "config_cmd",
)
LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(value: str) -> str:
    """A logging level name, any case; argparse reports a bad one (exit code 2) as typed."""
    level = value.upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(
            f"无效的日志级别 {value!r}（可选 {', '.join(LOG_LEVELS)}）"
        )
    return level


def _log_level_option(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--log-level",
        type=_log_level,
        default=default,
        metavar="{" + ",".join(LOG_LEVELS) + "}",
        help="日志级别 (默认 WARNING)",
    )


class _SubParsers:
    """Wraps ``add_subparsers()`` so that every subcommand also takes ``--log-level``."""

    def __init__(self, actions: Any) -> None:
        self._actions = actions

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self._actions.add_parser(name, **kwargs)
        # SUPPRESS: the subcommand's option only overrides the top-level one when given
        _log_level_option(parser, argparse.SUPPRESS)
        return parser


def build_parser() -> argparse.ArgumentParser:
    """Build the ``misdk`` argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="misdk",
        description="医保 SDK 命令行工具：演示、模拟平台、报告、告警规则 (misdk)",
    )
    parser.add_argument("--version", action="version", version=f"misdk {__version__}")
    _log_level_option(parser, "WARNING")
    sub = _SubParsers(parser.add_subparsers(dest="command", metavar="COMMAND"))
    for name in _COMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``misdk`` console script; returns the process exit code.

    It never raises ``SystemExit``: argparse's exits (``--help``, ``--version``, a usage
    error) become the returned code, so in-process callers get the code as well.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a usage error (2, printed)
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(
        level=getattr(logging, args.log_level),
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
