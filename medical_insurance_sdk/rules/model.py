"""Typed Prometheus rules: recording and alerting rules in named groups.

Each type converts to the plain mapping of Prometheus's rule-file format with
``to_dict()``; :mod:`.render` turns those into YAML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SEVERITIES", "AlertingRule", "RecordingRule", "RuleGroup"]

#: Severities our alerts carry: ``warning``/``critical`` as the analyzer grades, ``page``/
#: ``ticket`` for SLO burn-rate alerts (Google SRE workbook, chapter 5).
SEVERITIES = ("warning", "critical", "page", "ticket")

_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_DURATION_RE = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")


def _check_duration(value: str, what: str) -> None:
    if not _DURATION_RE.match(value):
        raise ValueError(f"{what}: {value!r} is not a Prometheus duration")


@dataclass(frozen=True)
class RecordingRule:
    """``record: <name>`` with its expression and optional static labels."""

    record: str
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.record):
            raise ValueError(f"recording rule name {self.record!r} is not a valid metric name")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"record": self.record, "expr": self.expr}
        if self.labels:
            out["labels"] = dict(self.labels)
        return out


@dataclass(frozen=True)
class AlertingRule:
    """``alert: <name>``: a severity label and Chinese ``summary``/``description``."""

    alert: str
    expr: str
    severity: str
    summary: str
    description: str
    for_: str = "0m"
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not re.match(r"^[A-Za-z][A-Za-z0-9]*$", self.alert):
            raise ValueError(f"alert name {self.alert!r} must be CamelCase letters and digits")
        if self.severity not in SEVERITIES:
            raise ValueError(f"alert {self.alert}: severity must be one of {SEVERITIES}")
        if not self.summary or not self.description:
            raise ValueError(f"alert {self.alert}: summary and description are required")
        _check_duration(self.for_, f"alert {self.alert} for")

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert": self.alert,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity, **self.labels},
            "annotations": {"summary": self.summary, "description": self.description},
        }


@dataclass(frozen=True)
class RuleGroup:
    """A named group of rules, evaluated in order at the global (or its own) interval."""

    name: str
    rules: tuple[RecordingRule | AlertingRule, ...]
    interval: str | None = None

    def __post_init__(self) -> None:
        if not self.rules:
            raise ValueError(f"rule group {self.name!r} is empty")
        if self.interval is not None:
            _check_duration(self.interval, f"group {self.name} interval")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.interval is not None:
            out["interval"] = self.interval
        out["rules"] = [rule.to_dict() for rule in self.rules]
        return out
