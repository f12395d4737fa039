"""``misdk demo``: record monitored calls for a while, serve /metrics, then report.

Workers run a HIS-like traffic mix through ``collector.track`` with latencies drawn from
a per-interface lognormal model; /metrics is live on ``--metrics-port`` throughout. At the
end the per-API table is printed and ``report.json`` / ``report.csv`` are written.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from medical_insurance_sdk.core import MetricConfig, MetricsCollector

__all__ = ["register", "run_demo"]

#: api_code -> (weight in the mix, median ms, p99 ms, error rate)
TRAFFIC: dict[str, tuple[float, float, float, float]] = {
    "9001": (0.05, 20, 80, 0.0),
    "1101": (0.25, 60, 400, 0.01),
    "2201": (0.15, 80, 500, 0.01),
    "2203": (0.10, 70, 400, 0.005),
    "2204": (0.15, 120, 900, 0.01),
    "2206": (0.12, 150, 1200, 0.01),
    "2207": (0.15, 200, 1500, 0.02),
    "1301": (0.03, 800, 5000, 0.0),
}
ORGS = ("H43010500001", "H43010500002", "H43010500003")


def register(sub: Any) -> None:
    """Add the ``demo`` subcommand."""
    p = sub.add_parser("demo", help="演示：模拟 HIS 调用并生成性能报告")
    p.add_argument("--duration", type=float, default=20.0, help="运行秒数 (default 20)")
    p.add_argument("--metrics-port", type=int, default=8000, help="/metrics 端口 (0 关闭)")
    p.add_argument("--out", type=Path, default=Path("misdk-report"), help="报告目录")
    p.add_argument("--seed", type=int, default=7, help="随机种子")
    p.add_argument("--workers", type=int, default=4, help="并发工作线程数")
    p.add_argument(
        "--speed", type=float, default=0.05, help="延迟缩放 (0.05 = 20 倍速; 1 = 真实延迟)"
    )
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    if args.duration <= 0:
        print("错误：--duration 必须大于 0", file=sys.stderr)
        return 2
    return run_demo(args.duration, args.metrics_port, args.out, args.seed, args.workers, args.speed)


def run_demo(
    duration: float, metrics_port: int, out: Path, seed: int, workers: int = 4, speed: float = 0.05
) -> int:
    """Run the demo; return the exit code."""
    collector = MetricsCollector(
        MetricConfig(
            prometheus_port=metrics_port or None,
            prometheus_host="127.0.0.1",
            collection_interval=5.0,
            max_memory_metrics=200_000,
        )
    )
    if metrics_port and collector.metrics_port is None:
        print(f"警告：端口 {metrics_port} 被占用，/metrics 未启动，演示继续。", file=sys.stderr)
    elif collector.metrics_port:
        print(f"/metrics: http://127.0.0.1:{collector.metrics_port}/metrics")
    codes = list(TRAFFIC)
    weights = np.array([TRAFFIC[c][0] for c in codes])
    weights /= weights.sum()
    stop = threading.Event()
    deadline = time.monotonic() + duration

    def worker(k: int) -> None:
        rng = np.random.default_rng(seed + k)
        while not stop.is_set() and time.monotonic() < deadline:
            code = codes[int(rng.choice(len(codes), p=weights))]
            _, median, p99, err_rate = TRAFFIC[code]
            sigma = np.log(p99 / median) / 2.326
            latency = float(rng.lognormal(np.log(median), sigma)) / 1000.0
            with collector.track(code, ORGS[int(rng.integers(len(ORGS)))]) as call:
                stop.wait(min(latency * speed, 2.0))
                call.response_size = int(rng.integers(200, 4000))
                if rng.random() < err_rate:
                    call.fail("-1", "模拟业务错误")

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(workers)]
    for t in threads:
        t.start()
    try:
        while time.monotonic() < deadline:
            left = deadline - time.monotonic()
            done = len(collector.store)
            bar = "#" * int(30 * (1 - left / duration))
            print(
                f"\r[{bar:<30}] {duration - left:5.1f}/{duration:.0f}s  调用 {done}",
                end="",
                file=sys.stderr,
                flush=True,
            )
            time.sleep(min(0.5, max(left, 0)))
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=5)
        print(file=sys.stderr)
    stats = collector.get_api_statistics(time_range_minutes=max(duration / 60.0, 1.0))
    print(_table(stats))
    out.mkdir(parents=True, exist_ok=True)
    report = collector.generate_performance_report(time_range_hours=1)
    (out / "report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    (out / "report.csv").write_bytes(_csv(stats).encode("utf-8-sig"))
    print(f"报告已写入 {out / 'report.json'} 和 {out / 'report.csv'}")
    collector.shutdown()
    return 0


def _table(stats: dict[str, Any]) -> str:
    lines = [f"{'接口':<8}{'调用数':>8}{'成功率':>10}{'平均耗时(ms)':>14}"]
    for code, row in stats["api_breakdown"].items():
        lines.append(
            f"{code:<8}{row['count']:>8}{row['success_rate']:>10.2%}{row['avg_time']:>14.1f}"
        )
    lines.append(
        f"{'合计':<8}{stats['total_calls']:>8}{stats['success_rate']:>10.2%}"
        f"{stats['average_response_time']:>14.1f}"
    )
    return "\n".join(lines)


def _csv(stats: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["接口编号", "调用次数", "成功次数", "成功率", "平均响应时间(ms)"])
    for code, row in stats["api_breakdown"].items():
        w.writerow(
            [
                code,
                row["count"],
                row["success"],
                f"{row['success_rate']:.4f}",
                f"{row['avg_time']:.1f}",
            ]
        )
    return buf.getvalue()
