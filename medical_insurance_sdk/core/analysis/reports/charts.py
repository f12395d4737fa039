"""Charts for the HTML report: matplotlib figures rendered to inline SVG.

Uses matplotlib's object API (``Figure`` + the SVG canvas, no pyplot state), text kept as
SVG text, and strips the XML prolog, metadata and namespace URLs so that the SVG can be
inlined in HTML without any reference to the network. Axis labels are ASCII (the host may
have no CJK font); the report around the charts carries the Chinese headings.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from medical_insurance_sdk.core.analysis.timeseries import TimeSeries

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["series_charts"]

_PROLOG = re.compile(r"^.*?(?=<svg)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_XMLNS = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')


def _svg(fig: Figure) -> str:
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    buf = io.StringIO()
    FigureCanvasSVG(fig).print_svg(buf)  # type: ignore[no-untyped-call]
    text = _METADATA.sub("", _PROLOG.sub("", buf.getvalue(), count=1))
    return _XMLNS.sub("", text)


def _labels(series: TimeSeries) -> list[str]:
    fmt = "%H:%M" if series.interval_minutes < 1440 else "%m-%d"
    return [datetime.fromtimestamp(b.start, tz=timezone.utc).strftime(fmt) for b in series.buckets]


def series_charts(series: TimeSeries) -> tuple[str, str]:
    """SVG of latency percentiles over time, and of calls and errors over time."""
    import matplotlib
    from matplotlib.figure import Figure

    x = list(range(len(series.buckets)))
    labels = _labels(series)
    step = max(1, len(x) // 8)
    nan = float("nan")
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "misdk"}):
        fig = Figure(figsize=(8, 3), layout="constrained")
        ax = fig.add_subplot()
        buckets = series.buckets
        for name, values in (
            ("p50", [b.p50 for b in buckets]),
            ("p95", [b.p95 for b in buckets]),
            ("p99", [b.p99 for b in buckets]),
        ):
            ax.plot(x, [nan if v is None else v for v in values], marker=".", label=name)
        ax.set_ylabel("latency (ms)")
        ax.set_xticks(x[::step], labels[::step])
        ax.legend(loc="upper left")
        ax.grid(alpha=0.3)
        latency = _svg(fig)

        fig = Figure(figsize=(8, 3), layout="constrained")
        ax = fig.add_subplot()
        ax.bar(x, [b.calls for b in series.buckets], label="calls", color="#4c78a8")
        ax.bar(x, [b.errors for b in series.buckets], label="errors", color="#e45756")
        ax.set_ylabel(f"per {series.interval_minutes} min")
        ax.set_xticks(x[::step], labels[::step])
        ax.legend(loc="upper left")
        ax.grid(alpha=0.3, axis="y")
        volume = _svg(fig)
    return latency, volume
