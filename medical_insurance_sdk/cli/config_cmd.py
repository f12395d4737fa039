"""``misdk config``: configuration helpers.

``misdk config --example`` prints the commented example configuration that ships with the
package (``medical_insurance_sdk/data/misdk.example.yaml``), so that
``misdk config --example > misdk.yaml`` gives a file to edit without the repository.

Exit codes: 0 printed; 2 nothing asked for.
"""

from __future__ import annotations

import argparse
import sys
from importlib.resources import files
from typing import Any

__all__ = ["EXAMPLE_RESOURCE", "example_config_text", "register", "run"]

#: Where the example configuration lives inside the package.
EXAMPLE_RESOURCE = ("data", "misdk.example.yaml")


def example_config_text() -> str:
    """The packaged example configuration (YAML, with comments)."""
    folder, name = EXAMPLE_RESOURCE
    return files("medical_insurance_sdk").joinpath(folder).joinpath(name).read_text("utf-8")


def register(subparsers: Any) -> None:
    """Add the ``config`` subcommand."""
    parser = subparsers.add_parser(
        "config",
        help="配置文件工具：输出带注释的示例配置 (misdk config --example > misdk.yaml)",
        description="输出随软件包分发的示例监控配置 (MetricConfig，YAML)。",
    )
    parser.add_argument(
        "--example",
        action="store_true",
        help="输出示例配置 (可用 MetricConfig.from_file 或 MISDK_CONFIG 加载)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the example configuration; returns the exit code."""
    if not args.example:
        print("请指定要输出的内容，例如: misdk config --example > misdk.yaml", file=sys.stderr)
        return 2
    sys.stdout.write(example_config_text())
    return 0
