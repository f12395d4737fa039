"""``misdk demo``: real SDK clients against the in-process simulator, with a staged incident.

The platform simulator starts in this process (loopback, free port). Several HIS workers,
each a cashier terminal with its own client and 9001 sign-in, send a realistic traffic mix
(outpatient visits 1101 → 2201 → 2203 → 2204 → 2206 → 2207, lookups, catalog downloads)
for three hospitals. Every call is monitored by the SDK itself; /metrics is live on
``--metrics-port`` throughout. For the middle third of the run 2207 门诊结算 gets five times
slower and its errors rise (some settlements even hang, which the workers recover with
2601 冲正), so alerts fire and then resolve. At the end the per-API table (code and name,
calls, success rate, p50/p95/p99, top errors, score, alerts) is printed and the reports are
written into ``--out``. It ends by itself; Ctrl-C ends it cleanly (exit code 130). The progress bar
(on stderr) is drawn only on a terminal (stdout and stderr both TTYs), so a redirected or
piped run gets no carriage-return noise.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import random
import sys
import threading
import time
import unicodedata
from pathlib import Path
from typing import Any

from medical_insurance_sdk.client import MedicalInsuranceClient, Timeouts, display_name
from medical_insurance_sdk.core import MetricConfig, MetricsCollector, PerformanceAnalyzer
from medical_insurance_sdk.core.analysis.alerts import PerformanceAlert
from medical_insurance_sdk.core.analysis.conditions import AlertPolicy
from medical_insurance_sdk.core.analysis.reports.csv_report import csv_safe_row
from medical_insurance_sdk.protocol.catalog import Category
from medical_insurance_sdk.simulator import SimulatorConfig
from medical_insurance_sdk.simulator.his import HisStats, HisWorker
from medical_insurance_sdk.simulator.testing import RunningSimulator, running_simulator

__all__ = ["HISTORY_FILE", "print_alert", "register", "run_demo", "stats_csv"]

#: The demo's history file, inside ``--out``.
HISTORY_FILE = "history.sqlite"
ORGS = ("H43010500001", "H43010500002", "H43010500003")
#: Background noise of a healthy platform.
BASELINE_FAULTS: dict[str, dict[str, Any]] = {
    "*": {"business_error_rate": 0.002},
    "1101": {"business_error_rate": 0.003, "http_5xx_rate": 0.005},
}
#: The incident, in two steps: 2207 slows down 5x, then its errors rise further.
INCIDENT_STEPS: tuple[dict[str, Any], ...] = (
    {"slowdown": 5.0, "business_error_rate": 0.08, "hang_rate": 0.02, "hang_seconds": 4.0},
    {"slowdown": 5.0, "business_error_rate": 0.2, "hang_rate": 0.03, "hang_seconds": 4.0},
)


def register(sub: Any) -> None:
    """Add the ``demo`` subcommand."""
    p = sub.add_parser("demo", help="演示：真实 SDK 客户端调用内置模拟平台，含故障演练与性能报告")
    p.add_argument("--duration", type=float, default=20.0, help="运行秒数 (default 20)")
    p.add_argument("--metrics-port", type=int, default=8000, help="/metrics 端口 (0 关闭)")
    p.add_argument("--out", type=Path, default=Path("misdk-report"), help="报告目录")
    p.add_argument("--seed", type=int, default=7, help="随机种子")
    p.add_argument("--workers", type=int, default=6, help="并发收费终端数 (default 6)")
    p.add_argument(
        "--speed", type=float, default=0.5, help="平台延迟缩放 (1 = 真实延迟; 0.5 = 2 倍速)"
    )
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    if args.duration <= 0:
        print("错误：--duration 必须大于 0", file=sys.stderr)
        return 2
    if args.workers < 1 or args.speed < 0:
        print("错误：--workers 必须至少为 1，--speed 不能为负", file=sys.stderr)
        return 2
    return run_demo(args.duration, args.metrics_port, args.out, args.seed, args.workers, args.speed)


def run_demo(
    duration: float, metrics_port: int, out: Path, seed: int, workers: int = 6, speed: float = 0.5
) -> int:
    """Run the demo; return the exit code (0, or 130 after Ctrl-C).

    The demo keeps its history (minute and hour rollups) in ``out/history.sqlite``:
    ``misdk history out/history.sqlite`` shows it afterwards.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"错误：无法创建报告目录 {out}: {exc}", file=sys.stderr)
        return 1
    collector = MetricsCollector(
        MetricConfig(
            prometheus_port=metrics_port or None,
            prometheus_host="127.0.0.1",
            collection_interval=5.0,
            max_memory_metrics=200_000,
            history_path=str(out / HISTORY_FILE),
        )
    )
    if metrics_port and collector.metrics_port is None:
        print(f"警告：端口 {metrics_port} 被占用，/metrics 未启动，演示继续。", file=sys.stderr)
    elif collector.metrics_port:
        print(f"/metrics: http://127.0.0.1:{collector.metrics_port}/metrics")
    window_minutes = max(duration / 5.0, 4.0) / 60.0
    analyzer = PerformanceAnalyzer(
        collector, alert_policy=AlertPolicy(min_calls=10), alert_window_minutes=window_minutes
    )
    config = SimulatorConfig(seed=seed, latency_scale=speed, faults=BASELINE_FAULTS)
    interrupted = False
    stats = HisStats()
    # the workers' expected failures would scribble over the progress line: unless the
    # user asked for verbose logs, the summary and the reports tell about them instead
    client_logger = logging.getLogger("medical_insurance_sdk.client")
    quiet = logging.getLogger().getEffectiveLevel() > logging.INFO
    saved_level = client_logger.level
    if quiet:
        client_logger.setLevel(logging.CRITICAL)
    with running_simulator(config) as sim:
        print(f"模拟平台: {sim.base_url}  (管理接口 {sim.admin_url}，仅本机)")
        try:
            _drive(sim, collector, analyzer, stats, duration, seed, workers)
        except KeyboardInterrupt:
            interrupted = True
            print("\n已中断，正在停止…", file=sys.stderr)
        received = sim.stats()["total"]
    client_logger.setLevel(saved_level)
    analyzer.evaluate_alerts()
    minutes = max(duration / 60.0 * 1.5, 1.0)
    overview = analyzer.overview(minutes)
    print(_table(overview, analyzer))
    print(
        f"平台共收到 {received} 个请求；结算 {stats.settled} 笔，结果未知 "
        f"{stats.outcome_unknown} 笔（已冲正 {stats.reversed} 笔，无需冲正 "
        f"{stats.nothing_to_reverse} 笔，待对账 {stats.unreversed} 笔）。"
        f"综合评分 {overview.overall_score}"
    )
    try:
        written = _write_reports(out, collector, analyzer, minutes)
    except OSError as exc:
        print(f"错误：无法写入报告目录 {out}: {exc}", file=sys.stderr)
        collector.shutdown()
        return 1
    print("报告已写入 " + "、".join(str(path) for path in written))
    collector.shutdown()
    return 130 if interrupted else 0


