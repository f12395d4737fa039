"""Grafana dashboard building blocks: panels, targets, template variables and layout.

Every panel and query uses the ``${datasource}`` template variable, never a datasource
name, so the JSON works with file provisioning and with a UI import alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DATASOURCE",
    "Panel",
    "Row",
    "Target",
    "datasource_variable",
    "layout",
    "query_variable",
]

#: The datasource reference of every panel, target and query variable.
DATASOURCE: dict[str, str] = {"type": "prometheus", "uid": "${datasource}"}

_REF_IDS = "ABCDEFGHIJ"


@dataclass(frozen=True)
class Target:
    """One PromQL query of a panel; ``instant`` queries feed tables."""

    expr: str
    legend: str = ""
    instant: bool = False

    def to_dict(self, ref_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "refId": ref_id,
            "datasource": dict(DATASOURCE),
            "expr": self.expr,
            "legendFormat": self.legend or "__auto",
            "range": not self.instant,
            "instant": self.instant,
        }
        if self.instant:
            out["format"] = "table"
        return out


@dataclass(frozen=True)
class Panel:
    """A visualisation: ``timeseries``, ``stat``, ``table`` or ``bargauge``."""

    title: str
    targets: Sequence[Target]
    description: str = ""
    type: str = "timeseries"
    unit: str = "short"
    width: int = 12
    height: int = 8
    #: ``(value, color)`` steps after the base green; e.g. ``((1, "red"),)``.
    thresholds: Sequence[tuple[float, str]] = ()
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.width <= 24:
            raise ValueError(f"panel {self.title!r}: width must be 1..24")
        if not 1 <= len(self.targets) <= len(_REF_IDS):
            raise ValueError(f"panel {self.title!r}: needs 1..{len(_REF_IDS)} targets")

    def to_dict(self, panel_id: int, x: int, y: int) -> dict[str, Any]:
        steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
        steps += [{"color": color, "value": value} for value, color in self.thresholds]
        defaults: dict[str, Any] = {
            "unit": self.unit,
            "thresholds": {"mode": "absolute", "steps": steps},
        }
        if self.thresholds and self.type == "timeseries":
            defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
        options = dict(self.options)
        if self.type == "timeseries":
            options.setdefault(
                "legend", {"displayMode": "table", "placement": "bottom", "calcs": ["mean", "max"]}
            )
            options.setdefault("tooltip", {"mode": "multi", "sort": "desc"})
        out: dict[str, Any] = {
            "id": panel_id,
            "type": self.type,
            "title": self.title,
            "description": self.description,
            "datasource": dict(DATASOURCE),
            "gridPos": {"x": x, "y": y, "w": self.width, "h": self.height},
            "targets": [t.to_dict(_REF_IDS[i]) for i, t in enumerate(self.targets)],
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": options,
        }
        if self.type == "table":
            out["transformations"] = [
                {"id": "organize", "options": {"excludeByName": {"Time": True}}}
            ]
        return out


@dataclass(frozen=True)
class Row:
    """A titled row of panels."""

    title: str
    panels: Sequence[Panel]


def layout(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Panels with unique ids and non-overlapping grid positions, rows flowing left to right."""
    out: list[dict[str, Any]] = []
    ids: Iterator[int] = iter(range(1, 10_000))
    y = 0
    for row in rows:
        out.append(
            {
                "id": next(ids),
                "type": "row",
                "title": row.title,
                "collapsed": False,
                "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
                "panels": [],
            }
        )
        y += 1
        x, line_height = 0, 0
        for panel in row.panels:
            if x + panel.width > 24:
                x, y, line_height = 0, y + line_height, 0
            out.append(panel.to_dict(next(ids), x, y))
            x += panel.width
            line_height = max(line_height, panel.height)
        y += line_height
    return out


def datasource_variable() -> dict[str, Any]:
    """The ``datasource`` variable: any Prometheus datasource, chosen in the dashboard."""
    return {
        "name": "datasource",
        "label": "数据源",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "refresh": 1,
        "regex": "",
        "includeAll": False,
        "multi": False,
        "options": [],
    }


def query_variable(name: str, label: str, query: str) -> dict[str, Any]:
    """A multi-value ``label_values`` variable whose *All* is the regex ``.*``."""
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": dict(DATASOURCE),
        "query": query,
        "definition": query,
        "current": {},
        "hide": 0,
        "refresh": 2,
        "regex": "",
        "sort": 1,
        "includeAll": True,
        "allValue": ".*",
        "multi": True,
        "options": [],
    }
