"""``misdk simulate``: run the platform simulator until Ctrl-C.

At startup it prints the service URL, the admin URL and the admin token (admin writes
send it as ``Authorization: Bearer <token>``). Exit codes: 0 stopped by Ctrl-C, 1 the
port could not be bound, 2 bad arguments or an unusable config file (one line naming the
file and the problem, never a traceback). ``--trace`` exports the platform's SERVER spans,
children of the calling client's spans, over OTLP (:func:`configure_tracing`, configured by
the ``OTEL_*`` variables, ``service.name`` ``misdk-simulator`` unless ``OTEL_SERVICE_NAME``
says otherwise; the ``[otel]`` extra).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
from typing import Any

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``simulate`` subcommand."""
    parser = subparsers.add_parser(
        "simulate",
        help="运行本地医保平台模拟器 (platform simulator)",
        description="运行本地医保平台模拟器：两定接口、网关签名、延迟模型与故障注入。",
    )
    parser.add_argument("--host", default="127.0.0.1", help="监听地址 (默认 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="监听端口 (默认 8080)")
    parser.add_argument(
        "--admin-port",
        type=int,
        default=None,
        help="管理端口，只绑定 127.0.0.1 (默认 端口+1；端口为 0 时随机)",
    )
    parser.add_argument("--seed", type=int, default=None, help="随机种子，结果可复现")
    parser.add_argument("--config", default=None, help="配置文件 (YAML 或 JSON)")
    parser.add_argument(
        "--latency-scale", type=float, default=None, help="延迟缩放系数 (0 表示无延迟)"
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="导出平台端 span (OTLP；由 OTEL_* 环境变量配置，见 misdk docs tracing；需 [otel])",
    )
    parser.set_defaults(func=run)


def _tracing() -> Any:
    """``--trace``: the OTLP setup of the platform's spans (``ValueError`` when unusable)."""
    from medical_insurance_sdk.tracing_setup import configure_tracing

    return configure_tracing(os.environ.get("OTEL_SERVICE_NAME") or "misdk-simulator")


def run(args: argparse.Namespace) -> int:
    """Start the simulator and serve until interrupted; returns the exit code."""
    try:
        from medical_insurance_sdk.simulator import (
            Simulator,
            SimulatorConfig,
            SimulatorServer,
            load_config,
        )
        from medical_insurance_sdk.simulator.config import ConfigFileError
    except ImportError as exc:  # aiohttp missing
        print(
            f"模拟器需要 aiohttp：pip install 'medical-insurance-sdk[simulator]' ({exc})",
            file=sys.stderr,
        )
        return 2
    try:
        config = load_config(args.config) if args.config else SimulatorConfig()
    except ConfigFileError as exc:
        print(f"配置文件无效：{exc}", file=sys.stderr)
        return 2
    overrides: dict[str, Any] = {}
    if args.seed is not None:
        overrides["seed"] = args.seed
    if args.latency_scale is not None:
        overrides["latency_scale"] = args.latency_scale
    try:
        config = dataclasses.replace(config, **overrides)
    except ValueError as exc:
        print(f"参数无效：{exc}", file=sys.stderr)
        return 2
    admin_port = args.admin_port
    if admin_port is None:
        admin_port = args.port + 1 if args.port else 0
    try:
        tracing = _tracing() if args.trace else None
    except ValueError as exc:
        print(f"链路追踪配置无效：{exc}", file=sys.stderr)
        return 2
    simulator = Simulator(config, tracer_provider=tracing.provider if tracing else None)
    server = SimulatorServer(simulator, host=args.host, port=args.port, admin_port=admin_port)

    async def serve() -> None:
        await server.start()
        print(f"医保平台模拟器已启动: {server.url}", flush=True)
        print(f"管理接口 (仅本机): {server.admin_url}/admin/stats", flush=True)
        print(
            f"管理令牌 (修改故障等写操作需 Authorization: Bearer): {server.admin_token}",
            flush=True,
        )
        print(f"网关认证: {config.auth.scheme}  种子: {config.seed}  按 Ctrl-C 退出", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    try:
        asyncio.run(serve())
    except OSError as exc:
        print(f"无法启动模拟器: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("模拟器已停止", flush=True)
        return 0
    finally:
        if tracing is not None:
            tracing.shutdown()  # the spans still waiting, bounded by the export timeout
    return 0