def _drive(
    sim: RunningSimulator,
    collector: MetricsCollector,
    analyzer: PerformanceAnalyzer,
    stats: HisStats,
    duration: float,
    seed: int,
    workers: int,
) -> None:
    """Run the workers for ``duration`` seconds, staging the incident; show progress."""
    stop = threading.Event()
    timeouts = Timeouts(per_category={**Timeouts().per_category, Category.OUTPATIENT: 2.0})
    clients = [
        MedicalInsuranceClient.for_simulator(
            sim.base_url,
            ORGS[k % len(ORGS)],
            org_name=f"演示医院{k % len(ORGS) + 1}",
            operator=f"SF{k:04d}",
            operator_name=f"收费员{k + 1}",
            collector=collector,
            timeout=timeouts,
            auto_sign_in=True,
        )
        for k in range(workers)
    ]
    threads = [
        threading.Thread(
            target=HisWorker(
                client, random.Random(seed * 1000 + k), stats, serial_base=k * 10**6
            ).run,
            args=(stop,),
            name=f"his-worker-{k}",
            daemon=True,
        )
        for k, client in enumerate(clients)
    ]
    alerts: list[PerformanceAlert] = []
    analyzer.on_alert(alerts.append)
    show_progress = _interactive()
    started = time.monotonic()
    deadline = started + duration
    phase = -1
    for thread in threads:
        thread.start()
    try:
        last_eval = 0.0
        while (now := time.monotonic()) < deadline:
            elapsed = now - started
            step = _incident_step(elapsed, duration)
            if step != phase:
                phase = step
                _apply(sim, step)
            if now - last_eval >= 1.0:
                analyzer.evaluate_alerts()
                last_eval = now
                while alerts:
                    print_alert(alerts.pop(0))
            if show_progress:
                _progress(elapsed, duration, collector, phase)
            time.sleep(min(0.25, max(deadline - time.monotonic(), 0)))
    finally:
        stop.set()
        sim.set_faults({})
        for thread in threads:
            thread.join(timeout=10)
        for client in clients:
            client.close()
        if show_progress:
            print(file=sys.stderr)  # end the progress line
    analyzer.evaluate_alerts()
    for alert in alerts:
        print_alert(alert)


def _interactive() -> bool:
    """True when the user watches a terminal: stdout and stderr (the bar's stream) are TTYs."""
    return sys.stdout.isatty() and sys.stderr.isatty()


