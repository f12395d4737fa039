"""``misdk rules``: generate Prometheus ``alerts.yml``/``recording.yml`` from the thresholds,
and ``baselines.yml`` (baseline bands and anomaly alerts, ``--baseline-*`` options).

Exit codes: 0 written (or, with ``--check``, already in sync); 1 ``--check`` found files
that differ from what would be generated; 2 bad arguments or an invalid thresholds file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medical_insurance_sdk.rules import BaselineOptions

__all__ = ["register", "run"]


def _slo_percent(value: str) -> float:
    """An SLO in percent, 50 <= slo < 100 (``99.9``); a fraction such as 0.999 is refused."""
    try:
        slo = float(value)
    except ValueError:
        slo = float("nan")
    if not 50.0 <= slo < 100.0:  # NaN fails too
        hint = f"；小数 {value} 请写成百分比 {slo * 100:g}" if 0.0 < slo < 1.0 else ""
        raise argparse.ArgumentTypeError(
            f"应为 50–100 之间的百分比，如 99.9（收到 {value!r}{hint}）"
        )
    return slo


def _trace_url(value: str) -> str:
    """A trace URL template with one ``{trace_id}`` (checked by the generator's rule)."""
    from medical_insurance_sdk.rules.grafana_datasources import check_trace_url

    try:
        check_trace_url(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"调用链 URL 模板无效: {exc}") from None
    return value


def register(subparsers: Any) -> None:
    """Add the ``rules`` subcommand."""
    parser = subparsers.add_parser(
        "rules",
        help="生成 Prometheus 告警与记录规则 (alerts.yml / recording.yml)",
        description=(
            "按 SDK 内置分析器的每接口阈值生成 Prometheus 告警规则与记录规则，"
            "使 Prometheus 告警与分析器的判断一致。"
        ),
    )
    parser.add_argument(
        "--slo",
        type=_slo_percent,
        default=99.9,
        help="可用性 SLO 百分比 (50–100，不含 100)，30 天窗口 (默认 99.9)",
    )
    parser.add_argument(
        "--thresholds",
        type=Path,
        default=None,
        help="每接口阈值覆盖文件 (YAML 或 TOML)，与分析器 set_threshold 使用同一文件",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("deploy/prometheus"),
        help="输出目录 (默认 deploy/prometheus)",
    )
    parser.add_argument(
        "--scrape-job", default="medical-insurance-sdk", help="抓取 SDK 的 job 名称"
    )
    parser.add_argument(
        "--push-job", default=None, help="Pushgateway 推送使用的 job 名称 (默认同 SDK 配置)"
    )
    parser.add_argument(
        "--push-max-age",
        type=int,
        default=600,
        help="推送分组超过多少秒未更新即告警 (默认 600)",
    )
    parser.add_argument(
        "--batch-max-age",
        type=int,
        default=26 * 3600,
        help="批处理任务 (batch_job) 最近一次成功超过多少秒即告警 (默认 93600，即 26 小时)",
    )
    parser.add_argument(
        "--no-baselines",
        action="store_true",
        help="不生成基线与异常告警规则 (baselines.yml 写为空规则组)",
    )
    parser.add_argument(
        "--baseline-offsets",
        default=None,
        help="基线取哪些之前的同一时刻，逗号分隔，每个至少 1d (默认 1d,2d,3d,1w,2w)",
    )
    parser.add_argument(
        "--baseline-z", type=float, default=None, help="偏离常态多少个波动才告警 (默认 3)"
    )
    parser.add_argument(
        "--baseline-min-calls",
        type=int,
        default=None,
        help="窗口内至少多少次调用才判断延迟与调用量骤降 (默认 10)",
    )
    parser.add_argument(
        "--baseline-language",
        choices=("zh", "en"),
        default=None,
        help="基线告警文本的语言 (默认 zh)",
    )
    parser.add_argument(
        "--dashboard",
        type=Path,
        default=None,
        help="同时生成 Grafana 仪表盘 JSON 到此文件"
        " (如 deploy/grafana/dashboards/medical-insurance-sdk.json)",
    )
    parser.add_argument(
        "--datasources",
        type=Path,
        default=None,
        help="同时生成 Grafana 数据源预配置到此文件"
        " (如 deploy/grafana/provisioning/datasources.yml)",
    )
    parser.add_argument(
        "--trace-url",
        type=_trace_url,
        default=None,
        help="exemplar 的 trace_id 链接到的调用链页面模板，含 {trace_id}"
        " (如 'https://apm.example/trace/{trace_id}'；默认本机 Jaeger UI)",
    )
    parser.add_argument(
        "--trace-datasource-uid",
        default=None,
        help="exemplar 链接到的 Grafana 调用链数据源 uid (如 Tempo)；只给它时不生成 URL 链接",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="只检查输出目录中的文件是否与生成结果一致，不写入 (不一致时退出码为 1)",
    )
    parser.set_defaults(func=run)


def _baselines(args: argparse.Namespace) -> BaselineOptions | None:
    """The :class:`BaselineOptions` the flags ask for (``None`` with ``--no-baselines``)."""
    from medical_insurance_sdk.rules import BaselineOptions

    if args.no_baselines:
        return None
    given = {
        "offsets": None
        if args.baseline_offsets is None
        else tuple(o.strip() for o in args.baseline_offsets.split(",") if o.strip()),
        "z_limit": args.baseline_z,
        "min_calls": args.baseline_min_calls,
        "language": args.baseline_language,
    }
    return BaselineOptions(**{k: v for k, v in given.items() if v is not None})


def run(args: argparse.Namespace) -> int:
    """Generate (or check) the rule files; returns the exit code."""
    from medical_insurance_sdk.rules import (
        RulesOptions,
        ThresholdsFileError,
        changed_files,
        load_thresholds,
        write_rule_files,
    )

    try:
        thresholds = load_thresholds(args.thresholds) if args.thresholds else {}
        extra: dict[str, Any] = {} if args.push_job is None else {"push_job": args.push_job}
        options = RulesOptions(
            slo_percent=args.slo,
            thresholds=thresholds,
            scrape_job=args.scrape_job,
            push_max_age_seconds=args.push_max_age,
            batch_max_age_seconds=args.batch_max_age,
            baselines=_baselines(args),
            **extra,
        )
        generated = _grafana_files(args, options)
    except ThresholdsFileError as exc:
        print(f"阈值文件无效: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"参数无效: {exc}", file=sys.stderr)
        return 2
    out: Path = args.out
    if args.check:
        changed = changed_files(out, options)
        changed += [
            path
            for path, text in generated.items()
            if not path.is_file() or path.read_text(encoding="utf-8") != text
        ]
        for path in changed:
            print(f"与生成结果不一致: {path}（请运行 misdk rules 重新生成）", file=sys.stderr)
        if not changed:
            print(f"规则文件与生成结果一致: {out}" + "".join(f"，{p}" for p in generated))
        return 1 if changed else 0
    try:
        written = write_rule_files(out, options)
        for path, text in generated.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        print(f"无法写入: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"已生成 {path}")
    if thresholds:
        print(f"阈值覆盖: {', '.join(sorted(thresholds))}")
    return 0


def _grafana_files(args: argparse.Namespace, options: Any) -> dict[Path, str]:
    """The dashboard and datasource files asked for, by path, with their generated text."""
    from medical_insurance_sdk.rules import render_dashboard
    from medical_insurance_sdk.rules.grafana_datasources import (
        DEFAULT_TRACE_URL,
        DatasourceOptions,
        render_datasources,
    )

    files: dict[Path, str] = {}
    if args.dashboard is not None:
        files[args.dashboard] = render_dashboard(options)
    trace_url, uid = args.trace_url, args.trace_datasource_uid
    if args.datasources is None:
        if trace_url is not None or uid is not None:
            raise ValueError("--trace-url 与 --trace-datasource-uid 需要同时给出 --datasources")
        return files
    if trace_url is None and uid is None:
        trace_url = DEFAULT_TRACE_URL
    files[args.datasources] = render_datasources(
        DatasourceOptions(trace_url=trace_url, trace_datasource_uid=uid)
    )
    return files
