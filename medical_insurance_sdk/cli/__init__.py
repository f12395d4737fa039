"""The ``misdk`` command line: a thin dispatcher over one module per subcommand.

Each subcommand module exposes ``register(subparsers)``, which adds its parser and sets
``func`` (taking the parsed namespace, returning an exit code). The CLI is the only place
in the package that prints.

``--log-level`` (DEBUG, INFO, WARNING, ERROR, CRITICAL; any case) and ``--log-format``
(``text``, the default, or ``json``: one masked JSON object per line, see
:mod:`medical_insurance_sdk.logging_setup`) are accepted before or after the subcommand
(``misdk --log-level INFO demo`` or ``misdk demo --log-level INFO``); when not given they
come from ``MISDK_LOG_LEVEL`` and ``MISDK_LOG_FORMAT``, then WARNING and text.
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

from medical_insurance_sdk import logging_setup as _logs
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


def _log_format(value: str) -> str:
    """``text`` or ``json``, any case; argparse reports another value (exit code 2)."""
    name = value.lower()
    if name not in _logs.LOG_FORMATS:
        raise argparse.ArgumentTypeError(
            f"无效的日志格式 {value!r}（可选 {', '.join(_logs.LOG_FORMATS)}）"
        )
    return name


def _env_defaults() -> tuple[str, str]:
    """The defaults of ``--log-level``/``--log-format``: the environment's, else WARNING, text.

    A bad value falls back here; :func:`main` reports it (exit code 2).
    """
    try:
        level = _logs.env_log_level() or "WARNING"
    except ValueError:
        level = "WARNING"
    try:
        log_format = _logs.env_log_format() or "text"
    except ValueError:
        log_format = "text"
    return level, log_format


def _log_options(
    parser: argparse.ArgumentParser, default: Any, format_default: Any = argparse.SUPPRESS
) -> None:
    parser.add_argument(
        "--log-level",
        type=_log_level,
        default=default,
        metavar="{" + ",".join(LOG_LEVELS) + "}",
        help="日志级别 (默认 MISDK_LOG_LEVEL 或 WARNING)",
    )
    parser.add_argument(
        "--log-format",
        type=_log_format,
        default=format_default,
        metavar="{" + ",".join(_logs.LOG_FORMATS) + "}",
        help="日志格式：text 或 json，每行一个脱敏的 JSON 对象 (默认 MISDK_LOG_FORMAT 或 text)",
    )


class _SubParsers:
    """Wraps ``add_subparsers()``: every subcommand also takes ``--log-level``/``--log-format``."""

    def __init__(self, actions: Any) -> None:
        self._actions = actions

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self._actions.add_parser(name, **kwargs)
        # SUPPRESS: the subcommand's option only overrides the top-level one when given
        _log_options(parser, argparse.SUPPRESS)
        return parser


def build_parser() -> argparse.ArgumentParser:
    """Build the ``misdk`` argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="misdk",
        description="医保 SDK 命令行工具：演示、模拟平台、报告、告警规则 (misdk)",
        epilog="链路追踪 (OpenTelemetry/OTLP) 读取的 OTEL_* 环境变量：misdk docs tracing",
    )
    parser.add_argument("--version", action="version", version=f"misdk {__version__}")
    _log_options(parser, *_env_defaults())
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
    try:  # fail closed: a bad MISDK_LOG_LEVEL / MISDK_LOG_FORMAT is an error, not ignored
        _logs.env_log_level()
        _logs.env_log_format()
    except ValueError as exc:
        print(f"misdk: {exc}", file=sys.stderr)
        return 2
    if args.log_format == "json":
        _logs.configure_logging(json=True, level=args.log_level, logger="")  # every library's lines
    else:
        logging.basicConfig(level=getattr(logging, args.log_level), format=_logs.TEXT_FORMAT)
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