def _incident_step(elapsed: float, duration: float) -> int:
    """-1 before and after the incident (middle third), else the step index."""
    third = duration / 3.0
    if elapsed < third or elapsed >= 2 * third:
        return -1
    return 0 if elapsed < 1.5 * third else 1


def _apply(sim: RunningSimulator, step: int) -> None:
    faults = dict(BASELINE_FAULTS)
    if step >= 0:
        faults["2207"] = INCIDENT_STEPS[step]
        label = "延迟×5，错误率上升" if step == 0 else "错误率继续上升"
        print(f"\n>>> 故障演练：2207 门诊结算 {label}", file=sys.stderr)
    else:
        print("\n>>> 2207 门诊结算恢复正常", file=sys.stderr)
    sim.set_faults(faults)


def print_alert(alert: PerformanceAlert) -> None:
    """Print the demo's line for an alert event to stderr (a resolve reads as a resolve)."""
    if alert.state == "resolved":  # the message says so: 已恢复：接口 2207 … （目标 99.5%）
        print(f"\n=== {alert.message}", file=sys.stderr)
        return
    print(f"\n!!! 告警[{alert.severity}] {alert.message}", file=sys.stderr)


def _progress(elapsed: float, duration: float, collector: MetricsCollector, phase: int) -> None:
    stats = collector.get_api_statistics(time_range_minutes=max(duration / 60.0 * 1.5, 1.0))
    bar = "#" * int(30 * min(elapsed / duration, 1.0))
    state = "故障中(2207 延迟×5)" if phase >= 0 else "正常"
    print(
        f"\r[{bar:<30}] {elapsed:5.1f}/{duration:.0f}s  调用 {stats['total_calls']:>6}  "
        f"成功率 {stats['success_rate']:6.1%}  平台{state}   ",
        end="",
        file=sys.stderr,
        flush=True,
    )


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(width - _width(text), 0)
    return fill + text if right else text + fill


_COLUMNS = (
    ("接口", 28, False),
    ("调用数", 7, True),
    ("成功率", 9, True),
    ("P50ms", 8, True),
    ("P95ms", 8, True),
    ("P99ms", 8, True),
    ("主要错误", 42, False),
    ("评分", 7, True),
    ("告警", 6, True),
)


def _row(cells: tuple[str, ...]) -> str:
    return " ".join(
        _pad(cell, width, right) for cell, (_, width, right) in zip(cells, _COLUMNS, strict=True)
    ).rstrip()


def _table(overview: Any, analyzer: PerformanceAnalyzer) -> str:
    """The per-API table: code and name, calls, success, percentiles, errors, score, alerts."""
    alert_ids: dict[str, set[str]] = {}
    for alert in analyzer.get_alert_history():
        alert_ids.setdefault(alert["api_code"], set()).add(alert["alert_id"])
    lines = [_row(tuple(name for name, _, _ in _COLUMNS))]
    for api in sorted(overview.apis, key=lambda a: a.api_code):
        basic, rt, score = api.basic_stats, api.response_time_stats, api.performance_score
        top = ", ".join(f"{code}×{n}" for code, n in api.error_analysis.most_common_errors[:2])
        lines.append(
            _row(
                (
                    display_name(api.api_code),
                    str(basic.total_calls),
                    f"{basic.success_rate:.1%}",
                    f"{rt.median:.0f}",
                    f"{rt.p95:.0f}",
                    f"{rt.p99:.0f}",
                    top or "-",
                    f"{score.total_score:.0f} {score.grade}",
                    str(len(alert_ids.get(api.api_code, ()))),
                )
            )
        )
    rate = overview.successful_calls / max(overview.total_calls, 1)
    lines.append(_row(("合计", str(overview.total_calls), f"{rate:.1%}", *[""] * 6)))
    return "\n".join(lines)


def _write_reports(
    out: Path, collector: MetricsCollector, analyzer: PerformanceAnalyzer, minutes: float
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    stats = collector.get_api_statistics(time_range_minutes=minutes)
    report = collector.generate_performance_report(time_range_hours=1)
    (out / "report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    (out / "report.csv").write_bytes(stats_csv(stats).encode("utf-8-sig"))
    written = [out / "report.json", out / "report.csv"]
    written += analyzer.write_report(out, time_range_hours=minutes / 60.0)
    return written


def stats_csv(stats: dict[str, Any]) -> str:
    """The demo's ``report.csv`` text from ``get_api_statistics()`` (formula cells neutralised)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["接口编号", "接口名称", "调用次数", "成功次数", "成功率", "平均响应时间(ms)"])
    for code, row in stats["api_breakdown"].items():
        w.writerow(
            csv_safe_row(
                [
                    code,
                    display_name(code),
                    row["count"],
                    row["success"],
                    f"{row['success_rate']:.4f}",
                    f"{row['avg_time']:.1f}",
                ]
            )
        )
    return buf.getvalue()
