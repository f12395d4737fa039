"""Render rule groups as Prometheus rule files, and write or check ``alerts.yml``,
``recording.yml`` and ``baselines.yml``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from medical_insurance_sdk.rules.api_alerts import api_group, high_error_rate_group
from medical_insurance_sdk.rules.baseline_alerts import baseline_alert_group
from medical_insurance_sdk.rules.baseline_recording import baseline_recording_group
from medical_insurance_sdk.rules.model import RuleGroup
from medical_insurance_sdk.rules.ops_alerts import exporter_group
from medical_insurance_sdk.rules.options import RulesOptions
from medical_insurance_sdk.rules.promql import num
from medical_insurance_sdk.rules.recording import recording_groups
from medical_insurance_sdk.rules.slo_alerts import slo_group

__all__ = [
    "ALERTS_FILE",
    "BASELINES_FILE",
    "RECORDING_FILE",
    "RuleFiles",
    "alert_groups",
    "baseline_groups",
    "changed_files",
    "render_groups",
    "render_rule_files",
    "write_rule_files",
]

ALERTS_FILE = "alerts.yml"
RECORDING_FILE = "recording.yml"
BASELINES_FILE = "baselines.yml"


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks; everything else as PyYAML's safe dumper."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def alert_groups(options: RulesOptions) -> list[RuleGroup]:
    """The groups of ``alerts.yml``: the original API's ``HighErrorRate`` first."""
    return [
        high_error_rate_group(options),
        api_group(options),
        slo_group(options),
        exporter_group(options),
    ]


def baseline_groups(options: RulesOptions) -> list[RuleGroup]:
    """The groups of ``baselines.yml``: bands, then the alerts on them (none when off)."""
    groups = (baseline_recording_group(options), baseline_alert_group(options))
    return [g for g in groups if g is not None]


def _header(options: RulesOptions, what: str) -> str:
    overrides = ", ".join(sorted(options.thresholds)) or "无（分析器默认值）"
    return (
        f"# {what}\n"
        "# 由 `misdk rules` 生成，请勿手工修改：阈值改动请写入 --thresholds 文件后重新生成，\n"
        "# 这样 Prometheus 规则与 SDK 内置分析器使用同一套阈值。\n"
        f"# SLO: {num(options.slo_percent)}% / {options.slo_period_days}d; "
        f"阈值覆盖 (thresholds overrides): {overrides}\n"
    )


def _baseline_header(options: RulesOptions) -> str:
    b = options.baselines
    if b is None:
        return "# 基线规则已关闭 (baselines disabled): 本文件无规则组，保留以使 rule_files 有效。\n"
    return (
        f"# 基线: 前 {'/'.join(b.offsets)} 同一时刻的中位数与 MAD; z >= {num(b.z_limit)}, "
        f"至少 {b.min_offsets} 个时刻有数据; 依赖 recording.yml 的每接口序列。\n"
    )


def render_groups(groups: Sequence[RuleGroup], header: str = "") -> str:
    """A rule file's YAML text (``groups:``), after an optional comment header."""
    doc: dict[str, Any] = {"groups": [g.to_dict() for g in groups]}
    body = yaml.dump(
        doc, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=2**31, indent=2
    )
    return header + body


@dataclass(frozen=True)
class RuleFiles:
    """The generated ``alerts.yml``, ``recording.yml`` and ``baselines.yml`` texts."""

    alerts: str
    recording: str
    baselines: str

    def items(self) -> list[tuple[str, str]]:
        return [
            (ALERTS_FILE, self.alerts),
            (RECORDING_FILE, self.recording),
            (BASELINES_FILE, self.baselines),
        ]


def render_rule_files(options: RulesOptions) -> RuleFiles:
    """Generate the three rule files' texts."""
    return RuleFiles(
        alerts=render_groups(
            alert_groups(options), _header(options, "医保 SDK 告警规则 (alerting rules)")
        ),
        recording=render_groups(
            recording_groups(options), _header(options, "医保 SDK 记录规则 (recording rules)")
        ),
        baselines=render_groups(
            baseline_groups(options),
            _header(options, "医保 SDK 基线与异常告警规则 (baseline bands and anomaly alerts)")
            + _baseline_header(options),
        ),
    )


def write_rule_files(out_dir: Path, options: RulesOptions) -> list[Path]:
    """Write ``alerts.yml``, ``recording.yml`` and ``baselines.yml`` into ``out_dir``;
    return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_rule_files(options).items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def changed_files(out_dir: Path, options: RulesOptions) -> list[Path]:
    """Files in ``out_dir`` that are missing or differ from what ``options`` generate."""
    changed = []
    for name, text in render_rule_files(options).items():
        path = out_dir / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            changed.append(path)
    return changed
